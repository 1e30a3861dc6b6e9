// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recyclingGuest spends SPIN ns in wasmcol_init, and as long in every
// call, each of which also grows its memory past three quarters
// of memory_limit, so that the host replaces the instance after the call
// and the next batch starts a new one.
const recyclingGuest = `(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 0)))
    (i64.load (i32.const 0)))
  (func $spin (local $end i64)
    (local.set $end (i64.add (call $now) (i64.const SPIN)))
    (loop $l (br_if $l (i64.lt_u (call $now) (local.get $end)))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (call $spin) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (memory.grow (i32.const 800)))
    (call $spin)
    (i32.const 0)))`

// timedSpan runs a batch of one span named name through p, and says how
// long it took.
func timedSpan(p *Plugin, name string) (ptrace.Traces, time.Duration, error) {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName(name)
	began := time.Now()
	out, err := p.ProcessTraces(context.Background(), td)
	return out, time.Since(began), err
}

// An instance started for a batch starts within the batch's timeout, and
// the call gets what is left: a guest that has itself replaced after
// every call, and spends most of the timeout in each start and each call,
// made every batch take up to twice its timeout and succeed (514–541 ms a
// batch under 300 ms, found by attack round 21).
func TestBatchTimeoutIncludesItsStart(t *testing.T) {
	const timeout = 300 * time.Millisecond
	src := strings.Replace(recyclingGuest, "SPIN", "200000000", 1)
	p, err := New(context.Background(), Options{Source: "recycling", Module: watModule(t, src, false),
		PoolSize: 1, Timeout: timeout, MemoryLimitMiB: 64})
	require.NoError(t, err)
	defer p.Close(context.Background())
	for i := range 5 {
		_, took, err := timedSpan(p, "x")
		t.Logf("batch %d: %v, %v", i, took, err)
		// The first batch runs on the instance started with the plugin.
		if i == 0 {
			require.NoError(t, err)
			continue
		}
		var fault *Fault
		require.True(t, errors.As(err, &fault), "batch %d took %v and succeeded", i, took)
		require.Equal(t, FaultTimeout, fault.Kind, "%v", fault)
		require.ErrorContains(t, fault, "starting an instance for the batch took")
		require.Less(t, took, timeout*3/2, "batch %d", i)
	}
}

// A replacement decoded past the call's deadline, though reckoned to fit,
// fails the batch as a timeout rather than succeeding late.
func TestDecodeFinishedLateTimesOut(t *testing.T) {
	p, err := New(context.Background(), Options{Source: "late", Module: watModule(t, strings.Replace(recyclingGuest, "SPIN", "0", 1), false)})
	require.NoError(t, err)
	defer p.Close(context.Background())
	payload, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(ptrace.NewTraces())
	require.NoError(t, err)
	decoded := false
	err = p.decode(staged{set: true, payload: payload, charge: 1, deadline: now() - 1}, func([]byte) error { decoded = true; return nil })
	require.True(t, decoded)
	var fault *Fault
	require.True(t, errors.As(err, &fault), "%v", err)
	require.Equal(t, FaultTimeout, fault.Kind, "%v", fault)
	require.NoError(t, p.decode(staged{set: true, payload: payload, charge: 1, deadline: now() + int64(time.Minute)}, func([]byte) error { return nil }))
}

// An instance's start counts its time from before its memory is
// reserved, which clears what the last instance to hold the region
// touched: that took 176-202 ms at memory_limit 4096 MiB (attack round
// 22), and a start then given its whole timeout made a batch take both.
// Here the clear is made to take 200 ms, and the guest's start takes 280
// of a 300 ms timeout: a batch that starts an instance took 480 ms.
func TestStartDeadlineCountsTheClear(t *testing.T) {
	defer func(c func([]byte)) { clearRegion = c }(clearRegion)
	clearRegion = func(b []byte) {
		time.Sleep(200 * time.Millisecond)
		clearTouched(b)
	}
	const timeout = 300 * time.Millisecond
	src := strings.Replace(strings.Replace(recyclingGuest, "SPIN", "280000000", 1),
		"(drop (memory.grow (i32.const 800)))", "unreachable", 1) // every call traps: the next batch starts an instance
	p, err := New(context.Background(), Options{Source: "clear", Module: watModule(t, src, false), PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	for i := range 4 {
		_, took, err := timedSpan(p, "x")
		t.Logf("batch %d: %v, %v", i, took, err)
		require.Error(t, err)
		if i > 0 {
			require.ErrorContains(t, err, "reserving its memory took")
		}
		require.Less(t, took, timeout*13/10, "batch %d", i)
	}
}

// The clear of a spare region stops at the start's deadline, and the next
// start goes on with what is left. A guest that grows its memory and traps
// in every call had every next start clear it in one step that no deadline
// stopped: about 200 ms at memory_limit 4096 MiB with every page touched.
// Here clearing is made to take 1 ms a MiB and the guest leaves 100 MiB:
// each batch took 100 ms or more under a 20 ms timeout before.
func TestStartClearStopsAtTheDeadline(t *testing.T) {
	// The guest grows 100 MiB in a call of 20 ms, which populate would
	// refuse: here the clear is what is measured.
	defer func() { populating = true }()
	populating = false
	defer func(c func([]byte)) { clearRegion = c }(clearRegion)
	clearRegion = func(b []byte) {
		time.Sleep(time.Duration(len(b)>>20) * time.Millisecond)
		clearTouched(b)
	}
	const timeout = 20 * time.Millisecond
	src := strings.Replace(strings.Replace(recyclingGuest, "SPIN", "0", 1),
		"(drop (memory.grow (i32.const 800)))", "(drop (memory.grow (i32.const 1600))) unreachable", 1)
	p, err := New(context.Background(), Options{Source: "clear", Module: watModule(t, src, false), PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	late, trapped := 0, 0
	for i := range 12 {
		_, took, err := timedSpan(p, "x")
		t.Logf("batch %d: %v, %v", i, took, err)
		var fault *Fault
		require.True(t, errors.As(err, &fault), "batch %d: %v", i, err)
		require.Less(t, took, timeout*3/2, "batch %d", i)
		switch {
		case fault.Kind == FaultTimeout:
			require.ErrorContains(t, fault, "clearing the memory the last instance left", "batch %d", i)
			late++
		case i > 0:
			// The clear finished and an instance started: the guest
			// trapped in its call, and left its memory to clear again.
			require.Equal(t, FaultTrap, fault.Kind, "batch %d: %v", i, fault)
			trapped++
		}
	}
	require.Positive(t, late)
	require.Positive(t, trapped, "no start ever finished the clear")
}
