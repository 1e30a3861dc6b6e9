// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzipkin/zipkin-go/model"
	zipkinhttp "github.com/openzipkin/zipkin-go/reporter/http"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Knative OpenCensus-era services (spans.md): the Zipkin local endpoint's
// serviceName is the Kubernetes Service, or the pod name for pods that
// report themselves (the heartbeats sample, queue-proxies).
const (
	svcIngress      = "broker-ingress.knative-eventing"
	svcFilter       = "broker-filter.knative-eventing"
	svcIMC          = "imc-dispatcher"
	svcActivator    = "activator-service"
	podHeartbeats   = "heartbeats-deployment-6c9d7f7b8-q4w2z"
	podCoinflip     = "coinflip-00001-deployment-5d9c7b8f4-x2x7k"
	podEventDisplay = "event-display-00001-deployment-7b4c9d6f5-m8p2t"
)

// clusterIPs are the local endpoints' IPv4s: the Service ClusterIP, as
// OpenCensus's Zipkin exporter reports it, or the pod IP.
var clusterIPs = map[string]string{
	svcIngress:      "10.96.12.7",
	svcFilter:       "10.96.12.9",
	svcIMC:          "10.96.40.3",
	svcActivator:    "10.96.0.51",
	podHeartbeats:   "10.244.1.17",
	podCoinflip:     "10.244.2.23",
	podEventDisplay: "10.244.1.31",
}

// zipkinTrace builds one trace as Knative's OpenCensus Zipkin exporter
// sends it, recording beside each span what the distribution must deliver.
type zipkinTrace struct {
	ID    model.TraceID
	base  time.Time
	spans []model.SpanModel
	want  []wantSpan
}

func newZipkinTrace(base time.Time) *zipkinTrace {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &zipkinTrace{
		ID:   model.TraceID{High: binary.BigEndian.Uint64(b[:8]), Low: binary.BigEndian.Uint64(b[8:])},
		base: base,
	}
}

// zspan is one span to send. OpenCensus only ever sets CLIENT or SERVER;
// kind "" is the kindless span of every other kind.
type zspan struct {
	svc     string
	parent  model.ID // 0 for the root
	name    string
	kind    model.Kind
	at, dur time.Duration // from the trace's base time
	tags    map[string]string
	// promised are the attributes the filters add or change.
	promised map[string]any
	// internal: knative-hops fills the missing kind with INTERNAL.
	internal bool
	absent   []string
}

func (z *zipkinTrace) add(s zspan) model.ID {
	id := model.ID(randomUint64())
	sc := model.SpanContext{TraceID: z.ID, ID: id}
	if s.parent != 0 {
		p := s.parent
		sc.ParentID = &p
	}
	ip := net.ParseIP(clusterIPs[s.svc])
	if ip == nil {
		panic("no IP for " + s.svc)
	}
	z.spans = append(z.spans, model.SpanModel{
		SpanContext:   sc,
		Name:          s.name,
		Kind:          s.kind,
		Timestamp:     z.base.Add(s.at),
		Duration:      s.dur,
		LocalEndpoint: &model.Endpoint{ServiceName: s.svc, IPv4: ip},
		Tags:          s.tags,
	})

	attrs := map[string]any{}
	for k, v := range s.tags {
		attrs[k] = v // every Zipkin tag is a string, and stays one
	}
	maps.Copy(attrs, s.promised)
	kind := map[model.Kind]ptrace.SpanKind{
		model.Client:       ptrace.SpanKindClient,
		model.Server:       ptrace.SpanKindServer,
		model.Undetermined: ptrace.SpanKindUnspecified,
	}[s.kind]
	if s.internal {
		kind = ptrace.SpanKindInternal
	}
	service, resource := serviceAfterFilters(s.svc)
	w := wantSpan{
		TraceID:    zipkinTraceID(z.ID),
		SpanID:     zipkinSpanID(id),
		Name:       s.name,
		Service:    service,
		Kind:       kind,
		Attrs:      attrs,
		Absent:     s.absent,
		Resource:   resource,
		TraceState: kept100,
	}
	if s.parent != 0 {
		w.Parent = zipkinSpanID(s.parent)
	}
	z.want = append(z.want, w)
	return id
}

func randomUint64() uint64 {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

func zipkinTraceID(id model.TraceID) pcommon.TraceID {
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[:8], id.High)
	binary.BigEndian.PutUint64(t[8:], id.Low)
	return t
}

