// SPDX-License-Identifier: Apache-2.0

package benchutil

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

var nativeType = component.MustNewType("native")

// Native wraps process, a filter written natively against pdata, as a
// processor the way a Collector component is built (processorhelper,
// MutatesData), so that it pays the same per-batch plumbing as the wasm
// processor it is compared with. It is shut down when the test ends.
func Native(tb testing.TB, process func(ptrace.Traces)) Side {
	tb.Helper()
	sink := new(consumertest.TracesSink)
	set := processortest.NewNopSettings(nativeType)
	fn := func(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
		process(td)
		return td, nil
	}
	p, err := processorhelper.NewTraces(context.Background(), set, struct{}{}, sink, fn,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
	if err != nil {
		tb.Fatal(err)
	}
	wasmtest.Run(tb, p)
	return Side{P: p, Sink: sink}
}

// AssertSameBytes fails tb unless a and b turn td into byte-identical OTLP
// protobuf: the same items, attributes in the same order, the same values.
// It is stricter than AssertSame, which tolerates reordering, and is what a
// native baseline must meet to count as doing the same edits. Unlike
// AssertSame it accepts an unchanged batch, so that it can check cases in
// which a filter has nothing to do.
func AssertSameBytes(tb testing.TB, a, b Side, td ptrace.Traces) {
	tb.Helper()
	outA, outB := a.Once(tb, td), b.Once(tb, td)
	pa, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(outA)
	if err != nil {
		tb.Fatal(err)
	}
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(outB)
	if err != nil {
		tb.Fatal(err)
	}
	if bytes.Equal(pa, pb) {
		return
	}
	if err := ptracetest.CompareTraces(outA, outB); err != nil {
		msg := err.Error()
		if len(msg) > 4000 {
			msg = msg[:4000] + "..."
		}
		tb.Fatalf("the two sides' outputs differ: %s", msg)
	}
	tb.Fatalf("the two sides' outputs are equal but not byte-identical (%d vs %d bytes): items or attributes in another order", len(pa), len(pb))
}

// NativeMatchesWasm proves a native baseline does exactly what the
// compiled filter in guestDir does, byte for byte, on the benchmark's
// batches of both mixes (no config) and on every golden case: golden holds
// each case's name and config, its input in testdata/<name>/input.json.
// process returns the native filter for a config.
func NativeMatchesWasm(t *testing.T, guestDir string, process func(t *testing.T, config string) func(ptrace.Traces), golden [][2]string) {
	module := wasmtest.BuildGuest(t, guestDir)
	check := func(t *testing.T, config string, td ptrace.Traces) {
		var guestConfig map[string]any
		if config != "" {
			if err := json.Unmarshal([]byte(config), &guestConfig); err != nil {
				t.Fatal(err)
			}
		}
		wasmP, wasmSink := wasmtest.WasmTraces(t, module, guestConfig)
		nat := Native(t, process(t, config))
		AssertSameBytes(t, Side{P: wasmP, Sink: wasmSink}, nat, td)
	}
	for _, mix := range []fixtures.Mix{fixtures.MixKnative, fixtures.MixAll} {
		check(t, "", fixtures.Batch(1000, mix))
	}
	for _, c := range golden {
		t.Run(c[0], func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", c[0], "input.json"))
			if err != nil {
				t.Fatal(err)
			}
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
			if err != nil {
				t.Fatal(err)
			}
			check(t, c[1], td)
		})
	}
}
