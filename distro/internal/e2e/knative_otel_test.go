// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// knativeRelease is what one line of Knative releases of the OpenTelemetry
// era names and reports, as examples/knative-hops/README.md lists it (read
// from knative/eventing and knative/serving at each tag).
type knativeRelease struct {
	name string
	// Server span names: every eventing hop's outer one (the IMC
	// dispatcher has only that one), the activator's and queue-proxy's.
	// otelhttp names them after the operation up to v0.68 (Knative 1.22)
	// and after the method from v0.69 (1.23).
	outer, activator, queue string
	// dispatcher is the IMC dispatcher's service.name.
	dispatcher string
	// queueResource is queue-proxy's resource besides service.name,
	// which is the Knative Service's name.
	queueResource map[string]string
	// activatorKn: the activator's server span carries kn.* (1.19.3 on).
	activatorKn bool
	// probe: queue-proxy traces kn.queueproxy.probe (1.19.0–1.19.2).
	probe bool
}

const (
	dispatcherDotted = "inmemorychannel.dispatcher" // 1.19.x, 1.20.0–1.20.1, 1.21.0
	dispatcherDashed = "inmemorychannel-dispatcher" // 1.20.2+, 1.21.1+, 1.22 on
)

// queueProxyResource is coinflip's queue-proxy resource with container
// under key ("" for none, as in 1.19.0–1.19.2, which also has no
// k8s.pod.name).
func queueProxyResource(key string) map[string]string {
	r := map[string]string{
		"k8s.namespace.name": "default", "service.instance.id": podCoinflip,
		"kn.service.name": "coinflip", "kn.configuration.name": "coinflip", "kn.revision.name": "coinflip-00001",
	}
	if key != "" {
		r[key] = "queue-proxy"
		r["k8s.pod.name"] = podCoinflip
	}
	return r
}

var knativeReleases = []knativeRelease{
	{name: "1.19.0", outer: "kncloudevents.receive", activator: "activate", queue: "queue",
		dispatcher: dispatcherDotted, queueResource: queueProxyResource(""), probe: true},
	{name: "1.19.3", outer: "kncloudevents.receive", activator: "handle", queue: "queue",
		dispatcher: dispatcherDotted, queueResource: queueProxyResource("k8s.container.name"), activatorKn: true},
	{name: "1.20", outer: "kncloudevents.receive", activator: "handle", queue: "queue",
		dispatcher: dispatcherDotted, queueResource: queueProxyResource("container.name"), activatorKn: true},
	{name: "1.22", outer: "kncloudevents.receive", activator: "handle", queue: "queue",
		dispatcher: dispatcherDashed, queueResource: queueProxyResource("container.name"), activatorKn: true},
	{name: "1.23", outer: "POST", activator: "POST", queue: "POST",
		dispatcher: dispatcherDashed, queueResource: queueProxyResource("container.name"), activatorKn: true},
}

// knativeOTelServices are the Knative 1.19+ components and the apps of the
// heartbeats → coinflip demo, each exporting over the protocol its
// config-observability (or OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) would pick;
// both protocols are used so that both receivers are exercised. The IMC
// dispatcher and queue-proxy report differently across releases, so
// there is one of them per name and per release.
type knativeOTelServices struct {
	ingress, filter, activator, coinflip *otelService
	dispatcher                           map[string]*otelService // by service.name
	queue                                map[string]*otelService // by release
}

