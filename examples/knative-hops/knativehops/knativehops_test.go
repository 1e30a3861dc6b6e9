// SPDX-License-Identifier: Apache-2.0

package knativehops

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/examples/internal/spancheck"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

// opts mirrors config for building the expectations, so that each case
// states what its config switches on.
type opts struct{ tag, split, replies, copyDest, dropOld, fill bool }

var on = opts{tag: true, split: true, replies: true, copyDest: true, fill: true}

// cases are the golden cases: testdata/<name>/{input,expected}.json.
var cases = []struct {
	name, config string
	rules        func() []spancheck.Rule
}{
	{"opencensus", "", func() []spancheck.Rule { return openCensusRules(on, true) }},
	{"opentelemetry", "", func() []spancheck.Rule { return otelRules(on, "POST", "POST", true) }},
	{"opentelemetry-1.19", "", func() []spancheck.Rule { return otelRules(on, "kncloudevents.receive", "handle", false) }},
	{
		"opencensus-options", `{"drop_old_destination":true,"mark_replies":false,"fill_kind":false}`,
		func() []spancheck.Rule {
			return openCensusRules(opts{tag: true, split: true, copyDest: true, dropOld: true}, true)
		},
	},
	{
		"all-off", `{"tag_hops":false,"split_names":false,"mark_replies":false,"copy_destination":false,"fill_kind":false}`,
		func() []spancheck.Rule { return nil },
	},
	// KEDA, Kedify Proxy and the demo apps: nothing of Knative's.
	{"not-knative", "", func() []spancheck.Rule { return nil }},
	// The same in the interceptor's shapes of each add-on release.
	{"not-knative-keda-releases", "", func() []spancheck.Rule { return nil }},
	// Each Knative release line of the OpenTelemetry era.
	{"knative-1.19.0", "", func() []spancheck.Rule { return releaseRules(fixtures.Knative1_19_0) }},
	{"knative-1.19.3", "", func() []spancheck.Rule { return releaseRules(fixtures.Knative1_19_3) }},
	{"knative-1.20", "", func() []spancheck.Rule { return releaseRules(fixtures.Knative1_20) }},
	{"knative-1.22", "", func() []spancheck.Rule { return releaseRules(fixtures.Knative1_22) }},
	{"knative-1.23", "", func() []spancheck.Rule { return releaseRules(fixtures.Knative1_23) }},
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sdktest.Golden(t, &filter{}, c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestPromises checks every attribute the filter promises, span by span,
// and that nothing else changed. Golden keeps expected.json equal to the
// output; this keeps the output right.
func TestPromises(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, out := run(t, c.config, filepath.Join("testdata", c.name, "input.json"))
			spancheck.Check(t, in, out, c.rules())
		})
	}
}

func run(t *testing.T, config, path string) (in, out ptrace.Traces) {
	t.Helper()
	return spancheck.RunFile(t, &filter{}, config, path)
}