func zipkinSpanID(id model.ID) pcommon.SpanID {
	var s pcommon.SpanID
	binary.BigEndian.PutUint64(s[:], uint64(id))
	return s
}

// httpTags are OpenCensus ochttp's tags; http.url holds the path only, and
// the status code is a string like every Zipkin tag.
func httpTags(host, path, status string) map[string]string {
	return map[string]string{
		"http.host":                     host,
		"http.method":                   "POST",
		"http.path":                     path,
		"http.url":                      path,
		"http.user_agent":               "Go-http-client/1.1",
		"http.status_code":              status,
		"opencensus.status_description": "OK",
	}
}

// cloudEvent is the event a hop carries.
type cloudEvent struct{ id, typ, source string }

// ceTags are Knative's messaging and CloudEvents tags
// (pkg/tracing/attributes.go).
func ceTags(ev cloudEvent, destination string) map[string]string {
	return map[string]string{
		"messaging.system":            "knative",
		"messaging.protocol":          "HTTP",
		"messaging.destination":       destination,
		"messaging.message_id":        ev.id,
		"cloudevents.specversion":     "1.0",
		"cloudevents.id":              ev.id,
		"cloudevents.type":            ev.typ,
		"cloudevents.source":          ev.source,
		"cloudevents.datacontenttype": "application/json",
	}
}

const (
	ms              = time.Millisecond
	ingressHost     = "broker-ingress.knative-eventing.svc.cluster.local"
	filterHost      = "broker-filter.knative-eventing.svc.cluster.local"
	channelHost     = "default-kne-trigger-kn-channel.default.svc.cluster.local"
	ingressURL      = "http://" + ingressHost + "/default/default"
	coinflipTrigger = "heartbeat-to-coinflip"
	displayTrigger  = "heartbeat-to-eventdisplay"
	coinflipUID     = "9f3c1a52-7d0e-4b1a-a6c2-3e5d8f9b0c41"
	displayUID      = "1b7e4d20-58c3-4f6e-9d1a-0c2b3a4e5f60"
)

func triggerPath(trigger, uid string) string {
	return "/triggers/default/" + trigger + "/" + uid
}

