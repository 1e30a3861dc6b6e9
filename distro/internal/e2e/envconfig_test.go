// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// envListConfig is written by hand rather than marshalled so that the
// ${env:…} references sit exactly where a user writes them: bare, inside
// the maps of a list in the wasm processor's config block.
const envListConfig = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:E2E_OTLP_ENDPOINT}
processors:
  wasm/sampler:
    module: builtin:sampler
    cache_dir: ${env:E2E_CACHE_DIR}
    config:
      rule_attribute: sampling.rule
      rules:
        - name: ${env:E2E_NOISY_RULE}
          span_name: ${env:E2E_NOISY_SPAN}
          percentage: ${env:E2E_NOISY_PERCENTAGE}
        - name: ${env:E2E_REST_RULE}
          percentage: ${env:E2E_REST_PERCENTAGE}
exporters:
  otlp_grpc:
    endpoint: ${env:E2E_SINK}
    tls:
      insecure: true
extensions:
  health_check:
    endpoint: ${env:E2E_HEALTH}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [wasm/sampler]
      exporters: [otlp_grpc]
`

// TestEnvInsideListReachesFilter checks that ${env:VAR} values inside a list
// of a wasm processor's config block reach the guest resolved and typed:
// the sampler's rules take their names, a span-name condition and their
// percentages from the environment. A percentage of "0" must drop the
// noisy trace and 100 keep the other, whose spans carry the rule's name
// from the environment in sampling.rule.
func TestEnvInsideListReachesFilter(t *testing.T) {
	sink := startOTLPSink(t)
	ports := freePorts(t, 2)
	dir := t.TempDir()
	config := filepath.Join(dir, "env-list.yaml")
	if err := os.WriteFile(config, []byte(envListConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	col := startCollector(t, ports[1], []string{
		"E2E_OTLP_ENDPOINT=" + ports[0],
		"E2E_HEALTH=" + ports[1],
		"E2E_SINK=" + sink.Addr,
		"E2E_CACHE_DIR=" + wasmCacheDir,
		"E2E_NOISY_RULE=noisy-from-env",
		"E2E_NOISY_SPAN=heartbeat",
		"E2E_NOISY_PERCENTAGE=0",
		"E2E_REST_RULE=rest-from-env",
		"E2E_REST_PERCENTAGE=100",
	}, config)

	// Both traces go in one export request, so they reach the sampler in
	// one batch: the kept trace arriving proves the dropped one was decided
	// and not merely late.
	b := &otlpTrace{base: time.Now().Add(-time.Minute)}
	svc := newOTelService(t, grpcProtocol, ports[0], map[string]string{"service.name": "e2e-env"})
	noisy := b.add(svc, ospan{name: "heartbeat", kind: trace.SpanKindServer, dur: 10 * ms})
	b.add(svc, ospan{parent: noisy, name: "send", kind: trace.SpanKindClient, at: 1 * ms, dur: 5 * ms})
	dropped := b.want
	b.want = nil
	rest := b.add(svc, ospan{name: "flip", kind: trace.SpanKindServer, at: 20 * ms, dur: 10 * ms,
		attrs:    []attribute.KeyValue{attribute.String("kind", "other")},
		promised: map[string]any{"sampling.rule": "rest-from-env"}})
	b.add(svc, ospan{parent: rest, name: "send", kind: trace.SpanKindClient, at: 21 * ms, dur: 5 * ms,
		promised: map[string]any{"sampling.rule": "rest-from-env"}})
	flushAll(t, svc)

	awaitSpans(t, sink, b.want, 30*time.Second)
	col.stop()
	checkSpans(t, sink, b.want)
	for _, gs := range spansByID(sink.AllTraces()) {
		for _, g := range gs {
			if g.span.TraceID() == dropped[0].TraceID {
				t.Errorf("span %q of the trace ruled by noisy-from-env at 0%% was kept", g.span.Name())
			}
		}
	}
}