func attrs(o opts, hop string, kv ...any) map[string]any {
	m := map[string]any{}
	if o.tag {
		m["knative.hop"] = hop
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func brokerNames(o opts) []any {
	if !o.split {
		return nil
	}
	return []any{"kn.broker.name", fixtures.Broker, "kn.broker.namespace", fixtures.Namespace}
}

func triggerNames(o opts, trigger string) []any {
	if !o.split {
		return nil
	}
	return []any{"kn.trigger.name", trigger, "kn.trigger.namespace", fixtures.Namespace}
}

// destination is what copy_destination and drop_old_destination make of a
// Zipkin-era messaging.destination.
func destination(o opts, dest string) []any {
	switch {
	case !o.copyDest:
		return nil
	case o.dropOld:
		return []any{"messaging.destination.name", dest, "messaging.destination", spancheck.Absent}
	}
	return []any{"messaging.destination.name", dest}
}

func internal(o opts) *ptrace.SpanKind {
	if o.fill {
		return spancheck.K(ptrace.SpanKindInternal)
	}
	return nil
}

func reply(o opts) string {
	if o.replies {
		return "reply"
	}
	return "dispatch"
}

func cat(parts ...[]any) []any {
	var out []any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	server = spancheck.K(ptrace.SpanKindServer)
	client = spancheck.K(ptrace.SpanKindClient)
)

// openCensusRules are the changes on OpenCensusHop: every Zipkin-era hop of
// the broker picture, with heartbeats' and coinflip's own spans untouched.
func openCensusRules(o opts, heads bool) []spancheck.Rule {
	const (
		ingress   = "broker-ingress.knative-eventing"
		imc       = "imc-dispatcher"
		flt       = "broker-filter.knative-eventing"
		activator = "activator-service"
	)
	toCoinflip := "http://" + fixtures.FilterHost + fixtures.TriggerPath(fixtures.TriggerCoinflip, fixtures.TriggerCoinflipUID)
	toDisplay := "http://" + fixtures.FilterHost + fixtures.TriggerPath(fixtures.TriggerDisplay, fixtures.TriggerDisplayUID)
	toIngress := "http://" + fixtures.IngressHost + fixtures.IngressPath
	trigCoinflip := "trigger:" + fixtures.TriggerCoinflip + "." + fixtures.Namespace
	trigDisplay := "trigger:" + fixtures.TriggerDisplay + "." + fixtures.Namespace
	rules := []spancheck.Rule{
		{Service: ingress, Name: "/default/default", OfKind: server, Count: 2,
			Change: spancheck.Change{Set: attrs(o, "ingress", brokerNames(o)...)}},
		{Service: ingress, Name: fixtures.BrokerSpan, Count: 2,
			Change: spancheck.Change{Set: attrs(o, "ingress", cat(brokerNames(o), destination(o, fixtures.BrokerSpan))...), Kind: internal(o)}},
		{Service: ingress, Name: "/", OfKind: client, Count: 2,
			Change: spancheck.Change{Set: attrs(o, "ingress")}},

		{Service: imc, Name: "/", OfKind: server, Count: 2,
			Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "knative.dev", Where: map[string]any{"messaging.destination": toCoinflip}, Count: 1,
			Change: spancheck.Change{Set: attrs(o, "dispatch", destination(o, toCoinflip)...)}},
		{Service: imc, Name: "knative.dev", Where: map[string]any{"messaging.destination": toIngress}, Count: 1,
			Change: spancheck.Change{Set: attrs(o, reply(o), destination(o, toIngress)...)}},
		{Service: imc, Name: "knative.dev", Where: map[string]any{"messaging.destination": toDisplay}, Count: 1,
			Change: spancheck.Change{Set: attrs(o, "dispatch", destination(o, toDisplay)...)}},

		{Service: flt, Name: fixtures.TriggerPath(fixtures.TriggerCoinflip, fixtures.TriggerCoinflipUID), Count: 1,
			Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerCoinflip)...)}},
		{Service: flt, Name: trigCoinflip, Count: 1,
			Change: spancheck.Change{Set: attrs(o, "filter", cat(triggerNames(o, fixtures.TriggerCoinflip), destination(o, trigCoinflip))...), Kind: internal(o)}},
		{Service: flt, Name: fixtures.TriggerPath(fixtures.TriggerDisplay, fixtures.TriggerDisplayUID), Count: 1,
			Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerDisplay)...)}},

		{Service: activator, Name: "/", OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},
		{Service: activator, Name: "throttler_try", Count: 1, Change: spancheck.Change{Set: attrs(o, "activator"), Kind: internal(o)}},
		{Service: activator, Name: "activator_proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "activator"), Kind: internal(o)}},
		{Service: activator, Name: "/", OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},

		// coinflip's queue-proxy reports under the pod's name.
		{Service: fixtures.CoinflipPod, Name: "/", OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		{Service: fixtures.CoinflipPod, Name: "queue_proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue"), Kind: internal(o)}},
		{Service: fixtures.CoinflipPod, Name: "queue_wait", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue"), Kind: internal(o)}},
		{Service: fixtures.CoinflipPod, Name: "/", OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
	}
	if heads {
		rules = append(rules,
			spancheck.Rule{Service: flt, Name: trigDisplay, Count: 1,
				Change: spancheck.Change{Set: attrs(o, "filter", cat(triggerNames(o, fixtures.TriggerDisplay), destination(o, trigDisplay))...), Kind: internal(o)}},
			spancheck.Rule{Service: fixtures.DisplayPod, Name: "/", OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
			spancheck.Rule{Service: fixtures.DisplayPod, Name: "queue_proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue"), Kind: internal(o)}},
			spancheck.Rule{Service: fixtures.DisplayPod, Name: "/", OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		)
	}
	return rules
}

