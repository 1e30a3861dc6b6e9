// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// protocol is how an OpenTelemetry SDK client exports: the values of
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL and Knative's tracing-protocol.
type protocol string

const (
	grpcProtocol protocol = "grpc"
	httpProtocol protocol = "http/protobuf"
)

// otelService is one process that traces with the OpenTelemetry Go SDK:
// its own resource, tracer provider and OTLP exporter, as in coinflip, the
// KEDA interceptor or a Knative 1.19+ component.
type otelService struct {
	name     string // the service.name it sends
	resource map[string]string
	tp       *sdktrace.TracerProvider
	tracer   trace.Tracer
	exp      *countingExporter
	started  int
}

// newOTelService exports to the distribution at addr (its OTLP gRPC or
// HTTP receiver, per proto). Spans are batched until flushAll, so that
// parents and children go in one request, as an SDK's batch processor
// usually sends them.
func newOTelService(t *testing.T, proto protocol, addr string, res map[string]string) *otelService {
	t.Helper()
	ctx := context.Background()
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch proto {
	case grpcProtocol:
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	case httpProtocol:
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	default:
		t.Fatalf("unknown protocol %q", proto)
	}
	if err != nil {
		t.Fatalf("OTLP %s exporter: %v", proto, err)
	}
	var kvs []attribute.KeyValue
	for _, k := range sortedKeys(res) {
		kvs = append(kvs, attribute.String(k, res[k]))
	}
	counting := &countingExporter{SpanExporter: exp}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(kvs...)),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(counting, sdktrace.WithBatchTimeout(time.Hour), sdktrace.WithMaxQueueSize(4096), sdktrace.WithMaxExportBatchSize(4096)),
	)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &otelService{name: res["service.name"], resource: res, tp: tp, tracer: tp.Tracer("e2e"), exp: counting}
}

// countingExporter records what the SDK exported and every error, since
// the SDK otherwise only hands export errors to a global handler.
type countingExporter struct {
	sdktrace.SpanExporter
	mu    sync.Mutex
	spans int
	errs  []error
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.errs = append(e.errs, err)
	} else {
		e.spans += len(spans)
	}
	return err
}

// flushAll sends every started span and requires every export to have
// succeeded: the distribution accepted each span.
func flushAll(t *testing.T, services ...*otelService) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range services {
		if err := s.tp.ForceFlush(ctx); err != nil {
			t.Fatalf("%s: flushing spans: %v", s.name, err)
		}
		s.exp.mu.Lock()
		spans, errs := s.exp.spans, s.exp.errs
		s.exp.mu.Unlock()
		if len(errs) > 0 || spans != s.started {
			t.Fatalf("%s: %d of %d spans exported, errors: %v", s.name, spans, s.started, errs)
		}
	}
}

// otlpTrace records what the distribution must deliver for the spans the
// SDK clients send.
type otlpTrace struct {
	base time.Time
	want []wantSpan
}

// ospan is one span to send. The SDK picks the IDs; the parent is the span
// (or remote span context) in parent, a fresh trace when it holds none.
type ospan struct {
	parent  context.Context
	name    string
	kind    trace.SpanKind
	at, dur time.Duration // from the trace's base time
	attrs   []attribute.KeyValue
	events  []oevent
	// promised are the attributes the filters add or change.
	promised map[string]any
	absent   []string
}

type oevent struct {
	name  string
	at    time.Duration
	attrs []attribute.KeyValue
}

// add sends s through svc's SDK and returns the context that makes it
// the parent of further spans.
func (b *otlpTrace) add(svc *otelService, s ospan) context.Context {
	parent := s.parent
	if parent == nil {
		parent = context.Background()
	}
	ctx, span := svc.tracer.Start(parent, s.name,
		trace.WithSpanKind(s.kind),
		trace.WithTimestamp(b.base.Add(s.at)),
		trace.WithAttributes(s.attrs...))
	for _, e := range s.events {
		span.AddEvent(e.name, trace.WithTimestamp(b.base.Add(e.at)), trace.WithAttributes(e.attrs...))
	}
	span.End(trace.WithTimestamp(b.base.Add(s.at + s.dur)))
	svc.started++

	attrs := map[string]any{}
	for _, kv := range s.attrs {
		attrs[string(kv.Key)] = kv.Value.AsInterface()
	}
	maps.Copy(attrs, s.promised)
	service, res := serviceAfterFilters(svc.name)
	for k, v := range svc.resource {
		if k != "service.name" {
			res[k] = v
		}
	}
	sc := span.SpanContext()
	b.want = append(b.want, wantSpan{
		TraceID:    pcommon.TraceID(sc.TraceID()),
		SpanID:     pcommon.SpanID(sc.SpanID()),
		Parent:     pcommon.SpanID(trace.SpanContextFromContext(parent).SpanID()),
		Name:       s.name,
		Service:    service,
		Kind:       ptrace.SpanKind(s.kind),
		Attrs:      attrs,
		Absent:     s.absent,
		Resource:   res,
		TraceState: kept100,
	})
	return ctx
}

