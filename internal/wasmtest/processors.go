// SPDX-License-Identifier: Apache-2.0

package wasmtest

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
)

// StartTraces creates and starts a traces processor from factory with the
// settings in conf (as a Collector config would give them), feeding a sink.
// It is shut down when the test ends.
func StartTraces(tb testing.TB, factory processor.Factory, conf map[string]any) (processor.Traces, *consumertest.TracesSink) {
	tb.Helper()
	cfg := factory.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(conf).Unmarshal(cfg); err != nil {
		tb.Fatalf("%s config: %v", factory.Type(), err)
	}
	if err := confmap.Validate(cfg); err != nil {
		tb.Fatalf("%s config: %v", factory.Type(), err)
	}
	sink := new(consumertest.TracesSink)
	set := processortest.NewNopSettings(factory.Type())
	p, err := factory.CreateTraces(context.Background(), set, cfg, sink)
	if err != nil {
		tb.Fatal(err)
	}
	Run(tb, p)
	return p, sink
}

// Run starts c with a host that provides nothing and shuts it down when
// the test ends.
func Run(tb testing.TB, c component.Component) {
	tb.Helper()
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
	})
}

// WasmTraces starts the wasm processor on the module at path (see
// BuildGuest) with the guest configuration given.
func WasmTraces(tb testing.TB, path string, guestConfig map[string]any) (processor.Traces, *consumertest.TracesSink) {
	tb.Helper()
	return StartTraces(tb, wasmprocessor.NewFactory(), map[string]any{"module": path, "config": guestConfig})
}

// OTTLSpanConfig is a transform processor configuration running statements
// in the span context.
func OTTLSpanConfig(statements ...string) map[string]any {
	st := make([]any, len(statements))
	for i, s := range statements {
		st[i] = s
	}
	return map[string]any{"trace_statements": []any{map[string]any{"context": "span", "statements": st}}}
}

var _ component.Config = (*wasmprocessor.Config)(nil)