// otelRules are the changes on OpenTelemetryHop. outer is the outer server
// span's name and activator the activator's server span's name, which
// changed across 1.19–1.22 and later.
func otelRules(o opts, outer, activator string, heads bool) []spancheck.Rule {
	const (
		ingress = "broker.ingress"
		imc     = "inmemorychannel-dispatcher"
		flt     = "broker.filter"
	)
	coinflipPath := fixtures.TriggerPath(fixtures.TriggerCoinflip, fixtures.TriggerCoinflipUID)
	displayPath := fixtures.TriggerPath(fixtures.TriggerDisplay, fixtures.TriggerDisplayUID)
	internalKind := spancheck.K(ptrace.SpanKindInternal)
	passes := 1
	if heads {
		passes = 2
	}
	rules := []spancheck.Rule{
		{Service: ingress, Name: outer, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress")}},
		{Service: ingress, Name: "POST " + fixtures.IngressPath, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress", brokerNames(o)...)}},
		// Already named by Knative 1.19+; the filter writes the same values.
		{Service: ingress, Name: fixtures.BrokerSpan, OfKind: internalKind, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress", brokerNames(o)...)}},
		{Service: ingress, Name: "POST /", OfKind: client, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress")}},

		{Service: imc, Name: "POST", OfKind: server, Count: 2, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "send http://" + fixtures.FilterHost + coinflipPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "POST " + coinflipPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "send http://" + fixtures.IngressHost + fixtures.IngressPath, Count: 1, Change: spancheck.Change{Set: attrs(o, reply(o))}},
		{Service: imc, Name: "POST " + fixtures.IngressPath, OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, reply(o))}},
		{Service: imc, Name: "send http://" + fixtures.FilterHost + displayPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "POST " + displayPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},

		{Service: flt, Name: outer, Count: 2, Change: spancheck.Change{Set: attrs(o, "filter")}},
		{Service: flt, Name: "POST " + coinflipPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerCoinflip)...)}},
		{Service: flt, Name: "trigger:" + fixtures.TriggerCoinflip + "." + fixtures.Namespace, Count: 1,
			Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerCoinflip)...)}},
		{Service: flt, Name: "POST " + displayPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerDisplay)...)}},
		{Service: flt, Name: "POST /", OfKind: client, Count: passes, Change: spancheck.Change{Set: attrs(o, "filter")}},

		{Service: "activator", Name: activator, OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},
		{Service: "activator", Name: "throttler_try", Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},
		{Service: "activator", Name: "activator_proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},
		{Service: "activator", Name: "POST /", OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},

		// The queue-proxy's service.name is the Knative Service's name;
		// its CLIENT span (POST /) carries nothing that tells it from any
		// other client, so it stays as it is.
		{Service: "coinflip", Name: "queue", OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		{Service: "coinflip", Name: "kn.queueproxy.proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		{Service: "coinflip", Name: "kn.queueproxy.wait", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
	}
	if heads {
		rules = append(rules,
			spancheck.Rule{Service: flt, Name: "trigger:" + fixtures.TriggerDisplay + "." + fixtures.Namespace, Count: 1,
				Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerDisplay)...)}},
			spancheck.Rule{Service: "event-display", Name: "queue", OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
			spancheck.Rule{Service: "event-display", Name: "kn.queueproxy.proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		)
	}
	return rules
}

// releaseRules are the changes on the coinflip run of a Knative release
// line (fixtures.ReleaseHop), written from what each release emits rather
// than from the fixture's code: its span and service names, and every span
// of queue-proxy tagged by its resource.
func releaseRules(r fixtures.Release) []spancheck.Rule {
	o := on
	outer, activator, queue, imc := "kncloudevents.receive", "handle", "queue", fixtures.DispatcherDashed
	switch r {
	case fixtures.Knative1_19_0:
		activator = "activate"
	case fixtures.Knative1_23:
		outer, activator, queue = "POST", "POST", "POST"
	}
	if r == fixtures.Knative1_19_0 || r == fixtures.Knative1_19_3 || r == fixtures.Knative1_20 {
		imc = fixtures.DispatcherDotted
	}
	heads := fixtures.ReleaseHop(r).Flip == "heads"
	const (
		ingress = "broker.ingress"
		flt     = "broker.filter"
	)
	coinflipPath := fixtures.TriggerPath(fixtures.TriggerCoinflip, fixtures.TriggerCoinflipUID)
	displayPath := fixtures.TriggerPath(fixtures.TriggerDisplay, fixtures.TriggerDisplayUID)
	passes := 1
	if heads {
		passes = 2
	}
	rules := []spancheck.Rule{
		{Service: ingress, Name: outer, OfKind: server, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress")}},
		{Service: ingress, Name: "POST " + fixtures.IngressPath, OfKind: server, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress", brokerNames(o)...)}},
		// Knative's own kn.broker.* stay as they arrived (see
		// TestKeepsKnativeNames for values the span name would contradict).
		{Service: ingress, Name: fixtures.BrokerSpan, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress")}},
		{Service: ingress, Name: "send http://" + fixtures.ChannelHost, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress")}},
		{Service: ingress, Name: "POST /", OfKind: client, Count: 2, Change: spancheck.Change{Set: attrs(o, "ingress")}},

		{Service: imc, Name: outer, OfKind: server, Count: 2, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "send http://" + fixtures.FilterHost + coinflipPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "POST " + coinflipPath, OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "send http://" + fixtures.IngressHost + fixtures.IngressPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "reply")}},
		{Service: imc, Name: "POST " + fixtures.IngressPath, OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "reply")}},
		{Service: imc, Name: "send http://" + fixtures.FilterHost + displayPath, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},
		{Service: imc, Name: "POST " + displayPath, OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "dispatch")}},

		{Service: flt, Name: outer, OfKind: server, Count: 2, Change: spancheck.Change{Set: attrs(o, "filter")}},
		{Service: flt, Name: "POST " + coinflipPath, OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerCoinflip)...)}},
		{Service: flt, Name: "trigger:" + fixtures.TriggerCoinflip + "." + fixtures.Namespace, Count: 1,
			Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerCoinflip)...)}},
		{Service: flt, Name: "send http://coinflip.default.svc.cluster.local", Count: 1, Change: spancheck.Change{Set: attrs(o, "filter")}},
		{Service: flt, Name: "POST " + displayPath, OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerDisplay)...)}},
		{Service: flt, Name: "POST /", OfKind: client, Count: passes, Change: spancheck.Change{Set: attrs(o, "filter")}},

		{Service: "activator", Name: activator, OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},
		{Service: "activator", Name: "throttler_try", Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},
		{Service: "activator", Name: "activator_proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},
		{Service: "activator", Name: "POST /", OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "activator")}},

		// queue-proxy, under the Knative Service's name: every span,
		// the client to the user container included.
		{Service: "coinflip", Name: queue, OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		{Service: "coinflip", Name: "kn.queueproxy.proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		{Service: "coinflip", Name: "kn.queueproxy.wait", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		{Service: "coinflip", Name: "HTTP POST", OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
	}
	if r == fixtures.Knative1_19_0 {
		rules = append(rules, spancheck.Rule{Service: "coinflip", Name: "kn.queueproxy.probe", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}})
	}
	if heads {
		rules = append(rules,
			spancheck.Rule{Service: flt, Name: "trigger:" + fixtures.TriggerDisplay + "." + fixtures.Namespace, Count: 1,
				Change: spancheck.Change{Set: attrs(o, "filter", triggerNames(o, fixtures.TriggerDisplay)...)}},
			spancheck.Rule{Service: flt, Name: "send http://event-display.default.svc.cluster.local", Count: 1, Change: spancheck.Change{Set: attrs(o, "filter")}},
			spancheck.Rule{Service: "event-display", Name: queue, OfKind: server, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
			spancheck.Rule{Service: "event-display", Name: "kn.queueproxy.proxy", Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
			spancheck.Rule{Service: "event-display", Name: "HTTP POST", OfKind: client, Count: 1, Change: spancheck.Change{Set: attrs(o, "queue")}},
		)
	}
	return rules
}

// synthetic is one span of a hand-made batch: its resource's attributes,
// its own, its name and kind.
type synthetic struct {
	resource map[string]any
	name     string
	kind     ptrace.SpanKind
	attrs    map[string]any
}

func runSynthetic(t *testing.T, config string, spans []synthetic) (in, out ptrace.Traces) {
	t.Helper()
	td := ptrace.NewTraces()
	for i, sp := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		if err := rs.Resource().Attributes().FromRaw(sp.resource); err != nil {
			t.Fatal(err)
		}
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{1})
		s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, byte((i + 1) >> 16), byte((i + 1) >> 8), byte(i + 1)})
		s.SetName(sp.name)
		s.SetKind(sp.kind)
		if err := s.Attributes().FromRaw(sp.attrs); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return spancheck.Run(t, &filter{}, config, raw)
}