func newKnativeOTelServices(t *testing.T, cfg distroConfig, releases ...knativeRelease) knativeOTelServices {
	addr := map[protocol]string{grpcProtocol: cfg.OTLPGRPCAddr, httpProtocol: cfg.OTLPHTTPAddr}
	svc := func(p protocol, res map[string]string) *otelService { return newOTelService(t, p, addr[p], res) }
	k := knativeOTelServices{
		ingress: svc(httpProtocol, map[string]string{"service.name": "broker.ingress",
			"k8s.namespace.name": "knative-eventing", "k8s.pod.name": "mt-broker-ingress-6d9c8b7f5-h2k4m"}),
		filter: svc(httpProtocol, map[string]string{"service.name": "broker.filter",
			"k8s.namespace.name": "knative-eventing", "k8s.pod.name": "mt-broker-filter-5b8c7d6e9-z1x2c"}),
		activator: svc(grpcProtocol, map[string]string{"service.name": "activator",
			"k8s.namespace.name": "knative-serving", "k8s.pod.name": "activator-6f5d8c9b7-k3j4h"}),
		// coinflip itself: service.name=$HOSTNAME, OTLP gRPC to :4317.
		coinflip:   svc(grpcProtocol, map[string]string{"service.name": podCoinflip}),
		dispatcher: map[string]*otelService{},
		queue:      map[string]*otelService{},
	}
	for _, r := range releases {
		if k.dispatcher[r.dispatcher] == nil {
			k.dispatcher[r.dispatcher] = svc(grpcProtocol, map[string]string{"service.name": r.dispatcher,
				"k8s.namespace.name": "knative-eventing", "k8s.pod.name": "imc-dispatcher-7f6d5c4b3-p9q8r"})
		}
		res := map[string]string{"service.name": "coinflip"}
		for key, v := range r.queueResource {
			res[key] = v
		}
		k.queue[r.name] = svc(httpProtocol, res)
	}
	return k
}

func (k knativeOTelServices) all() []*otelService {
	out := []*otelService{k.ingress, k.filter, k.activator, k.coinflip}
	for _, name := range sortedKeys(k.dispatcher) {
		out = append(out, k.dispatcher[name])
	}
	for _, name := range sortedKeys(k.queue) {
		out = append(out, k.queue[name])
	}
	return out
}

