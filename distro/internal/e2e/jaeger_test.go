// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/jaegertest"
)

// TestSeedPipelineJaeger is the seeds' setup end to end (issue 6): the
// shipped config with its Zipkin and OTLP receivers and the wasm filters,
// plus the shipped Jaeger overlay, exporting with this project's jaeger
// exporter to a real Jaeger's gRPC collector (14250-style). Knative
// reports the OpenCensus-era broker hop over Zipkin and coinflip reports
// its flip over OTLP gRPC under the queue-proxy's span, so one trace
// arrives over both receivers; the filters' attributes must then be
// visible as tags in Jaeger's query API, on every span.
func TestSeedPipelineJaeger(t *testing.T) {
	if p := os.Getenv(jaegertest.EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("Jaeger all-in-one is missing (%v): run `make jaeger` (`make distro-test` does)", err)
		}
	}
	j := jaegertest.Run(t)
	cfg := shippedConfig(t, nil, "export-jaeger.yaml")
	col := startCollector(t, cfg.HealthAddr,
		[]string{"WASMCOL_JAEGER_ENDPOINT=" + j.CollectorGRPC, "WASMCOL_JAEGER_INSECURE=true"}, cfg.Files...)

	base := time.Now().Add(-time.Minute)
	z, queueProxyClient := knativeOpenCensusTrace(base)
	// coinflip continues the trace from the traceparent the queue-proxy
	// forwarded.
	parent := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID(zipkinTraceID(z.ID)),
		SpanID:     trace.SpanID(zipkinSpanID(queueProxyClient)),
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	}))
	b := &otlpTrace{base: base}
	coinflip := newOTelService(t, grpcProtocol, cfg.OTLPGRPCAddr, map[string]string{"service.name": podCoinflip})
	coinflipSpans(b, coinflip, parent, 2517*ms, "heads")

	sendZipkin(t, cfg.ZipkinAddr, z.spans)
	flushAll(t, coinflip)
	want := append(slices.Clone(z.want), b.want...)
	traceID := zipkinTraceID(z.ID).String()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fetch := func() (jaegertest.Trace, error) {
		tr, err := j.Trace(ctx, traceID)
		if err == nil && len(tr.Spans) < len(want) {
			err = fmt.Errorf("%d of %d spans in Jaeger", len(tr.Spans), len(want))
		}
		return tr, err
	}
	if err := waitFor(time.Minute, func() error { _, err := fetch(); return err }); err != nil {
		if errors.Is(err, jaegertest.ErrNotFound) {
			err = fmt.Errorf("trace %s not in Jaeger", traceID)
		}
		t.Fatalf("waiting for the trace in Jaeger: %v", err)
	}
	// Stopped first, so that anything still queued is flushed before the
	// exact comparison: nothing may arrive twice or extra.
	col.stop()
	tr, err := fetch()
	if err != nil {
		t.Fatal(err)
	}
	if p := checkJaegerTrace(tr, want); len(p) > 0 {
		t.Errorf("%d problems in the trace Jaeger returns for /api/traces/%s:\n  %s", len(p), traceID, strings.Join(p, "\n  "))
	}

	// The services are searchable under the names the coinflip filter
	// derives from pod names, not under the pod names.
	services, err := j.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"coinflip", "heartbeats", "event-display", svcIngress, svcFilter, svcIMC, svcActivator} {
		if !slices.Contains(services, s) {
			t.Errorf("Jaeger's services %v lack %q", services, s)
		}
	}
	for pod := range podServices {
		if slices.Contains(services, pod) {
			t.Errorf("Jaeger lists the pod name %q as a service", pod)
		}
	}
}