// knativeOpenCensusTrace is spans.md's OpenCensus-era broker hop
// ("What a broker hop looks like"): the heartbeats sample sends an event
// to the default broker; trigger heartbeat-to-coinflip delivers it through
// the activator (a cold start: throttler_try waits 2.5 s) to coinflip's
// queue-proxy; coinflip's reply re-enters the broker (the reply hop) and
// trigger heartbeat-to-eventdisplay delivers it to event-display, which is
// warm. It returns the trace and coinflip's queue-proxy CLIENT span, the
// parent of coinflip's own OTLP spans.
func knativeOpenCensusTrace(base time.Time) (*zipkinTrace, model.ID) {
	z := newZipkinTrace(base)
	heartbeat := cloudEvent{
		id:     "7c1c5b2e-4a8f-4f0d-b1d6-2d8e9a6f3c11",
		typ:    "dev.knative.eventing.samples.heartbeat",
		source: "https://knative.dev/eventing-contrib/cmd/heartbeats/#default/" + podHeartbeats,
	}
	flip := cloudEvent{
		id:     heartbeat.id,
		typ:    "coinflip",
		source: "knative.dev/eventing/cmd/coinflip/5a0f6c2d-1e3b-4c7a-8d9e-0f1a2b3c4d5e",
	}
	ingress := map[string]any{"knative.hop": "ingress", "kn.broker.name": "default", "kn.broker.namespace": "default"}
	hop := func(h string) map[string]any { return map[string]any{"knative.hop": h} }
	named := func(h, kind, name, dest string) map[string]any {
		return map[string]any{
			"knative.hop": h, "kn." + kind + ".name": name, "kn." + kind + ".namespace": "default",
			"messaging.destination.name": dest,
		}
	}
	brokerDest := "broker:default.default"

	// heartbeats → broker ingress → channel.
	hb := z.add(zspan{svc: podHeartbeats, name: "cloudevents.client", kind: model.Client, dur: 60 * ms,
		absent: []string{"knative.hop"}})
	hbHTTP := z.add(zspan{svc: podHeartbeats, parent: hb, name: "cloudevents.http./default/default", kind: model.Client, at: 1 * ms, dur: 58 * ms,
		tags: httpTags(ingressHost, "/default/default", "202"), absent: []string{"knative.hop"}})
	ing := z.add(zspan{svc: svcIngress, parent: hbHTTP, name: "/default/default", kind: model.Server, at: 2 * ms, dur: 55 * ms,
		tags: httpTags(ingressHost, "/default/default", "202"), promised: ingress})
	broker := z.add(zspan{svc: svcIngress, parent: ing, name: brokerDest, at: 3 * ms, dur: 50 * ms,
		tags: ceTags(heartbeat, brokerDest), promised: named("ingress", "broker", "default", brokerDest), internal: true})
	toChannel := z.add(zspan{svc: svcIngress, parent: broker, name: "/", kind: model.Client, at: 4 * ms, dur: 45 * ms,
		tags: httpTags(channelHost, "/", "202"), promised: hop("ingress"), absent: []string{"kn.broker.name"}})
	channel := z.add(zspan{svc: svcIMC, parent: toChannel, name: "/", kind: model.Server, at: 5 * ms, dur: 40 * ms,
		tags: httpTags(channelHost, "/", "202"), promised: hop("dispatch")})

	// channel → trigger heartbeat-to-coinflip → activator (cold) → coinflip.
	toCoinflipURL := "http://" + filterHost + triggerPath(coinflipTrigger, coinflipUID)
	dispatch := z.add(zspan{svc: svcIMC, parent: channel, name: "knative.dev", kind: model.Client, at: 6 * ms, dur: 2700 * ms,
		tags:     ceTags(heartbeat, toCoinflipURL),
		promised: map[string]any{"knative.hop": "dispatch", "messaging.destination.name": toCoinflipURL}})
	fsrv := z.add(zspan{svc: svcFilter, parent: dispatch, name: triggerPath(coinflipTrigger, coinflipUID), kind: model.Server, at: 8 * ms, dur: 2690 * ms,
		tags:     httpTags(filterHost, triggerPath(coinflipTrigger, coinflipUID), "200"),
		promised: map[string]any{"knative.hop": "filter", "kn.trigger.name": coinflipTrigger, "kn.trigger.namespace": "default"}})
	trigDest := "trigger:" + coinflipTrigger + ".default"
	trig := z.add(zspan{svc: svcFilter, parent: fsrv, name: trigDest, at: 9 * ms, dur: 2685 * ms,
		tags: ceTags(heartbeat, trigDest), promised: named("filter", "trigger", coinflipTrigger, trigDest), internal: true})
	act := z.add(zspan{svc: svcActivator, parent: trig, name: "/", kind: model.Server, at: 10 * ms, dur: 2680 * ms,
		tags: httpTags("coinflip.default.svc.cluster.local", "/", "200"), promised: hop("activator")})
	z.add(zspan{svc: svcActivator, parent: act, name: "throttler_try", at: 11 * ms, dur: 2500 * ms,
		promised: map[string]any{"knative.hop": "activator", "knative.cold_start": true}, internal: true})
	proxy := z.add(zspan{svc: svcActivator, parent: act, name: "activator_proxy", at: 2512 * ms, dur: 170 * ms,
		promised: hop("activator"), internal: true})
	actOut := z.add(zspan{svc: svcActivator, parent: proxy, name: "/", kind: model.Client, at: 2513 * ms, dur: 165 * ms,
		tags: httpTags("10.244.2.23:8012", "/", "200"), promised: hop("activator")})
	qp := z.add(zspan{svc: podCoinflip, parent: actOut, name: "/", kind: model.Server, at: 2514 * ms, dur: 160 * ms,
		tags: httpTags("coinflip.default.svc.cluster.local", "/", "200"), promised: hop("queue")})
	qpProxy := z.add(zspan{svc: podCoinflip, parent: qp, name: "queue_proxy", at: 2515 * ms, dur: 155 * ms,
		promised: hop("queue"), internal: true})
	qpOut := z.add(zspan{svc: podCoinflip, parent: qpProxy, name: "/", kind: model.Client, at: 2516 * ms, dur: 150 * ms,
		tags: httpTags("127.0.0.1:8080", "/", "200"), promised: hop("queue")})

	// coinflip's reply: the channel delivers it back to the broker ingress.
	reply := z.add(zspan{svc: svcIMC, parent: channel, name: "knative.dev", kind: model.Client, at: 2710 * ms, dur: 60 * ms,
		tags:     ceTags(flip, ingressURL),
		promised: map[string]any{"knative.hop": "reply", "messaging.destination.name": ingressURL}})
	ing2 := z.add(zspan{svc: svcIngress, parent: reply, name: "/default/default", kind: model.Server, at: 2712 * ms, dur: 55 * ms,
		tags: httpTags(ingressHost, "/default/default", "202"), promised: ingress})
	broker2 := z.add(zspan{svc: svcIngress, parent: ing2, name: brokerDest, at: 2713 * ms, dur: 50 * ms,
		tags: ceTags(flip, brokerDest), promised: named("ingress", "broker", "default", brokerDest), internal: true})
	toChannel2 := z.add(zspan{svc: svcIngress, parent: broker2, name: "/", kind: model.Client, at: 2714 * ms, dur: 45 * ms,
		tags: httpTags(channelHost, "/", "202"), promised: hop("ingress")})
	channel2 := z.add(zspan{svc: svcIMC, parent: toChannel2, name: "/", kind: model.Server, at: 2715 * ms, dur: 40 * ms,
		tags: httpTags(channelHost, "/", "202"), promised: hop("dispatch")})

	// channel → trigger heartbeat-to-eventdisplay (flip=heads) → event-display, warm.
	toDisplayURL := "http://" + filterHost + triggerPath(displayTrigger, displayUID)
	dispatch2 := z.add(zspan{svc: svcIMC, parent: channel2, name: "knative.dev", kind: model.Client, at: 2716 * ms, dur: 30 * ms,
		tags:     ceTags(flip, toDisplayURL),
		promised: map[string]any{"knative.hop": "dispatch", "messaging.destination.name": toDisplayURL}})
	fsrv2 := z.add(zspan{svc: svcFilter, parent: dispatch2, name: triggerPath(displayTrigger, displayUID), kind: model.Server, at: 2717 * ms, dur: 28 * ms,
		tags:     httpTags(filterHost, triggerPath(displayTrigger, displayUID), "202"),
		promised: map[string]any{"knative.hop": "filter", "kn.trigger.name": displayTrigger, "kn.trigger.namespace": "default"}})
	trigDest2 := "trigger:" + displayTrigger + ".default"
	trig2 := z.add(zspan{svc: svcFilter, parent: fsrv2, name: trigDest2, at: 2718 * ms, dur: 26 * ms,
		tags: ceTags(flip, trigDest2), promised: named("filter", "trigger", displayTrigger, trigDest2), internal: true})
	act2 := z.add(zspan{svc: svcActivator, parent: trig2, name: "/", kind: model.Server, at: 2719 * ms, dur: 24 * ms,
		tags: httpTags("event-display.default.svc.cluster.local", "/", "202"), promised: hop("activator")})
	z.add(zspan{svc: svcActivator, parent: act2, name: "throttler_try", at: 2720 * ms, dur: 3 * ms,
		promised: hop("activator"), internal: true, absent: []string{"knative.cold_start"}})
	proxy2 := z.add(zspan{svc: svcActivator, parent: act2, name: "activator_proxy", at: 2723 * ms, dur: 19 * ms,
		promised: hop("activator"), internal: true})
	actOut2 := z.add(zspan{svc: svcActivator, parent: proxy2, name: "/", kind: model.Client, at: 2724 * ms, dur: 17 * ms,
		tags: httpTags("10.244.1.31:8012", "/", "202"), promised: hop("activator")})
	ed := z.add(zspan{svc: podEventDisplay, parent: actOut2, name: "/", kind: model.Server, at: 2725 * ms, dur: 15 * ms,
		tags: httpTags("event-display.default.svc.cluster.local", "/", "202"), promised: hop("queue")})
	edProxy := z.add(zspan{svc: podEventDisplay, parent: ed, name: "queue_proxy", at: 2726 * ms, dur: 13 * ms,
		promised: hop("queue"), internal: true})
	z.add(zspan{svc: podEventDisplay, parent: edProxy, name: "/", kind: model.Client, at: 2727 * ms, dur: 11 * ms,
		tags: httpTags("127.0.0.1:8080", "/", "202"), promised: hop("queue")})
	return z, qpOut
}

