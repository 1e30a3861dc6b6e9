// SPDX-License-Identifier: Apache-2.0

package kedify

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
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

// TestGoldenBuiltin runs them as builtin:kedify, the filter as it ships: one
// of the four in the built-in filters' module, committed and embedded in
// the binary. After changing the filter, `make builtins` rebuilds it.
func TestGoldenBuiltin(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wasmtest.GoldenModule(t, "builtin:kedify", c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestManyServerSpansWasm: each interceptor SERVER span without a
// cold-start attribute looked for its CLIENT child among all CLIENT spans,
// so 10,000 server spans and 10,000 unrelated clients took the batch past
// its 1 s deadline, and it passed unprocessed: the genuine cold start in
// it lost its mark. The children are indexed once a batch now.
func TestManyServerSpansWasm(t *testing.T) {
	p, sink := wasmtest.WasmTraces(t, wasmtest.BuildGuest(t, ".."), nil)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "keda-http-interceptor")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	at := func(s ptrace.Span, from, to time.Duration) {
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(from)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(to)))
	}
	const n = 10_000
	for i := range 2 * n {
		s := spans.AppendEmpty()
		s.SetTraceID([16]byte{1, byte(i), byte(i >> 8)})
		s.SetSpanID([8]byte{2, byte(i), byte(i >> 8)})
		s.SetKind(ptrace.SpanKindServer)
		if i >= n {
			s.SetKind(ptrace.SpanKindClient) // no server's child
		}
		at(s, 0, 2*time.Second)
	}
	// A genuine cold start: held 2 s before its CLIENT child went out.
	srv := spans.AppendEmpty()
	srv.SetTraceID([16]byte{9})
	srv.SetSpanID([8]byte{9})
	srv.SetKind(ptrace.SpanKindServer)
	srv.Attributes().PutStr("cold-start", "true")
	at(srv, 0, 3*time.Second)
	child := spans.AppendEmpty()
	child.SetTraceID([16]byte{9})
	child.SetSpanID([8]byte{10})
	child.SetParentSpanID([8]byte{9})
	child.SetKind(ptrace.SpanKindClient)
	at(child, 2*time.Second, 3*time.Second)

	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	out := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(2 * n).Attributes()
	if v, ok := out.Get(keyWait); !ok || v.Int() != 2000 {
		t.Fatalf("the cold start's wait: %v (present %v); want 2000 ms", v.AsString(), ok)
	}
}
