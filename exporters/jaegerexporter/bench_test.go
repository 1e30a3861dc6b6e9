// SPDX-License-Identifier: Apache-2.0

package jaegerexporter

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/internal/metadata"
	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/jaegertest"
)

const (
	benchSpans         = 1000
	benchSpansPerTrace = 100
	// benchStoreTraces bounds Jaeger's in-memory store. Each sub-benchmark
	// fills it before timing, so both measure against a full store that
	// evicts as it inserts, whichever runs first.
	benchStoreTraces = 100
)

// benchBatch is the batch shape used across wasmcol's benchmarks: 1,000
// spans with 8 attributes each, here in one resource and 10 traces.
func benchBatch(service string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", service)
	res.PutStr("k8s.namespace.name", "knative-eventing")
	res.PutStr("k8s.pod.name", "broker-ingress-7d9c6b5f4-x2x9q")
	res.PutStr("host.name", "node-1")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("knative.dev/eventing")
	spans := ss.Spans()
	spans.EnsureCapacity(benchSpans)
	start := time.Now().Add(-time.Second)
	for i := range benchSpans {
		s := spans.AppendEmpty()
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], uint64(i)+1<<60)
		s.SetSpanID(sid)
		if i%benchSpansPerTrace != 0 {
			var parent [8]byte
			binary.BigEndian.PutUint64(parent[:], uint64(i-i%benchSpansPerTrace)+1<<60)
			s.SetParentSpanID(parent)
		}
		s.SetName(fmt.Sprintf("broker:default.ns-%d", i%20))
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Microsecond)))
		a := s.Attributes()
		a.PutStr("http.request.method", "POST")
		a.PutStr("url.path", "/default/ns")
		a.PutInt("http.response.status_code", 202)
		a.PutStr("server.address", "broker-ingress.knative-eventing.svc.cluster.local")
		a.PutInt("server.port", 8080)
		a.PutStr("cloudevents.type", "dev.knative.sources.ping")
		a.PutStr("messaging.system", "knative")
		a.PutBool("sampled.debug", false)
	}
	return td
}

// setTraceIDs gives every round its own trace IDs, so Jaeger stores new
// traces instead of growing ten ever larger ones.
func setTraceIDs(td ptrace.Traces, round int) {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		var id [16]byte
		id[0] = 0xb0
		binary.BigEndian.PutUint64(id[4:], uint64(round))
		binary.BigEndian.PutUint32(id[12:], uint32(i/benchSpansPerTrace))
		spans.At(i).SetTraceID(id)
	}
}

// BenchmarkCmp_JaegerExporter measures end-to-end throughput into one real
// Jaeger 1.42: this exporter into its api_v2 gRPC port (14250-style) against
// core's otlp exporter into its OTLP gRPC port. The sub-benchmark names and
// the items/s metric are what the comparison table pairs into a ratio.
//
// # Notes
//   - Both exporters run synchronously (no sending queue) and uncompressed,
//     so a round is one batch all the way to Jaeger's acknowledgement; the
//     otlp exporter's gzip default would otherwise measure gzip.
//   - The timed region ends only when Jaeger's collector queue is empty, so
//     the figure is spans stored, not spans queued. Jaeger drops silently
//     when its queue is full; a drop fails the benchmark.
func BenchmarkCmp_JaegerExporter(b *testing.B) {
	j := jaegertest.Run(b, jaegertest.WithArgs(
		"--memory.max-traces="+fmt.Sprint(benchStoreTraces),
		"--collector.queue-size=20000"))

	b.Run("jaeger", func(b *testing.B) {
		cfg := createDefaultConfig().(*Config)
		cfg.ClientConfig.Endpoint = j.CollectorGRPC
		cfg.ClientConfig.TLS.Insecure = true
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(b, err)
		benchExporter(b, j, exp, "bench-jaeger")
	})

	b.Run("otlp", func(b *testing.B) {
		f := otlpexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*otlpexporter.Config)
		cfg.ClientConfig.Endpoint = j.OTLPGRPC
		cfg.ClientConfig.TLS.Insecure = true
		cfg.ClientConfig.Compression = ""
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
		require.NoError(b, err)
		benchExporter(b, j, exp, "bench-otlp")
	})
}

// benchExporter reads Jaeger's counters without a format label: Jaeger 1.42
// labels spans from its OTLP receiver format="proto", transport="grpc" as
// well, so the labels cannot tell the two paths apart anyway.
func benchExporter(b *testing.B, j *jaegertest.Jaeger, exp exporter.Traces, service string) {
	ctx := context.Background()
	require.NoError(b, exp.Start(ctx, componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, exp.Shutdown(ctx)) })

	td := benchBatch(service)
	// Warm up outside the timer: connection setup is not throughput, and
	// the store fills up (see benchStoreTraces).
	for round := -1; round >= -benchStoreTraces*benchSpansPerTrace/benchSpans; round-- {
		setTraceIDs(td, round)
		require.NoError(b, exp.ConsumeTraces(ctx, td))
	}
	waitQueueEmpty(b, j)
	received0 := metric(b, j, "jaeger_spans_received_total")
	dropped0 := metric(b, j, "jaeger_spans_dropped_total")

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		setTraceIDs(td, i)
		if err := exp.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
	waitQueueEmpty(b, j)
	b.StopTimer()

	if got := metric(b, j, "jaeger_spans_received_total") - received0; got != float64(b.N*benchSpans) {
		b.Fatalf("Jaeger received %v spans, want %d", got, b.N*benchSpans)
	}
	if dropped := metric(b, j, "jaeger_spans_dropped_total") - dropped0; dropped != 0 {
		b.Fatalf("Jaeger dropped %v spans; the figure would count spans never stored", dropped)
	}
	b.ReportMetric(float64(b.N*benchSpans)/b.Elapsed().Seconds(), "items/s")
}

func waitQueueEmpty(b *testing.B, j *jaegertest.Jaeger) {
	deadline := time.Now().Add(30 * time.Second)
	for metric(b, j, "jaeger_queue_length") > 0 {
		if time.Now().After(deadline) {
			b.Fatal("Jaeger's collector queue did not drain in 30s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func metric(b *testing.B, j *jaegertest.Jaeger, name string, labels ...string) float64 {
	v, err := j.MetricSum(context.Background(), name, labels...)
	require.NoError(b, err)
	return v
}