// OpenTelemetry's span kinds and ptrace's have the same numbers; checked
// here once so that the conversion in add is safe.
func init() {
	for k, want := range map[trace.SpanKind]ptrace.SpanKind{
		trace.SpanKindServer: ptrace.SpanKindServer, trace.SpanKindClient: ptrace.SpanKindClient,
		trace.SpanKindInternal: ptrace.SpanKindInternal, trace.SpanKindProducer: ptrace.SpanKindProducer,
	} {
		if ptrace.SpanKind(k) != want {
			panic(fmt.Sprintf("span kind %v is %v in ptrace", k, ptrace.SpanKind(k)))
		}
	}
}

// coinflipSpans is one flip as benmoss/knative-eventing-tracing's coinflip
// traces it: otelhttp's SERVER receive, the handler's INTERNAL receive,
// and INTERNAL flip with the result only as the event flipped{result}.
// The filter promotes the result to coinflip.result on flip.
func coinflipSpans(b *otlpTrace, svc *otelService, parent context.Context, at time.Duration, result string) {
	srv := b.add(svc, ospan{parent: parent, name: "receive", kind: trace.SpanKindServer, at: at, dur: 140 * ms,
		attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "POST"), attribute.String("url.path", "/"),
			attribute.String("url.scheme", "http"), attribute.String("server.address", "coinflip.default.svc.cluster.local"),
			attribute.Int("http.response.status_code", 200),
		},
		absent: []string{"coinflip.result", "knative.hop"}})
	recv := b.add(svc, ospan{parent: srv, name: "receive", kind: trace.SpanKindInternal, at: at + 1*ms, dur: 138 * ms,
		absent: []string{"coinflip.result", "knative.hop"}})
	b.add(svc, ospan{parent: recv, name: "flip", kind: trace.SpanKindInternal, at: at + 2*ms, dur: 5 * ms,
		events:   []oevent{{name: "flipped", at: at + 6*ms, attrs: []attribute.KeyValue{attribute.String("result", result)}}},
		promised: map[string]any{"coinflip.result": result},
		absent:   []string{"knative.hop"}})
}

