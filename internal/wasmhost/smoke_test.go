// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

func TestNoopSmoke(t *testing.T) {
	ctx := context.Background()
	bin := wasmtest.Read(t, wasmtest.BuildGuest(t, "testdata/guests/noop"))
	p, err := wasmhost.New(ctx, wasmhost.Options{Source: "noop", Module: bin, PoolSize: 2})
	require.NoError(t, err)
	defer p.Close(ctx)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
	out, err := p.ProcessTraces(ctx, td)
	require.NoError(t, err)
	require.Equal(t, "x", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
	require.Equal(t, int32(7), p.Signals())
}
