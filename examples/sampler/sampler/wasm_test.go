// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// TestGoldenWasm runs the golden cases again with the filter compiled to
// Wasm (its own module, built from the command in ..), in the real wasm
// processor: the same expected.json must come out.
func TestGoldenWasm(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wasmtest.Golden(t, "..", c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestGoldenBuiltin runs them as builtin:sampler, the filter as it ships: one
// of the four in the built-in filters' module, committed and embedded in
// the binary. After changing the filter, `make builtins` rebuilds it.
func TestGoldenBuiltin(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wasmtest.GoldenModule(t, "builtin:sampler", c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestChosenTraceIDsWasm: 8,192 spans whose trace IDs all shared one slot
// of the trace table under its old hash (a zero first half, a last half of
// i<<40) took the batch past its 1 s deadline, and the batch passed
// unsampled. Here every span is a heartbeat kept at 10%, and no ID's
// randomness (its last 56 bits, at most 8191<<40) reaches 10%: sampled,
// every span goes.
func TestChosenTraceIDsWasm(t *testing.T) {
	p, sink := wasmtest.WasmTraces(t, wasmtest.BuildGuest(t, ".."), map[string]any{
		"rules": []any{
			map[string]any{"name": "heartbeats", "attribute": "cloudevents.type",
				"equals": "dev.knative.eventing.samples.heartbeat", "percentage": 10},
			map[string]any{"name": "everything-else", "percentage": 100},
		},
	})
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 8192 {
		s := spans.AppendEmpty()
		var id [16]byte
		binary.LittleEndian.PutUint64(id[8:], uint64(i)<<40)
		s.SetTraceID(id)
		s.SetSpanID([8]byte{1})
		s.SetName("heartbeat")
		s.Attributes().PutStr("cloudevents.type", "dev.knative.eventing.samples.heartbeat")
	}
	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	out := 0
	for _, b := range sink.AllTraces() {
		out += b.SpanCount()
	}
	if out != 0 {
		t.Fatalf("%d spans that sampling drops passed: the batch was not sampled", out)
	}
}
