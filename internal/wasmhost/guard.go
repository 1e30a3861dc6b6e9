// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// epoch makes monotonic nanoseconds cheap to compare: now() is what every
// checkpoint and host function compares with the deadline.
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

// stopKind says why the host stopped a guest.
type stopKind int32

const (
	stopNone     stopKind = iota
	stopDeadline          // the phase outran its deadline
	// stopReckoned: a host function's work, which cannot be interrupted,
	// would have outrun the deadline, so it was not started.
	stopReckoned
	stopInterrupt // the plugin is closing
	stopStack     // the estimated stack passed its limit
)

// stopError is the panic a checkpoint or host function raises to stop a
// guest; wazero turns it into the error the call returns.
type stopError struct{ kind stopKind }

func (e stopError) Error() string {
	switch e.kind {
	case stopDeadline, stopReckoned:
		return "deadline exceeded"
	case stopInterrupt:
		return "interrupted: the processor is shutting down"
	default:
		return "stack limit exceeded"
	}
}

// Phases a guard is armed for; the watchdog names them.
const (
	phaseIdle  int32 = iota
	phaseStart       // instantiation: start section, _initialize, wasmcol_init
	phaseCall        // a batch: the guest's call, then edit validation
)

var phaseNames = [...]string{"idle", "start", "batch"}

// guard is one instance's deadline and stop switch. The goroutine running
// the guest arms it, and checkpoints and host functions consult it; the
// watchdog and Close read it from other goroutines.
type guard struct {
	deadline atomic.Int64 // now() after which the guest stops; 0 when idle
	armedAt  atomic.Int64
	phase    atomic.Int32
	timeout  atomic.Int64 // of the armed phase, for reports
	closing  atomic.Bool
	// stopped is why the guest was stopped in the current phase. Only the
	// goroutine running the guest touches it.
	stopped    stopKind
	stackLimit uint32
	// wake ends the guest's sleeps once the plugin closes.
	wake     chan struct{}
	wakeOnce sync.Once
	// reported: the watchdog has reported this phase as overrunning.
	reported atomic.Bool
}

func newGuard(stackLimit uint32) *guard {
	return &guard{stackLimit: stackLimit, wake: make(chan struct{})}
}

func (g *guard) arm(phase int32, d time.Duration) {
	t := now()
	g.stopped = stopNone
	g.timeout.Store(int64(d))
	g.armedAt.Store(t)
	g.phase.Store(phase)
	g.deadline.Store(t + int64(d))
}

// disarm ends the phase; it reports whether the deadline had passed.
func (g *guard) disarm() (expired bool) {
	d := g.deadline.Load()
	g.deadline.Store(0)
	g.phase.Store(phaseIdle)
	return d != 0 && now() > d
}

// interrupt stops the guest at its next check, and for good.
func (g *guard) interrupt() {
	g.closing.Store(true)
	g.wakeOnce.Do(func() { close(g.wake) })
}

// check stops the guest if its phase is over. It runs on the guest's
// goroutine, inside a host function: the panic unwinds the guest.
func (g *guard) check() {
	if g.closing.Load() {
		g.stop(stopInterrupt)
	}
	if d := g.deadline.Load(); d != 0 && now() > d {
		g.stop(stopDeadline)
	}
}

// expired reports, without stopping anything, whether the phase is over.
func (g *guard) expired() bool {
	d := g.deadline.Load()
	return g.closing.Load() || (d != 0 && now() > d)
}

func (g *guard) stop(k stopKind) {
	g.stopped = k
	panic(stopError{k})
}

// sleep is the guest's clock sleep (time.Sleep, WASI poll_oneoff). It never
// sleeps past the deadline, and it ends when the plugin closes; the guest
// then meets its next check.
func (g *guard) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	if d := g.deadline.Load(); d != 0 {
		ns = min(ns, d-now()+1)
		if ns <= 0 {
			return
		}
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-g.wake:
	}
}

func guardOf(ctx context.Context) *guard {
	if st := stateOf(ctx); st != nil {
		return st.guard
	}
	return nil
}

// hostCheckpoint is the function instrumented code calls when its fuel is
// spent or its stack estimate passes the limit (see meter.go). Returning
// into Go here is also what lets the Go runtime stop the world while a
// guest computes.
func hostCheckpoint(ctx context.Context, _ api.Module, stack []uint64) {
	if g := guardOf(ctx); g != nil {
		if api.DecodeU32(stack[0]) > g.stackLimit {
			g.stop(stopStack)
		}
		g.check()
	}
	stack[0] = api.EncodeI32(fuelBudget)
}

// errStartDeadline and friends describe why a start phase failed.
var errCompileDeadline = errors.New("compilation did not finish in time")

func describeStop(k stopKind, phase string, timeout time.Duration) error {
	switch k {
	case stopDeadline:
		return fmt.Errorf("%s did not finish within %s", phase, timeout)
	case stopInterrupt:
		return fmt.Errorf("%s interrupted: the processor is shutting down", phase)
	case stopStack:
		return fmt.Errorf("%s: stack limit exceeded", phase)
	}
	return nil
}
