// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// TestWATGuest runs a filter written by hand in WebAssembly text against
// the real host: the ABI needs nothing from Go or the SDK.
func TestWATGuest(t *testing.T) {
	bin := wasmtest.Read(t, wasmtest.BuildWAT(t, "testdata/wat/broker_tag.wat"))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "broker_tag.wat", Module: bin, PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())

	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for _, name := range []string{"broker:default.default", "drop", "/default/default", "broker:", "brok", "trigger:t.default", "broker:b.ns"} {
		spans.AppendEmpty().SetName(name)
	}
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	got := map[string]string{}
	outSpans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < outSpans.Len(); i++ {
		v, _ := outSpans.At(i).Attributes().Get("lang")
		got[outSpans.At(i).Name()] = v.Str()
	}
	assert.Equal(t, map[string]string{
		"broker:default.default": "wat", "/default/default": "", "broker:": "wat", "brok": "",
		"trigger:t.default": "", "broker:b.ns": "wat",
	}, got, "tagged by prefix; the span named drop is gone")
}
