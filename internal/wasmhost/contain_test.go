// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"errors"
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
