// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
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
	const timeout = 10 * time.Millisecond
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
	requireRefusedInTime(t, timeout, func() error { _, err := p.ProcessTraces(context.Background(), td); return err },
		func() { require.Equal(t, 2, td.SpanCount(), "a span was dropped") })

	// A drop the time holds still applies.
	small := ptrace.NewTraces()
	small.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events().AppendEmpty()
	small.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	out, err := p.ProcessTraces(context.Background(), small)
	require.NoError(t, err)
	require.Equal(t, 1, out.SpanCount())
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
	const timeout = 5 * time.Millisecond
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