// TestKeepsKnativeNames: what Knative 1.19+ sets on a broker: span, and a
// messaging.destination.name that arrived, are never rewritten from the
// span name or the Zipkin-era key, even where those would say otherwise.
func TestKeepsKnativeNames(t *testing.T) {
	ingress := map[string]any{"service.name": "broker.ingress"}
	spans := []synthetic{
		{ingress, "broker:default.default", ptrace.SpanKindInternal,
			map[string]any{"kn.broker.name": "from-knative", "kn.broker.namespace": "ns-knative", "messaging.destination.name": "http://channel"}},
		{ingress, "broker:default.default", ptrace.SpanKindInternal, map[string]any{"case": "none arrived"}},
		{map[string]any{"service.name": "broker-filter.knative-eventing"}, "trigger:t.default", ptrace.SpanKindUnspecified,
			map[string]any{"messaging.destination": "trigger:t.default", "messaging.destination.name": "kept"}},
	}
	for _, c := range []struct {
		name, config string
		trigger      map[string]any
	}{
		{"defaults", "", map[string]any{"knative.hop": "filter", "kn.trigger.name": "t", "kn.trigger.namespace": "default"}},
		{"drop_old_destination", `{"drop_old_destination":true}`, map[string]any{"knative.hop": "filter", "kn.trigger.name": "t", "kn.trigger.namespace": "default",
			"messaging.destination": spancheck.Absent}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, out := runSynthetic(t, c.config, spans)
			spancheck.Check(t, in, out, []spancheck.Rule{
				{Name: "broker:default.default", Where: map[string]any{"kn.broker.name": "from-knative"}, Count: 1,
					Change: spancheck.Change{Set: map[string]any{"knative.hop": "ingress"}}},
				{Name: "broker:default.default", Where: map[string]any{"case": "none arrived"}, Count: 1,
					Change: spancheck.Change{Set: map[string]any{"knative.hop": "ingress", "kn.broker.name": "default", "kn.broker.namespace": "default"}}},
				{Name: "trigger:t.default", Count: 1, Change: spancheck.Change{Set: c.trigger, Kind: spancheck.K(ptrace.SpanKindInternal)}},
			})
		})
	}
}

