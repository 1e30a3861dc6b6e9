// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// stalledCall starts a batch that stalls in the host before its guest
// runs, as a host call stuck where no guest check reaches would. resume
// lets it go on and returns its error.
func stalledCall(t *testing.T, p *Plugin) (resume func() error) {
	t.Helper()
	entered, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
		errc <- p.call(context.Background(), abi.SignalTraces, func(st *callState) {
			st.t.traces = td
			close(entered)
			<-unblock
		}, func(*callState) {})
	}()
	<-entered
	return func() error {
		close(unblock)
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("the stalled call never ended")
			return nil
		}
	}
}

// requireNoFault: a call that Close interrupts ends with ErrClosed, or
// finishes if its guest met no check first; never with a fault.
func requireNoFault(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		require.ErrorIs(t, err, ErrClosed)
	}
}

// A call still running in a generation that a reload retired keeps the
// runtime and its memory: Close waits for it, not only for the current
// generation.
func TestCloseWaitsForARetiredGeneration(t *testing.T) {
	bin := touchingGuest(t)
	p, cache := ownEngine(t, bin)
	resume := stalledCall(t, p)
	require.NoError(t, p.Reload(context.Background(), bin), "the stalled call's generation is now retired")

	closed := make(chan struct{})
	go func() {
		_ = p.Close(context.Background())
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned, and freed the runtime, while a call of the retired generation was running")
	case <-time.After(300 * time.Millisecond):
	}
	requireNoFault(t, resume())
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits after the last call ended")
	}
	assert.Nil(t, engineOf(cache), "runtime released")
}

// Close never waits past its context for a stuck host call, and never
// frees what that call still uses: the last one out frees the runtime and
// the memory.
func TestCloseLeavesAStragglerItsMemory(t *testing.T) {
	p, cache := ownEngine(t, touchingGuest(t))
	resume := stalledCall(t, p)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.NoError(t, p.Close(ctx))
	require.NotNil(t, engineOf(cache), "Close released the runtime under a running call")
	p.regions.mu.Lock()
	closed := p.regions.closed
	p.regions.mu.Unlock()
	require.False(t, closed, "Close unmapped memory under a running call")
	select {
	case <-p.freed:
		t.Fatal("freed under a running call")
	default:
	}

	requireNoFault(t, resume()) // its guest touches memory: still mapped
	select {
	case <-p.freed:
	case <-time.After(10 * time.Second):
		t.Fatal("the last call out did not free the plugin")
	}
	assert.Nil(t, engineOf(cache), "the last one out released the runtime")
	assert.Empty(t, p.regions.spares, "and the spare regions")
	_, err := p.ProcessTraces(context.Background(), ptrace.NewTraces())
	assert.ErrorIs(t, err, ErrClosed)
}

// Every way an instance ends (recycled after its call budget, retired
// idle, dropped with its generation at a reload) counts it out, so that
// Close, once all is done, frees the runtime at once rather than waiting
// for a count that never reaches zero.
func TestCloseFreesAfterEveryKindOfEnd(t *testing.T) {
	bin := touchingGuest(t)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
	for name, opts := range map[string]Options{
		"recycled":     {MaxCallsPerInstance: 1},
		"retired idle": {},
	} {
		t.Run(name, func(t *testing.T) {
			cache := wazero.NewCompilationCache()
			opts.Source, opts.Module, opts.PoolSize, opts.Cache = t.Name(), bin, 2, cache
			p, err := New(context.Background(), opts)
			require.NoError(t, err)
			// Two calls at once: the pool grows to two instances.
			first, second := stalledCall(t, p), stalledCall(t, p)
			requireNoFault(t, first())
			requireNoFault(t, second())
			if opts.MaxCallsPerInstance == 0 {
				require.EqualValues(t, 2, p.LiveInstances())
				p.gen.Load().retireIdle(now())
				require.EqualValues(t, 1, p.LiveInstances(), "idle instances retired down to one")
			}
			require.NoError(t, p.Reload(context.Background(), bin))
			_, err = p.ProcessTraces(context.Background(), td)
			require.NoError(t, err)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, p.Close(ctx))
			select {
			case <-p.freed:
			default:
				t.Fatal("Close returned without freeing, with nothing running")
			}
			assert.Nil(t, engineOf(cache), "runtime released")
			assert.EqualValues(t, 0, p.LiveInstances())
		})
	}
}

// TestMiBIsExact: the start error compares the module's memory with a
// limit in whole MiB, so it must not round a number that passes the limit
// down to the limit.
func TestMiBIsExact(t *testing.T) {
	for pages, want := range map[uint64]string{16: "1", 17: "1.0625", 2048: "128", 1: "0.0625"} {
		if got := mib(pages); got != want {
			t.Errorf("mib(%d) = %s, want %s", pages, got, want)
		}
	}
}

// PoolSize bounds the calls in flight in every generation together: each
// generation had its own, so the calls of a retired one ran on beside a
// full pool of the next. A module that spun to its deadline, rewritten
// faster than that, ran 11-12 instances with a pool of 2 (attack round
// 24: 17 through the processor, RSS 29 -> 205 MiB). A reload starts the
// new module's first instance beside the pool, to check it: PoolSize + 1.
func TestPoolSizeHoldsAcrossReloads(t *testing.T) {
	ctx := context.Background()
	spin := func(i int) []byte {
		return watModule(t, fmt.Sprintf(`(module
  (memory (export "memory") 1)
  (global $version i32 (i32.const %d))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (loop $forever (br $forever)) (i32.const 0)))`, i), false)
	}
	const pool = 2
	p, err := New(ctx, Options{Source: "spin", Module: spin(0), PoolSize: pool, Timeout: 3 * time.Second})
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = p.ProcessTraces(ctx, oneSpan())
			}
		}()
	}
	most := int64(0)
	for i := 1; i <= 12; i++ {
		time.Sleep(250 * time.Millisecond)
		require.NoError(t, p.Reload(ctx, spin(i)))
		most = max(most, p.LiveInstances())
	}
	require.NoError(t, p.Close(ctx))
	close(stop)
	wg.Wait()
	require.LessOrEqual(t, most, int64(pool+1), "live instances")
}