// sendZipkin posts the spans as Knative's pods do: each service with its
// own zipkin-go HTTP reporter, which sends Zipkin v2 JSON. zipkin-go only
// logs a refused batch, so every response is recorded and must be 2xx.
func sendZipkin(t *testing.T, addr string, spans []model.SpanModel) {
	t.Helper()
	bySvc := map[string][]model.SpanModel{}
	var order []string
	for _, s := range spans {
		svc := s.LocalEndpoint.ServiceName
		if _, ok := bySvc[svc]; !ok {
			order = append(order, svc)
		}
		bySvc[svc] = append(bySvc[svc], s)
	}
	doer := &recordingDoer{client: &http.Client{Timeout: 10 * time.Second}}
	url := "http://" + addr + "/api/v2/spans"
	for _, svc := range order {
		// Batch everything a pod has into one request, sent on Close.
		rep := zipkinhttp.NewReporter(url, zipkinhttp.Client(doer),
			zipkinhttp.BatchSize(1000), zipkinhttp.BatchInterval(time.Hour))
		for _, s := range bySvc[svc] {
			rep.Send(s)
		}
		if err := rep.Close(); err != nil {
			t.Fatalf("zipkin-go reporter for %s: %v", svc, err)
		}
	}
	if errs := doer.failures(); len(errs) > 0 || doer.count() != len(order) {
		t.Fatalf("zipkin-go made %d requests for %d services, failures: %v", doer.count(), len(order), errs)
	}
}

