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

// knativeOTelServices are the Knative 1.19+ components and the apps of the
// heartbeats → coinflip demo, each exporting over the protocol its
// config-observability (or OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) would pick;
// both protocols are used so that both receivers are exercised.
type knativeOTelServices struct {
	ingress, dispatcher, filter, activator, queue, coinflip *otelService
}

func newKnativeOTelServices(t *testing.T, cfg distroConfig) knativeOTelServices {
	addr := map[protocol]string{grpcProtocol: cfg.OTLPGRPCAddr, httpProtocol: cfg.OTLPHTTPAddr}
	svc := func(p protocol, res map[string]string) *otelService { return newOTelService(t, p, addr[p], res) }
	return knativeOTelServices{
		ingress: svc(httpProtocol, map[string]string{"service.name": "broker.ingress",
			"k8s.namespace.name": "knative-eventing", "k8s.pod.name": "mt-broker-ingress-6d9c8b7f5-h2k4m"}),
		dispatcher: svc(grpcProtocol, map[string]string{"service.name": "inmemorychannel-dispatcher",
			"k8s.namespace.name": "knative-eventing", "k8s.pod.name": "imc-dispatcher-7f6d5c4b3-p9q8r"}),
		filter: svc(httpProtocol, map[string]string{"service.name": "broker.filter",
			"k8s.namespace.name": "knative-eventing", "k8s.pod.name": "mt-broker-filter-5b8c7d6e9-z1x2c"}),
		activator: svc(grpcProtocol, map[string]string{"service.name": "activator",
			"k8s.namespace.name": "knative-serving", "k8s.pod.name": "activator-6f5d8c9b7-k3j4h"}),
		queue: svc(httpProtocol, map[string]string{"service.name": "coinflip",
			"k8s.namespace.name": "default", "k8s.pod.name": podCoinflip}),
		// coinflip itself: service.name=$HOSTNAME, OTLP gRPC to :4317.
		coinflip: svc(grpcProtocol, map[string]string{"service.name": podCoinflip}),
	}
}

func (k knativeOTelServices) all() []*otelService {
	return []*otelService{k.ingress, k.dispatcher, k.filter, k.activator, k.queue, k.coinflip}
}

