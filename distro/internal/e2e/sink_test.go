// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// otlpSink is the Collector's own OTLP gRPC receiver running inside the
// test, on a free loopback port, collecting what the distribution exports.
type otlpSink struct {
	Addr string
	*consumertest.TracesSink
}

func startOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	addr := freePorts(t, 1)[0]
	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig()
	raw := map[string]any{"protocols": map[string]any{"grpc": map[string]any{"endpoint": addr}}}
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		t.Fatalf("configuring the test's OTLP receiver: %v", err)
	}
	sink := &otlpSink{Addr: addr, TracesSink: new(consumertest.TracesSink)}
	rcv, err := factory.CreateTraces(context.Background(), receivertest.NewNopSettings(factory.Type()), cfg, sink.TracesSink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatalf("starting the test's OTLP receiver on %s: %v", addr, err)
	}
	t.Cleanup(func() {
		if err := rcv.Shutdown(context.Background()); err != nil {
			t.Errorf("stopping the test's OTLP receiver: %v", err)
		}
	})
	return sink
}