// knativeOTelTrace is the broker hop in the shapes of release r, starting
// at offset from the otlpTrace's base: outer and inner server spans,
// broker:/trigger: spans with Knative's own kn.* attributes, send <url>
// and POST <path> with the dispatcher's reply to the broker ingress, the
// activator with a cold start and the queue-proxy, then coinflip's own
// spans with the flip result. Every Knative span must come out tagged;
// Knative's kn.broker.* and messaging.destination.name must come out as
// sent.
func knativeOTelTrace(b *otlpTrace, k knativeOTelServices, r knativeRelease, offset time.Duration) {
	at := func(d time.Duration) time.Duration { return offset + d }
	httpAttrs := func(method, path, host string, status int) []attribute.KeyValue {
		return []attribute.KeyValue{
			attribute.String("http.request.method", method), attribute.String("url.path", path),
			attribute.String("url.scheme", "http"), attribute.String("server.address", host),
			attribute.Int("server.port", 80), attribute.Int("http.response.status_code", status),
		}
	}
	labels := func(dest string, extra ...attribute.KeyValue) []attribute.KeyValue {
		return append([]attribute.KeyValue{
			attribute.String("kn.broker.name", "default"),
			attribute.String("kn.broker.namespace", "default"),
			attribute.String("cloudevents.type", "dev.knative.eventing.samples.heartbeat"),
			attribute.String("messaging.system", "knative"),
			attribute.String("messaging.operation.name", "send"),
			attribute.String("messaging.destination.name", dest),
		}, extra...)
	}
	event := []attribute.KeyValue{
		attribute.String("cloudevents.source", "https://knative.dev/eventing-contrib/cmd/heartbeats/#default/"+podHeartbeats),
		attribute.String("cloudevents.specversion", "1.0"),
	}
	hop := func(h string) map[string]any { return map[string]any{"knative.hop": h} }
	channelURL := "http://" + channelHost
	toCoinflipURL := "http://" + filterHost + triggerPath(coinflipTrigger, coinflipUID)
	trigDest := "trigger:" + coinflipTrigger + ".default"
	dispatcher, queue := k.dispatcher[r.dispatcher], k.queue[r.name]

	// broker.ingress: outer and inner server span, broker:, send to the channel.
	outer := b.add(k.ingress, ospan{name: r.outer, kind: trace.SpanKindServer, at: at(0), dur: 50 * ms,
		attrs: httpAttrs("POST", "/default/default", ingressHost, 202), promised: hop("ingress"),
		absent: []string{"kn.broker.name"}})
	inner := b.add(k.ingress, ospan{parent: outer, name: "POST /default/default", kind: trace.SpanKindServer, at: at(1 * ms), dur: 48 * ms,
		attrs:    httpAttrs("POST", "/default/default", ingressHost, 202),
		promised: map[string]any{"knative.hop": "ingress", "kn.broker.name": "default", "kn.broker.namespace": "default"}})
	broker := b.add(k.ingress, ospan{parent: inner, name: "broker:default.default", kind: trace.SpanKindInternal, at: at(2 * ms), dur: 46 * ms,
		attrs: labels(channelURL, event...), promised: hop("ingress")})
	send := b.add(k.ingress, ospan{parent: broker, name: "send " + channelURL, kind: trace.SpanKindInternal, at: at(3 * ms), dur: 44 * ms,
		attrs: labels(channelURL), promised: hop("ingress")})
	toChannel := b.add(k.ingress, ospan{parent: send, name: "POST /", kind: trace.SpanKindClient, at: at(4 * ms), dur: 42 * ms,
		attrs: httpAttrs("POST", "/", channelHost, 202), promised: hop("ingress")})

	// The IMC dispatcher: delivery to the trigger, later the reply.
	channelAttrs := func(ceType string) []attribute.KeyValue {
		return []attribute.KeyValue{
			attribute.String("kn.channel.name", "default-kne-trigger"), attribute.String("kn.channel.namespace", "default"),
			attribute.String("cloudevents.type", ceType),
		}
	}
	channel := b.add(dispatcher, ospan{parent: toChannel, name: r.outer, kind: trace.SpanKindServer, at: at(5 * ms), dur: 40 * ms,
		attrs: httpAttrs("POST", "/", channelHost, 202), promised: hop("dispatch")})
	sendTrigger := b.add(dispatcher, ospan{parent: channel, name: "send " + toCoinflipURL, kind: trace.SpanKindInternal, at: at(6 * ms), dur: 2300 * ms,
		attrs: channelAttrs("dev.knative.eventing.samples.heartbeat"), promised: hop("dispatch")})
	toFilter := b.add(dispatcher, ospan{parent: sendTrigger, name: "POST " + triggerPath(coinflipTrigger, coinflipUID), kind: trace.SpanKindClient, at: at(7 * ms), dur: 2298 * ms,
		attrs: httpAttrs("POST", triggerPath(coinflipTrigger, coinflipUID), filterHost, 200), promised: hop("dispatch")})

	// broker.filter: outer and inner server span, trigger:, send to coinflip.
	fouter := b.add(k.filter, ospan{parent: toFilter, name: r.outer, kind: trace.SpanKindServer, at: at(8 * ms), dur: 2295 * ms,
		attrs: httpAttrs("POST", triggerPath(coinflipTrigger, coinflipUID), filterHost, 200), promised: hop("filter"),
		absent: []string{"kn.trigger.name"}})
	finner := b.add(k.filter, ospan{parent: fouter, name: "POST " + triggerPath(coinflipTrigger, coinflipUID), kind: trace.SpanKindServer, at: at(9 * ms), dur: 2293 * ms,
		attrs:    httpAttrs("POST", triggerPath(coinflipTrigger, coinflipUID), filterHost, 200),
		promised: map[string]any{"knative.hop": "filter", "kn.trigger.name": coinflipTrigger, "kn.trigger.namespace": "default"}})
	trig := b.add(k.filter, ospan{parent: finner, name: trigDest, kind: trace.SpanKindInternal, at: at(10 * ms), dur: 2290 * ms,
		attrs:    labels(trigDest, event...),
		promised: map[string]any{"knative.hop": "filter", "kn.trigger.name": coinflipTrigger, "kn.trigger.namespace": "default"}})
	fsend := b.add(k.filter, ospan{parent: trig, name: "send http://coinflip.default.svc.cluster.local", kind: trace.SpanKindInternal, at: at(11 * ms), dur: 2288 * ms,
		attrs: labels(trigDest), promised: hop("filter")})
	toApp := b.add(k.filter, ospan{parent: fsend, name: "POST /", kind: trace.SpanKindClient, at: at(12 * ms), dur: 2286 * ms,
		attrs: httpAttrs("POST", "/", "coinflip.default.svc.cluster.local", 200), promised: hop("filter")})

	// activator: scale from zero, throttler_try waits 1.8 s.
	actAttrs := httpAttrs("POST", "/", "coinflip.default.svc.cluster.local", 200)
	if r.activatorKn {
		actAttrs = append(actAttrs,
			attribute.String("kn.service.name", "coinflip"), attribute.String("kn.configuration.name", "coinflip"),
			attribute.String("kn.revision.name", "coinflip-00001"), attribute.String("k8s.namespace.name", "default"))
	}
	act := b.add(k.activator, ospan{parent: toApp, name: r.activator, kind: trace.SpanKindServer, at: at(13 * ms), dur: 2283 * ms,
		attrs: actAttrs, promised: hop("activator")})
	b.add(k.activator, ospan{parent: act, name: "throttler_try", kind: trace.SpanKindInternal, at: at(14 * ms), dur: 1800 * ms,
		promised: map[string]any{"knative.hop": "activator", "knative.cold_start": true}})
	aproxy := b.add(k.activator, ospan{parent: act, name: "activator_proxy", kind: trace.SpanKindInternal, at: at(1815 * ms), dur: 480 * ms,
		promised: hop("activator"), absent: []string{"knative.cold_start"}})
	actOut := b.add(k.activator, ospan{parent: aproxy, name: "POST /", kind: trace.SpanKindClient, at: at(1816 * ms), dur: 478 * ms,
		attrs: httpAttrs("POST", "/", "10.244.2.23", 200), promised: hop("activator")})

	// queue-proxy, named after the Knative Service and known by its
	// resource: every span tagged, its client to the user container too.
	q := b.add(queue, ospan{parent: actOut, name: r.queue, kind: trace.SpanKindServer, at: at(1817 * ms), dur: 476 * ms,
		attrs: httpAttrs("POST", "/", "coinflip.default.svc.cluster.local", 200), promised: hop("queue")})
	qproxy := b.add(queue, ospan{parent: q, name: "kn.queueproxy.proxy", kind: trace.SpanKindInternal, at: at(1818 * ms), dur: 474 * ms,
		promised: hop("queue")})
	qout := b.add(queue, ospan{parent: qproxy, name: "HTTP POST", kind: trace.SpanKindClient, at: at(1819 * ms), dur: 472 * ms,
		attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "POST"), attribute.String("url.full", "http://127.0.0.1:8080/"),
			attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 8080), attribute.Int("http.response.status_code", 200),
		},
		promised: hop("queue")})

	coinflipSpans(b, k.coinflip, qout, at(1820*ms), "heads")

	// The reply re-enters the broker through the dispatcher.
	sendReply := b.add(dispatcher, ospan{parent: channel, name: "send " + ingressURL, kind: trace.SpanKindInternal, at: at(2310 * ms), dur: 40 * ms,
		attrs: channelAttrs("coinflip"), promised: hop("reply")})
	b.add(dispatcher, ospan{parent: sendReply, name: "POST /default/default", kind: trace.SpanKindClient, at: at(2311 * ms), dur: 38 * ms,
		attrs: httpAttrs("POST", "/default/default", ingressHost, 202), promised: hop("reply")})

	if r.probe {
		// A readiness probe: its server span is filtered out, so the
		// probe span starts a trace of its own.
		b.add(queue, ospan{name: "kn.queueproxy.probe", kind: trace.SpanKindInternal, at: at(3000 * ms), dur: 2 * ms,
			promised: hop("queue")})
	}
}
