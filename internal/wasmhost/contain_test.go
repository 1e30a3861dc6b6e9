// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// TestHostPanicIsContained: a panic in the host's own code on a batch must
// cost that batch, not the process. A read-only batch is a real way to get
// one: pdata panics when the host applies the guest's edits to it. The
// instance is discarded, its pool slot given back, and the next batch runs.
func TestHostPanicIsContained(t *testing.T) {
	p := newPlugin(t, "tagger", 1)
	ctx := context.Background()
	batch := func() ptrace.Traces {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("broker:default")
		return td
	}
	for range 3 { // more times than the pool has instances
		td := batch()
		td.MarkReadOnly()
		out, err := p.ProcessTraces(ctx, td)
		var fault *wasmhost.Fault
		require.True(t, errors.As(err, &fault), "got %v", err)
		require.Equal(t, wasmhost.FaultHost, fault.Kind)
		require.NotEmpty(t, fault.Stack)
		require.Equal(t, 1, out.SpanCount(), "the batch given is returned")
	}
	td, err := p.ProcessTraces(ctx, batch())
	require.NoError(t, err)
	v, ok := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("x")
	require.True(t, ok)
	require.Equal(t, "y", v.Str())
	require.EqualValues(t, 1, p.LiveInstances())
}

// TestFailMessageBounded: the failure message is capped at 4 KiB as the
// guest sent it, and again once sanitized: escaping made 4 KiB of control
// characters 24 KiB, which every failed batch then logged.
func TestFailMessageBounded(t *testing.T) {
	src := `(module
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "` + watData(bytes.Repeat([]byte{1}, 4096)) + `")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $fail (i32.const 0) (i32.const 4096)))
    (i32.const 1)))`
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "failer", Module: buildWAT(t, "failer", src), PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())
	_, err = p.ProcessTraces(context.Background(), ptrace.NewTraces())
	var fault *wasmhost.Fault
	require.True(t, errors.As(err, &fault), "got %v", err)
	require.Equal(t, wasmhost.FaultGuest, fault.Kind)
	require.True(t, strings.HasPrefix(fault.Err.Error(), `\u0001\u0001`))
	require.LessOrEqual(t, len(fault.Err.Error()), 4096)
}