// kedaInterceptorTraces are requests through the KEDA HTTP add-on
// interceptor of each release line (kedacore/http-add-on at the tags; its
// service.name is keda-http-interceptor in all of them), which exports over
// OTLP/HTTP here (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf). Its
// otelhttp writes the current HTTP attribute keys in every release.
func kedaInterceptorTraces(b *otlpTrace, keda *otelService) {
	upstream := attribute.String("service", "keda-http-interceptor-proxy-upstream")
	server := func(method string, extra ...attribute.KeyValue) []attribute.KeyValue {
		return append([]attribute.KeyValue{attribute.String("http.request.method", method), attribute.String("url.path", "/")}, extra...)
	}
	client := func(status int) []attribute.KeyValue {
		return []attribute.KeyValue{attribute.Int("http.response.status_code", status)}
	}
	marks := []string{"kedify.cold_start", "kedify.cold_start.wait_ms"}
	// A caller's traceparent: the interceptor's server span continues it.
	traced := func(seed byte) context.Context {
		return trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{0x4b, 0xed, 0xa0, seed}, SpanID: trace.SpanID{0x4b, 0xed, 0xa0, seed}, TraceFlags: trace.FlagsSampled, Remote: true,
		}))
	}

	// v0.15 on, named after the method: a cold start of 3 s, the
	// forwarded request took 250 ms of it.
	srv := b.add(keda, ospan{name: "GET", kind: trace.SpanKindServer, dur: 3000 * ms,
		attrs:    server("GET", upstream, attribute.String("cold-start", "true")),
		promised: map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": int64(2750)}})
	b.add(keda, ospan{parent: srv, name: "HTTP GET", kind: trace.SpanKindClient, at: 2745 * ms, dur: 250 * ms,
		attrs: client(200), absent: marks})
	// The same app, warm, with a POST.
	warm := b.add(keda, ospan{name: "POST", kind: trace.SpanKindServer, at: 4000 * ms, dur: 20 * ms,
		attrs: server("POST", upstream, attribute.String("cold-start", "false")), absent: marks})
	b.add(keda, ospan{parent: warm, name: "HTTP POST", kind: trace.SpanKindClient, at: 4002 * ms, dur: 15 * ms,
		attrs: client(200), absent: marks})
	// v0.14, named after the interceptor, behind a traced caller: cold for
	// 1.2 s, retried once (the client span that ended last is the one that
	// got through).
	old := b.add(keda, ospan{parent: traced(1), name: "keda-http-interceptor", kind: trace.SpanKindServer, at: 5000 * ms, dur: 1500 * ms,
		attrs:    server("GET", upstream, attribute.String("cold-start", "true")),
		promised: map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": int64(1200)}})
	b.add(keda, ospan{parent: old, name: "HTTP GET", kind: trace.SpanKindClient, at: 5100 * ms, dur: 100 * ms,
		attrs: client(503), absent: marks})
	b.add(keda, ospan{parent: old, name: "HTTP GET", kind: trace.SpanKindClient, at: 6195 * ms, dur: 300 * ms,
		attrs: client(200), absent: marks})
	// v0.11–v0.13 from an untraced caller: the server span is the root,
	// and its attributes arrive.
	untraced := b.add(keda, ospan{name: "keda-http-interceptor", kind: trace.SpanKindServer, at: 7000 * ms, dur: 2100 * ms,
		attrs:    server("GET", upstream, attribute.String("cold-start", "true")),
		promised: map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": int64(2000)}})
	b.add(keda, ospan{parent: untraced, name: "HTTP GET", kind: trace.SpanKindClient, at: 9000 * ms, dur: 100 * ms,
		attrs: client(200), absent: marks})
	// v0.11–v0.13 behind a traced caller: service and cold-start are lost,
	// so only the hold tells. 2.5 s is over kedify's 1 s threshold...
	lost := b.add(keda, ospan{parent: traced(2), name: "keda-http-interceptor", kind: trace.SpanKindServer, at: 10000 * ms, dur: 2600 * ms,
		attrs:    server("GET"),
		promised: map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": int64(2500)}})
	b.add(keda, ospan{parent: lost, name: "HTTP GET", kind: trace.SpanKindClient, at: 12500 * ms, dur: 100 * ms,
		attrs: client(200), absent: marks})
	// ...and 2 ms is not.
	lostWarm := b.add(keda, ospan{parent: traced(3), name: "keda-http-interceptor", kind: trace.SpanKindServer, at: 13000 * ms, dur: 50 * ms,
		attrs: server("GET"), absent: marks})
	b.add(keda, ospan{parent: lostWarm, name: "HTTP GET", kind: trace.SpanKindClient, at: 13001 * ms, dur: 48 * ms,
		attrs: client(200), absent: marks})
}

// TestOTLPClients sends, with the OpenTelemetry Go SDK's OTLP exporters
// (gRPC for some services, HTTP for others), a broker hop with coinflip's
// flip in the shapes of every Knative release line from 1.19.0 to 1.23, a
// standalone flip, and KEDA interceptor requests cold and warm in the shapes
// of every add-on release line, to the shipped config with the shipped OTLP
// export overlay, and checks every span the test's OTLP receiver gets.
func TestOTLPClients(t *testing.T) {
	sink := startOTLPSink(t)
	cfg := shippedConfig(t, nil, "export-otlp.yaml")
	col := startCollector(t, cfg.HealthAddr,
		[]string{"WASMCOL_OTLP_ENDPOINT=" + sink.Addr, "WASMCOL_OTLP_INSECURE=true"}, cfg.Files...)

	b := &otlpTrace{base: time.Now().Add(-time.Minute)}
	kn := newKnativeOTelServices(t, cfg, knativeReleases...)
	for i, r := range knativeReleases {
		knativeOTelTrace(b, kn, r, time.Duration(i)*5*time.Second)
	}
	// Another flip on its own (a trace started by coinflip), the other face.
	coinflipSpans(b, kn.coinflip, nil, 30*time.Second, "tails")
	keda := newOTelService(t, httpProtocol, cfg.OTLPHTTPAddr, map[string]string{"service.name": "keda-http-interceptor"})
	kedaInterceptorTraces(b, keda)
	flushAll(t, append(kn.all(), keda)...)

	awaitSpans(t, sink, b.want, 30*time.Second)
	col.stop()
	checkSpans(t, sink, b.want)
}