// TestQueueProxyByResource: an OpenTelemetry-era queue-proxy is known by its
// resource in every release line, whatever its server span is named, and
// nothing else is taken for it.
func TestQueueProxyByResource(t *testing.T) {
	qp := func(extra ...any) map[string]any {
		m := map[string]any{"service.name": "coinflip", "kn.service.name": "coinflip",
			"kn.configuration.name": "coinflip", "kn.revision.name": "coinflip-00001"}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	spans := []synthetic{
		// 1.20 on, 1.19.3–1.19.9, 1.19.0–1.19.2.
		{qp("container.name", "queue-proxy"), "POST", ptrace.SpanKindServer, map[string]any{"case": "1.20"}},
		{qp("container.name", "queue-proxy"), "HTTP POST", ptrace.SpanKindClient, map[string]any{"case": "1.20"}},
		{qp("k8s.container.name", "queue-proxy"), "GET /healthz", ptrace.SpanKindServer, map[string]any{"case": "1.19.3"}},
		{qp(), "HTTP GET", ptrace.SpanKindClient, map[string]any{"case": "1.19.0"}},
		// The user container, even with Knative's names on its resource.
		{qp("container.name", "user-container"), "POST", ptrace.SpanKindServer, map[string]any{"case": "user"}},
		{qp("k8s.container.name", "user-container"), "POST", ptrace.SpanKindServer, map[string]any{"case": "user"}},
		{map[string]any{"service.name": "coinflip"}, "POST", ptrace.SpanKindServer, map[string]any{"case": "user"}},
	}
	in, out := runSynthetic(t, "", spans)
	queue := spancheck.Change{Set: map[string]any{"knative.hop": "queue"}}
	spancheck.Check(t, in, out, []spancheck.Rule{
		{Where: map[string]any{"case": "1.20"}, Count: 2, Change: queue},
		{Where: map[string]any{"case": "1.19.3"}, Count: 1, Change: queue},
		{Where: map[string]any{"case": "1.19.0"}, Count: 1, Change: queue},
	})
}

// TestRepliesByDestination: a dispatcher's knative.dev span is a reply when
// its Zipkin-era destination is the broker ingress, with any scheme or
// none; the host settles the usual forms, the filter reads the rest.
func TestRepliesByDestination(t *testing.T) {
	imc := map[string]any{"service.name": "imc-dispatcher"}
	span := func(dest any) synthetic {
		attrs := map[string]any{"case": fmt.Sprint(dest)}
		if dest != nil {
			attrs["messaging.destination"] = dest
		}
		return synthetic{imc, "knative.dev", ptrace.SpanKindClient, attrs}
	}
	replies := []any{"http://broker-ingress.knative-eventing.svc.cluster.local/default/default",
		"https://broker-ingress.knative-eventing/x", "broker-ingress.knative-eventing", "ftp://broker-ingress.x"}
	dispatches := []any{nil, int64(7), "", "http://broker-filter.knative-eventing/triggers/a/b/c",
		"a/b://broker-ingress.x", "https:/broker-ingress.x", "broker-filter./?u=http://broker-ingress.x"}
	var spans []synthetic
	var rules []spancheck.Rule
	for _, d := range replies {
		spans = append(spans, span(d))
		rules = append(rules, spancheck.Rule{Where: map[string]any{"case": fmt.Sprint(d)}, Count: 1,
			Change: spancheck.Change{Set: map[string]any{"knative.hop": "reply", "messaging.destination.name": d}}})
	}
	for _, d := range dispatches {
		spans = append(spans, span(d))
		set := map[string]any{"knative.hop": "dispatch"}
		if d != nil {
			set["messaging.destination.name"] = d
		}
		rules = append(rules, spancheck.Rule{Where: map[string]any{"case": fmt.Sprint(d)}, Count: 1, Change: spancheck.Change{Set: set}})
	}
	in, out := runSynthetic(t, "", spans)
	spancheck.Check(t, in, out, rules)
}

// TestSplitsManyNames: the filter splits each distinct span name once for
// all its spans, up to 32 names a sort, and the rest span by span; every
// span gets its own name's parts either way, in both eras' forms.
func TestSplitsManyNames(t *testing.T) {
	ingress := map[string]any{"service.name": "broker-ingress.knative-eventing"}
	var spans []synthetic
	var rules []spancheck.Rule
	for i := range 150 {
		name := fmt.Sprintf("broker:b%d.ns%d", i, i%7)
		path := fmt.Sprintf("/ns%d/b%d", i%5, i)
		for range 2 {
			spans = append(spans, synthetic{ingress, name, ptrace.SpanKindInternal, nil},
				synthetic{ingress, path, ptrace.SpanKindServer, nil})
		}
		rules = append(rules,
			spancheck.Rule{Name: name, Count: 2, Change: spancheck.Change{Set: map[string]any{"knative.hop": "ingress",
				"kn.broker.name": fmt.Sprintf("b%d", i), "kn.broker.namespace": fmt.Sprintf("ns%d", i%7)},
				Kind: spancheck.K(ptrace.SpanKindInternal)}},
			spancheck.Rule{Name: path, Count: 2, Change: spancheck.Change{Set: map[string]any{"knative.hop": "ingress",
				"kn.broker.name": fmt.Sprintf("b%d", i), "kn.broker.namespace": fmt.Sprintf("ns%d", i%5)}}})
	}
	in, out := runSynthetic(t, "", spans)
	spancheck.Check(t, in, out, rules)
}

// TestLongNames: a broker: span name longer than the host takes in one
// kernel call (64 KiB), on several spans, is split on each of them.
func TestLongNames(t *testing.T) {
	long := strings.Repeat("b", 70<<10)
	ingress := map[string]any{"service.name": "broker.ingress"}
	var spans []synthetic
	for range 3 {
		spans = append(spans, synthetic{ingress, "broker:" + long + ".ns", ptrace.SpanKindInternal, nil})
	}
	in, out := runSynthetic(t, "", spans)
	spancheck.Check(t, in, out, []spancheck.Rule{{Name: "broker:" + long + ".ns", Count: 3,
		Change: spancheck.Change{Set: map[string]any{"knative.hop": "ingress", "kn.broker.name": long, "kn.broker.namespace": "ns"}}}})
}