// recordingDoer is the reporter's HTTP client, recording every answer.
type recordingDoer struct {
	client *http.Client
	mu     sync.Mutex
	n      int
	errs   []string
}

func (d *recordingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	switch {
	case err != nil:
		d.errs = append(d.errs, err.Error())
	case resp.StatusCode/100 != 2:
		d.errs = append(d.errs, fmt.Sprintf("POST %s: %s", req.URL, resp.Status))
	}
	return resp, err
}

func (d *recordingDoer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

func (d *recordingDoer) failures() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.errs...)
}

// TestKnativeOpenCensusZipkin sends spans.md's OpenCensus-era broker hop,
// reply hop included, as Zipkin v2 JSON with zipkin-go's reporter to the
// shipped config (with the shipped OTLP export overlay), and checks every
// span the test's OTLP receiver gets: the knative-hops vocabulary
// (knative.hop, kn.broker.*, kn.trigger.*, messaging.destination.name,
// INTERNAL for kindless spans, the reply marked), the activator's cold
// start, service names derived from pod names, and the sampler's
// tracestate, with every original tag still there.
func TestKnativeOpenCensusZipkin(t *testing.T) {
	sink := startOTLPSink(t)
	cfg := shippedConfig(t, nil, "export-otlp.yaml")
	col := startCollector(t, cfg.HealthAddr,
		[]string{"WASMCOL_OTLP_ENDPOINT=" + sink.Addr, "WASMCOL_OTLP_INSECURE=true"}, cfg.Files...)

	z, _ := knativeOpenCensusTrace(time.Now().Add(-time.Minute))
	sendZipkin(t, cfg.ZipkinAddr, z.spans)

	awaitSpans(t, sink, z.want, 30*time.Second)
	col.stop()
	// After the shutdown has flushed everything: nothing arrived twice and
	// nothing else arrived in the trace.
	checkSpans(t, sink, z.want)
}

// TestZipkinBodyBounded: the shipped config keeps a Zipkin request to 256
// KiB. Zipkin's translator compares each of a span's tags with those added
// before it, so one span of tiny tags costs the square of their count: a
// 512 KiB request took 7.6 s of CPU, the receiver's own 20 MiB limit hours.
func TestZipkinBodyBounded(t *testing.T) {
	cfg := shippedConfig(t, nil)
	startCollector(t, cfg.HealthAddr, nil, cfg.Files...)
	url := "http://" + cfg.ZipkinAddr + "/api/v2/spans"
	post := func(body string) int {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	span := func(tagBytes int) string {
		var b strings.Builder
		b.WriteString(`[{"traceId":"0102030405060708090a0b0c0d0e0f10","id":"0102030405060708","name":"x","tags":{`)
		for i := 0; b.Len() < tagBytes; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%x":""`, i)
		}
		b.WriteString(`}}]`)
		return b.String()
	}
	// The receiver reads at most the limit and then fails to parse what
	// it read: 400, not 413, but refused before any tag is added.
	if code := post(span(300 << 10)); code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 300 KiB request: %d, want it refused", code)
	}
	if code := post(span(1 << 10)); code != http.StatusAccepted {
		t.Errorf("a small request: %d, want 202", code)
	}
}