// knativeOTelTrace is the broker hop of spans.md's OpenTelemetry era
// (Knative 1.19+): outer and inner server spans, broker:/trigger: spans
// with kn.* attributes, send <url> and POST <path> with the dispatcher's
// reply to the broker ingress, the activator with a cold start and the
// queue-proxy, then coinflip's own spans with the flip result.
func knativeOTelTrace(b *otlpTrace, k knativeOTelServices) {
	httpAttrs := func(method, path, host string, status int) []attribute.KeyValue {
		return []attribute.KeyValue{
			attribute.String("http.request.method", method), attribute.String("url.path", path),
			attribute.String("url.scheme", "http"), attribute.String("server.address", host),
			attribute.Int("server.port", 80), attribute.Int("http.response.status_code", status),
		}
	}
	ce := func(extra ...attribute.KeyValue) []attribute.KeyValue {
		return append([]attribute.KeyValue{
			attribute.String("cloudevents.type", "dev.knative.eventing.samples.heartbeat"),
			attribute.String("cloudevents.source", "https://knative.dev/eventing-contrib/cmd/heartbeats/#default/"+podHeartbeats),
			attribute.String("cloudevents.specversion", "1.0"),
			attribute.String("messaging.system", "knative"),
			attribute.String("messaging.operation.name", "send"),
			attribute.String("kn.broker.name", "default"),
			attribute.String("kn.broker.namespace", "default"),
		}, extra...)
	}
	hop := func(h string) map[string]any { return map[string]any{"knative.hop": h} }
	channelURL := "http://" + channelHost
	toCoinflipURL := "http://" + filterHost + triggerPath(coinflipTrigger, coinflipUID)
	trigDest := "trigger:" + coinflipTrigger + ".default"

	// broker.ingress: outer and inner server span, broker:, send to the channel.
	outer := b.add(k.ingress, ospan{name: "kncloudevents.receive", kind: trace.SpanKindServer, dur: 50 * ms,
		attrs: httpAttrs("POST", "/default/default", ingressHost, 202), promised: hop("ingress"),
		absent: []string{"kn.broker.name"}})
	inner := b.add(k.ingress, ospan{parent: outer, name: "POST /default/default", kind: trace.SpanKindServer, at: 1 * ms, dur: 48 * ms,
		attrs:    httpAttrs("POST", "/default/default", ingressHost, 202),
		promised: map[string]any{"knative.hop": "ingress", "kn.broker.name": "default", "kn.broker.namespace": "default"}})
	broker := b.add(k.ingress, ospan{parent: inner, name: "broker:default.default", kind: trace.SpanKindInternal, at: 2 * ms, dur: 46 * ms,
		attrs:    ce(attribute.String("messaging.destination.name", channelURL)),
		promised: hop("ingress")})
	send := b.add(k.ingress, ospan{parent: broker, name: "send " + channelURL, kind: trace.SpanKindInternal, at: 3 * ms, dur: 44 * ms,
		attrs: []attribute.KeyValue{
			attribute.String("kn.channel.name", "default-kne-trigger"), attribute.String("kn.channel.namespace", "default"),
			attribute.String("cloudevents.type", "dev.knative.eventing.samples.heartbeat"),
		},
		promised: hop("ingress")})
	toChannel := b.add(k.ingress, ospan{parent: send, name: "POST /", kind: trace.SpanKindClient, at: 4 * ms, dur: 42 * ms,
		attrs: httpAttrs("POST", "/", channelHost, 202), promised: hop("ingress")})

	// inmemorychannel-dispatcher: delivery to the trigger, later the reply.
	channel := b.add(k.dispatcher, ospan{parent: toChannel, name: "kncloudevents.receive", kind: trace.SpanKindServer, at: 5 * ms, dur: 40 * ms,
		attrs: httpAttrs("POST", "/", channelHost, 202), promised: hop("dispatch")})
	sendTrigger := b.add(k.dispatcher, ospan{parent: channel, name: "send " + toCoinflipURL, kind: trace.SpanKindInternal, at: 6 * ms, dur: 2300 * ms,
		attrs: []attribute.KeyValue{
			attribute.String("kn.channel.name", "default-kne-trigger"), attribute.String("kn.channel.namespace", "default"),
			attribute.String("cloudevents.type", "dev.knative.eventing.samples.heartbeat"),
		},
		promised: hop("dispatch")})
	toFilter := b.add(k.dispatcher, ospan{parent: sendTrigger, name: "POST " + triggerPath(coinflipTrigger, coinflipUID), kind: trace.SpanKindClient, at: 7 * ms, dur: 2298 * ms,
		attrs: httpAttrs("POST", triggerPath(coinflipTrigger, coinflipUID), filterHost, 200), promised: hop("dispatch")})

	// broker.filter: outer and inner server span, trigger:, send to coinflip.
	fouter := b.add(k.filter, ospan{parent: toFilter, name: "kncloudevents.receive", kind: trace.SpanKindServer, at: 8 * ms, dur: 2295 * ms,
		attrs: httpAttrs("POST", triggerPath(coinflipTrigger, coinflipUID), filterHost, 200), promised: hop("filter"),
		absent: []string{"kn.trigger.name"}})
	finner := b.add(k.filter, ospan{parent: fouter, name: "POST " + triggerPath(coinflipTrigger, coinflipUID), kind: trace.SpanKindServer, at: 9 * ms, dur: 2293 * ms,
		attrs:    httpAttrs("POST", triggerPath(coinflipTrigger, coinflipUID), filterHost, 200),
		promised: map[string]any{"knative.hop": "filter", "kn.trigger.name": coinflipTrigger, "kn.trigger.namespace": "default"}})
	trig := b.add(k.filter, ospan{parent: finner, name: trigDest, kind: trace.SpanKindInternal, at: 10 * ms, dur: 2290 * ms,
		attrs:    ce(attribute.String("messaging.destination.name", trigDest)),
		promised: map[string]any{"knative.hop": "filter", "kn.trigger.name": coinflipTrigger, "kn.trigger.namespace": "default"}})
	fsend := b.add(k.filter, ospan{parent: trig, name: "send http://coinflip.default.svc.cluster.local", kind: trace.SpanKindInternal, at: 11 * ms, dur: 2288 * ms,
		attrs: []attribute.KeyValue{attribute.String("cloudevents.type", "dev.knative.eventing.samples.heartbeat")}, promised: hop("filter")})
	toApp := b.add(k.filter, ospan{parent: fsend, name: "POST /", kind: trace.SpanKindClient, at: 12 * ms, dur: 2286 * ms,
		attrs: httpAttrs("POST", "/", "coinflip.default.svc.cluster.local", 200), promised: hop("filter")})

	// activator: scale from zero, throttler_try waits 1.8 s.
	act := b.add(k.activator, ospan{parent: toApp, name: "POST", kind: trace.SpanKindServer, at: 13 * ms, dur: 2283 * ms,
		attrs: append(httpAttrs("POST", "/", "coinflip.default.svc.cluster.local", 200),
			attribute.String("kn.service.name", "coinflip"), attribute.String("kn.revision.name", "coinflip-00001"),
			attribute.String("k8s.namespace.name", "default")),
		promised: hop("activator")})
	b.add(k.activator, ospan{parent: act, name: "throttler_try", kind: trace.SpanKindInternal, at: 14 * ms, dur: 1800 * ms,
		promised: map[string]any{"knative.hop": "activator", "knative.cold_start": true}})
	aproxy := b.add(k.activator, ospan{parent: act, name: "activator_proxy", kind: trace.SpanKindInternal, at: 1815 * ms, dur: 480 * ms,
		promised: hop("activator"), absent: []string{"knative.cold_start"}})
	actOut := b.add(k.activator, ospan{parent: aproxy, name: "POST /", kind: trace.SpanKindClient, at: 1816 * ms, dur: 478 * ms,
		attrs: httpAttrs("POST", "/", "10.244.2.23", 200), promised: hop("activator")})

	// queue-proxy, named after the Knative Service in this era.
	q := b.add(k.queue, ospan{parent: actOut, name: "queue", kind: trace.SpanKindServer, at: 1817 * ms, dur: 476 * ms,
		attrs: httpAttrs("POST", "/", "coinflip.default.svc.cluster.local", 200), promised: hop("queue")})
	qproxy := b.add(k.queue, ospan{parent: q, name: "kn.queueproxy.proxy", kind: trace.SpanKindInternal, at: 1818 * ms, dur: 474 * ms,
		promised: hop("queue")})
	// Its CLIENT to the user container carries nothing that tells it from
	// any other client span (knative-hops README, Limits): untagged.
	qout := b.add(k.queue, ospan{parent: qproxy, name: "POST /", kind: trace.SpanKindClient, at: 1819 * ms, dur: 472 * ms,
		attrs: httpAttrs("POST", "/", "127.0.0.1", 200), absent: []string{"knative.hop"}})

	coinflipSpans(b, k.coinflip, qout, 1820*ms, "heads")

	// The reply re-enters the broker through the dispatcher.
	replyURL := ingressURL
	sendReply := b.add(k.dispatcher, ospan{parent: channel, name: "send " + replyURL, kind: trace.SpanKindInternal, at: 2310 * ms, dur: 40 * ms,
		attrs: []attribute.KeyValue{
			attribute.String("kn.channel.name", "default-kne-trigger"), attribute.String("kn.channel.namespace", "default"),
			attribute.String("cloudevents.type", "coinflip"),
		},
		promised: hop("reply")})
	b.add(k.dispatcher, ospan{parent: sendReply, name: "POST /default/default", kind: trace.SpanKindClient, at: 2311 * ms, dur: 38 * ms,
		attrs: httpAttrs("POST", "/default/default", ingressHost, 202), promised: hop("reply")})
}

