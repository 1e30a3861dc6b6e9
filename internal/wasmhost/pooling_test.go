// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// withProtoPooling turns pdata's pdata.useProtoPooling gate on for the
// test, as an operator's --feature-gates would.
func withProtoPooling(t *testing.T) {
	t.Helper()
	require.NoError(t, featuregate.GlobalRegistry().Set("pdata.useProtoPooling", true))
	t.Cleanup(func() { _ = featuregate.GlobalRegistry().Set("pdata.useProtoPooling", false) })
	require.True(t, protoPooling())
}

// requireRefusedInTime: process, whose edits cannot be applied in the
// timeout, fails as a timeout within 5 timeouts and leaves the batch as
// it came (check).
func requireRefusedInTime(t *testing.T, timeout time.Duration, process func() error, check func()) {
	t.Helper()
	for range 2 {
		began := time.Now()
		err := process()
		took := time.Since(began)
		var fault *Fault
		require.True(t, errors.As(err, &fault), "the batch succeeded after %v under a %v timeout", took, timeout)
		require.Equal(t, FaultTimeout, fault.Kind, "%v", err)
		require.Less(t, took, 5*timeout, "a batch took %v under a %v timeout: %v", took, timeout, err)
		check()
	}
}

// With pdata.useProtoPooling on, pdata hands what an edit removes back to
// its pools piece by piece, where the apply estimate counted a dropped
// span as one item: one span of 2 million events, each with an attribute,
// dropped by one edit, took 92-150 ms to apply, after the guest, under a
// 10 ms timeout, and the batch succeeded (attack round 25).
func TestDropUnderProtoPoolingFitsTheTimeLeft(t *testing.T) {
	withProtoPooling(t)
	// It drops span 0 (table 3) on its first two calls only: an instance
	// kept after them processes the third batch unchanged.
	const guest = `(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "\05\03\00\00\00\00")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.le_u (global.get $calls) (i32.const 2))
      (then (drop (call $edit (i32.const 0) (i32.const 6)))))
    (i32.const 0)))`
	const timeout = 20 * time.Millisecond // weighing stops after 2-3 ms
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	evs := spans.AppendEmpty().Events()
	spans.AppendEmpty() // kept
	evs.EnsureCapacity(2_000_000)
	for range 2_000_000 {
		evs.AppendEmpty().Attributes().PutEmpty("a")
	}
	p, err := New(context.Background(), Options{Source: "drop", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	// Refused as soon as the weighing passes what the time left holds,
	// with the reason, the guest having finished sound: its instance is
	// kept (one replaced would drop the span again on the third batch).
	process := func() error {
		_, err := p.ProcessTraces(context.Background(), td)
		if err != nil {
			require.ErrorContains(t, err, "would not finish in the time left")
		}
		return err
	}
	requireRefusedInTime(t, timeout, process, func() { require.Equal(t, 2, td.SpanCount(), "a span was dropped") })
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err, "the instance was replaced")
	require.Equal(t, 2, out.SpanCount())
}

// A drop the time holds still applies with the gate on.
func TestSmallDropUnderProtoPooling(t *testing.T) {
	withProtoPooling(t)
	const guest = `(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\05\03\00\00\00\00")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $edit (i32.const 0) (i32.const 6)))
    (drop (call $edit (i32.const 0) (i32.const 6))) ;; twice: weighed once
    (i32.const 0)))`
	p, err := New(context.Background(), Options{Source: "drop", Module: watModule(t, guest, false), PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	spans.AppendEmpty().Events().AppendEmpty().Attributes().PutStr("k", "v")
	spans.AppendEmpty().SetName("kept")
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	require.Equal(t, 1, out.SpanCount())
	require.Equal(t, "kept", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
}

// The same for a log body replaced: a map body of 2 million keys went
// back to the pools entry by entry, 11-24 ms under a 10 ms timeout.
func TestBodyReplacedUnderProtoPoolingFitsTheTimeLeft(t *testing.T) {
	withProtoPooling(t)
	// SetField (op 4) on log record 0 (table 8): the body (field 17), Str "x".
	const guest = `(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\04\08\00\00\00\00\11\01\01\00\00\00x")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $edit (i32.const 0) (i32.const 13)))
    (i32.const 0)))`
	const timeout = 20 * time.Millisecond // the code before succeeded all the same
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(logRequest(pbLen(nil, 5, pbLen(nil, 6, kvlist(2_000_000)))))
	require.NoError(t, err)
	body := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
	p, err := New(context.Background(), Options{Source: "body", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	requireRefusedInTime(t, timeout, func() error { _, err := p.ProcessLogs(context.Background(), ld); return err },
		func() { require.Equal(t, 2_000_000, body.Map().Len(), "the body was replaced") })
}

// Weighing the attributes of an edited item walked all of them: one
// SetAttr on a log record of 10 million attributes took 21-22 ms under a
// 5 ms timeout with the gate on, as the deadline passed, where it is
// refused at once with the gate off. Now the same with the gate on (review
// of attack round 25).
func TestEditOfManyAttributesUnderProtoPoolingIsRefusedAtOnce(t *testing.T) {
	withProtoPooling(t)
	// SetAttr (op 1) on log record 0 (table 8): k = Str "x".
	const guest = `(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\08\00\00\00\00\01\00\00\00k\01\01\00\00\00x")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $edit (i32.const 0) (i32.const 17)))
    (i32.const 0)))`
	var attrs []byte
	for range 10_000_000 {
		attrs = pbLen(attrs, 6, nil) // LogRecord.attributes: an empty KeyValue
	}
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(logRequest(attrs))
	require.NoError(t, err)
	const timeout = 5 * time.Millisecond
	p, err := New(context.Background(), Options{Source: "attrs", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	requireRefusedInTime(t, timeout, func() error {
		_, err := p.ProcessLogs(context.Background(), ld)
		require.ErrorContains(t, err, "would not finish in the time left")
		return err
	}, func() {})
}

// A drop that empties its span's scope and resource has removeDropped
// remove them too, which under proto pooling hands all they hold back to
// the pools: a resource and a scope of a million attributes each (every
// value a one-entry map), emptied by dropping their one span, took
// 168-503 ms after the guest under a 10 ms timeout, and the batch
// succeeded (second review of attack round 25).
func TestDropEmptyingItsResourceUnderProtoPoolingFitsTheTimeLeft(t *testing.T) {
	withProtoPooling(t)
	const guest = `(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\05\03\00\00\00\00")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    ;; drop span 0 (table 3)
    (drop (call $edit (i32.const 0) (i32.const 6)))
    (i32.const 0)))`
	const timeout = 20 * time.Millisecond
	raw := make(map[string]any, 1_000_000)
	for i := range 1_000_000 {
		raw[strconv.Itoa(i)] = map[string]any{"": nil}
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	require.NoError(t, rs.Resource().Attributes().FromRaw(raw))
	ss := rs.ScopeSpans().AppendEmpty()
	require.NoError(t, ss.Scope().Attributes().FromRaw(raw))
	ss.Spans().AppendEmpty()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty() // kept
	p, err := New(context.Background(), Options{Source: "drop", Module: watModule(t, guest, false),
		PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	requireRefusedInTime(t, timeout, func() error { _, err := p.ProcessTraces(context.Background(), td); return err },
		func() { require.Equal(t, 2, td.SpanCount(), "a span was dropped") })
}