// kedaServices are the KEDA HTTP add-on interceptor, which exports over
// OTLP/HTTP here (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf).
func kedaInterceptorTraces(b *otlpTrace, keda *otelService) {
	upstream := attribute.String("service", "keda-http-interceptor-proxy-upstream")
	// v0.15+: a cold start of 3 s; the forwarded request took 250 ms of it.
	srv := b.add(keda, ospan{name: "GET", kind: trace.SpanKindServer, dur: 3000 * ms,
		attrs: []attribute.KeyValue{upstream, attribute.String("cold-start", "true"),
			attribute.String("http.request.method", "GET"), attribute.String("url.path", "/")},
		promised: map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": int64(2750)}})
	b.add(keda, ospan{parent: srv, name: "HTTP GET", kind: trace.SpanKindClient, at: 2745 * ms, dur: 250 * ms,
		attrs:  []attribute.KeyValue{attribute.Int("http.response.status_code", 200)},
		absent: []string{"kedify.cold_start", "kedify.cold_start.wait_ms"}})
	// The same app, warm.
	warm := b.add(keda, ospan{name: "GET", kind: trace.SpanKindServer, at: 4000 * ms, dur: 20 * ms,
		attrs: []attribute.KeyValue{upstream, attribute.String("cold-start", "false"),
			attribute.String("http.request.method", "GET"), attribute.String("url.path", "/")},
		absent: []string{"kedify.cold_start", "kedify.cold_start.wait_ms"}})
	b.add(keda, ospan{parent: warm, name: "HTTP GET", kind: trace.SpanKindClient, at: 4002 * ms, dur: 15 * ms,
		attrs:  []attribute.KeyValue{attribute.Int("http.response.status_code", 200)},
		absent: []string{"kedify.cold_start"}})
	// Up to v0.14: the server span is named after the interceptor and the
	// client uses the old HTTP keys; cold for 1.2 s, retried once (the
	// client span that ended last is the one that got through).
	old := b.add(keda, ospan{name: "keda-http-interceptor", kind: trace.SpanKindServer, at: 5000 * ms, dur: 1500 * ms,
		attrs:    []attribute.KeyValue{upstream, attribute.String("cold-start", "true")},
		promised: map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": int64(1200)}})
	b.add(keda, ospan{parent: old, name: "HTTP GET", kind: trace.SpanKindClient, at: 5100 * ms, dur: 100 * ms,
		attrs:  []attribute.KeyValue{attribute.String("http.method", "GET"), attribute.Int("http.status_code", 503)},
		absent: []string{"kedify.cold_start"}})
	b.add(keda, ospan{parent: old, name: "HTTP GET", kind: trace.SpanKindClient, at: 6195 * ms, dur: 300 * ms,
		attrs:  []attribute.KeyValue{attribute.String("http.method", "GET"), attribute.Int("http.status_code", 200)},
		absent: []string{"kedify.cold_start"}})
}

// TestOTLPClients sends, with the OpenTelemetry Go SDK's OTLP exporters
// (gRPC for some services, HTTP for others), a Knative 1.19+ broker hop
// with coinflip's flip, a standalone flip, and KEDA interceptor requests
// cold and warm, to the shipped config with the shipped OTLP export
// overlay, and checks every span the test's OTLP receiver gets.
func TestOTLPClients(t *testing.T) {
	sink := startOTLPSink(t)
	cfg := shippedConfig(t, nil, "export-otlp.yaml")
	col := startCollector(t, cfg.HealthAddr,
		[]string{"WASMCOL_OTLP_ENDPOINT=" + sink.Addr, "WASMCOL_OTLP_INSECURE=true"}, cfg.Files...)

	b := &otlpTrace{base: time.Now().Add(-time.Minute)}
	kn := newKnativeOTelServices(t, cfg)
	knativeOTelTrace(b, kn)
	// Another flip on its own (a trace started by coinflip), the other face.
	coinflipSpans(b, kn.coinflip, nil, 10*time.Second, "tails")
	keda := newOTelService(t, httpProtocol, cfg.OTLPHTTPAddr, map[string]string{"service.name": "keda-http-interceptor"})
	kedaInterceptorTraces(b, keda)
	flushAll(t, append(kn.all(), keda)...)

	awaitSpans(t, sink, b.want, 30*time.Second)
	col.stop()
	checkSpans(t, sink, b.want)
}
