// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/examples/internal/spancheck"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

// rulesConfig keeps 10% of heartbeat traces and of the Kedify demo app's,
// half of coinflip's replies (which only wins with rule_scope span: in a
// trace, the heartbeat rule comes first) and everything else.
const rulesConfig = `{
  "rule_attribute": "sampling.rule",
  "rules": [
    {"name": "heartbeats", "attribute": "cloudevents.type", "equals": "dev.knative.eventing.samples.heartbeat", "percentage": 10},
    {"name": "replies", "attribute": "cloudevents.type", "prefix": "coinf", "percentage": 50},
    {"name": "demo-app", "service": "http-call", "percentage": 10},
    {"name": "everything-else", "percentage": 100}
  ]}`

var spanScopeConfig = strings.Replace(rulesConfig, `"rule_attribute"`, `"rule_scope": "span", "rule_attribute"`, 1)

// tracestateConfig is the probabilistic sampler's proportional mode at 10%.
const tracestateConfig = `{"rules": [{"name": "all", "percentage": 10}]}`

var cases = []struct {
	name, config string
	rules        func() []spancheck.Rule
}{
	{"rules", rulesConfig, traceScopeRules},
	{"rules-span-scope", spanScopeConfig, spanScopeRules},
	{"tracestate", tracestateConfig, nil},
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sdktest.Golden(t, &filter{}, c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestPromises checks, span by span, which spans are kept, their
// tracestate and sampling.rule, and that nothing else changed.
func TestPromises(t *testing.T) {
	for _, c := range cases {
		if c.rules == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			in, out := run(t, c.config, filepath.Join("testdata", c.name, "input.json"))
			spancheck.Check(t, in, out, c.rules())
		})
	}
}

// TestTraceStateCaseMatchesContrib: the tracestate corner cases come out
// exactly as the probabilistic sampler leaves them.
func TestTraceStateCaseMatchesContrib(t *testing.T) {
	in, out := run(t, tracestateConfig, filepath.Join("testdata", "tracestate", "input.json"))
	want := contribSample(t, in, 10, 4, true)
	if err := ptracetest.CompareTraces(want, out); err != nil {
		t.Fatal(err)
	}
	if out.SpanCount() == 0 || out.SpanCount() == in.SpanCount() {
		t.Fatalf("%d of %d spans kept: the case should keep some and drop some", out.SpanCount(), in.SpanCount())
	}
}

func run(t *testing.T, config, path string) (in, out ptrace.Traces) {
	t.Helper()
	return spancheck.RunFile(t, &filter{}, config, path)
}

func traceOf(h fixtures.Hop) pcommon.TraceID { return fixtures.TraceID(h.Seed, h.Low56) }
func kedaTrace(k fixtures.KEDA) pcommon.TraceID {
	return fixtures.TraceID(k.Seed, k.Low56)
}

// The spans SamplerMix makes fail, and the cold-start marks.
func ocFailed(svc string, s ptrace.Span) bool {
	return (svc == "broker-filter.knative-eventing" && s.Kind() == ptrace.SpanKindServer) ||
		(svc == "activator-service" && s.Name() == "activator_proxy")
}

func otelFailed(svc string, s ptrace.Span) bool {
	return (svc == "broker.filter" && s.Name() == "POST") || (svc == "activator" && s.Name() == "activator_proxy")
}

func interceptorCold(svc string, s ptrace.Span) bool {
	return svc == fixtures.InterceptorService && s.Kind() == ptrace.SpanKindServer
}

func throttler(_ string, s ptrace.Span) bool { return s.Name() == "throttler_try" }

func not(f func(string, ptrace.Span) bool) func(string, ptrace.Span) bool {
	return func(svc string, s ptrace.Span) bool { return !f(svc, s) }
}

func ruleSet(name string) map[string]any { return map[string]any{"sampling.rule": name} }

// At 10% and the default precision the threshold is e666: the kept traces'
// randomness starts with f0, the dropped ones' with 10.
const th10 = "ot=th:e666"

// traceScopeRules: each trace takes the first rule any of its spans
// matches, so a heartbeat run is decided at 10% as a whole, and the KEDA
// requests (through http-call) at 10%.
func traceScopeRules() []spancheck.Rule {
	kept := func(id pcommon.TraceID, rule string) spancheck.Rule {
		return spancheck.Rule{TraceID: id, Change: spancheck.Change{Set: ruleSet(rule), TraceState: spancheck.S(th10)}}
	}
	dropped := func(id pcommon.TraceID, except func(string, ptrace.Span) bool) spancheck.Rule {
		return spancheck.Rule{TraceID: id, Match: not(except), Change: spancheck.Change{Dropped: true}}
	}
	always := func(id pcommon.TraceID, f func(string, ptrace.Span) bool, n int) spancheck.Rule {
		// Kept only for what they are: no threshold was there to keep.
		return spancheck.Rule{TraceID: id, Match: f, Count: n, Change: spancheck.Change{Set: ruleSet("always_keep")}}
	}
	return []spancheck.Rule{
		kept(traceOf(fixtures.SamplerOCKept), "heartbeats"),
		kept(traceOf(fixtures.SamplerOTelKept), "heartbeats"),

		dropped(traceOf(fixtures.SamplerOCDropped), ocFailed),
		// Two broker-filter server spans with "503", activator_proxy with error=UNKNOWN.
		always(traceOf(fixtures.SamplerOCDropped), ocFailed, 3),

		dropped(traceOf(fixtures.SamplerOTelDropped), otelFailed),
		// The filter's two outer server spans with 500, activator_proxy with ERROR.
		always(traceOf(fixtures.SamplerOTelDropped), otelFailed, 3),

		dropped(kedaTrace(fixtures.SamplerKEDACold), interceptorCold),
		always(kedaTrace(fixtures.SamplerKEDACold), interceptorCold, 1),
		dropped(kedaTrace(fixtures.SamplerKEDAWarm), func(string, ptrace.Span) bool { return false }),

		dropped(traceOf(fixtures.SamplerOCCold), throttler),
		always(traceOf(fixtures.SamplerOCCold), throttler, 1),
	}
}

func ceType(s ptrace.Span) string {
	v, _ := s.Attributes().Get("cloudevents.type")
	return v.Str()
}

// spanScopeRules: each span takes its own first rule, so a trace splits:
// heartbeat-typed spans at 10%, coinflip-typed ones at 50%, http-call's at
// 10% and the rest at 100% (th:0).
func spanScopeRules() []spancheck.Rule {
	heartbeat := func(_ string, s ptrace.Span) bool { return ceType(s) == fixtures.HeartbeatType }
	reply := func(_ string, s ptrace.Span) bool { return ceType(s) == "coinflip" }
	app := func(svc string, _ ptrace.Span) bool { return svc == fixtures.HTTPCallService }
	rest := func(svc string, s ptrace.Span) bool { return !heartbeat(svc, s) && !reply(svc, s) && !app(svc, s) }

	var rules []spancheck.Rule
	for _, h := range []fixtures.Hop{fixtures.SamplerOCKept, fixtures.SamplerOTelKept} {
		rules = append(rules,
			spancheck.Rule{TraceID: traceOf(h), Match: heartbeat, Change: spancheck.Change{Set: ruleSet("heartbeats"), TraceState: spancheck.S(th10)}},
			spancheck.Rule{TraceID: traceOf(h), Match: reply, Change: spancheck.Change{Set: ruleSet("replies"), TraceState: spancheck.S("ot=th:8")}},
			spancheck.Rule{TraceID: traceOf(h), Match: rest, Change: spancheck.Change{Set: ruleSet("everything-else"), TraceState: spancheck.S("ot=th:0")}},
		)
	}
	// In the other traces (randomness 10…), the 10% and 50% spans go,
	// failed and cold spans among the rest are kept at 100% anyway.
	for _, id := range []pcommon.TraceID{
		traceOf(fixtures.SamplerOCDropped), traceOf(fixtures.SamplerOTelDropped), traceOf(fixtures.SamplerOCCold),
		kedaTrace(fixtures.SamplerKEDACold), kedaTrace(fixtures.SamplerKEDAWarm),
	} {
		rules = append(rules,
			spancheck.Rule{TraceID: id, Match: not(rest), Change: spancheck.Change{Dropped: true}},
			spancheck.Rule{TraceID: id, Match: rest, Change: spancheck.Change{Set: ruleSet("everything-else"), TraceState: spancheck.S("ot=th:0")}},
		)
	}
	return rules
}

func TestConfigErrors(t *testing.T) {
	for config, want := range map[string]string{
		`{}`:                            "at least one rule",
		`{"rules":[{"percentage":10}]}`: "name is required",
		`{"rules":[{"name":"a"}]}`:      "percentage is required",
		`{"rules":[{"name":"a","percentage":-1}]}`:                                          "invalid",
		`{"rules":[{"name":"a","percentage":1e-20}]}`:                                       "too small",
		`{"rules":[{"name":"a","percentage":1},{"name":"a","percentage":2}]}`:               "used twice",
		`{"rules":[{"name":"always_keep","percentage":1}]}`:                                 "reserved",
		`{"rules":[{"name":"a","percentage":1,"equals":"x"}]}`:                              "need attribute",
		`{"rules":[{"name":"a","percentage":1,"attribute":"k","equals":"x","prefix":"y"}]}`: "exclude",
		`{"rule_scope":"batch","rules":[{"name":"a","percentage":1}]}`:                      "rule_scope",
		`{"sampling_precision":15,"rules":[{"name":"a","percentage":1}]}`:                   "sampling_precision",
		`{"rules":[{"name":"a","percentage":1,"servce":"x"}]}`:                              "unknown field",
	} {
		if _, err := sdktest.New(&filter{}, config); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one mentioning %q", config, err, want)
		}
	}
}

// keptIDs runs config over td, one batch at a time, each through a new
// filter as on another replica, and returns the kept span IDs with their
// tracestates.
func keptIDs(t *testing.T, config string, batches []ptrace.Traces) map[pcommon.SpanID]string {
	t.Helper()
	kept := map[pcommon.SpanID]string{}
	for _, b := range batches {
		raw := jsonOf(t, b)
		got, err := sdktest.Run(&filter{}, abi.SignalTraces, config, raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(got)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range out.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					kept[s.SpanID()] = s.TraceState().AsRaw()
				}
			}
		}
	}
	return kept
}

// singletons splits td into one batch per span.
func singletons(td ptrace.Traces) []ptrace.Traces {
	var out []ptrace.Traces
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				b := ptrace.NewTraces()
				nrs := b.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(nrs.Resource())
				nss := nrs.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(nss.Scope())
				s.CopyTo(nss.Spans().AppendEmpty())
				out = append(out, b)
			}
		}
	}
	return out
}

// TestSameDecisionAcrossBatches: with rules every span of a trace matches
// alike, where a span arrives, and on which replica, does not change its
// decision or its tracestate.
func TestSameDecisionAcrossBatches(t *testing.T) {
	td := fixtures.SamplerMix()
	for _, config := range []string{tracestateConfig, `{"rules":[{"name":"all","percentage":33}]}`} {
		whole := keptIDs(t, config, []ptrace.Traces{td})
		split := keptIDs(t, config, singletons(td))
		if len(whole) == 0 || len(whole) == td.SpanCount() {
			t.Fatalf("%s keeps %d of %d spans: nothing to compare", config, len(whole), td.SpanCount())
		}
		if len(split) != len(whole) {
			t.Errorf("%s: %d spans kept in one batch, %d one span per batch", config, len(whole), len(split))
		}
		for id, ts := range whole {
			if split[id] != ts {
				t.Errorf("%s: span %s: tracestate %q in one batch, %q alone", config, id, ts, split[id])
			}
		}
	}
}

// TestSplitTraceOnlyKeepsMore is the documented caveat: with rule_scope
// trace, a span that arrives without the spans its trace's rule matched
// falls to a later rule. As long as later rules keep at least as much,
// consistent sampling guarantees that every span kept with its whole trace
// in the batch is still kept: the split only adds spans.
func TestSplitTraceOnlyKeepsMore(t *testing.T) {
	td := fixtures.SamplerMix()
	whole := keptIDs(t, rulesConfig, []ptrace.Traces{td})
	split := keptIDs(t, rulesConfig, singletons(td))
	for id := range whole {
		if _, ok := split[id]; !ok {
			t.Errorf("span %s kept with its trace, dropped alone", id)
		}
	}
	if len(split) <= len(whole) {
		t.Errorf("alone, %d spans kept; with their traces, %d: the fixture should show the caveat", len(split), len(whole))
	}
}

// TestAlwaysKeep covers every way a span asks to be kept, and look-alikes
// that must not, in a trace that 10% drops.
func TestAlwaysKeep(t *testing.T) {
	type attr struct {
		k string
		v any
	}
	cases := []struct {
		keep   bool
		status ptrace.StatusCode
		attrs  []attr
	}{
		{false, ptrace.StatusCodeUnset, nil},
		{false, ptrace.StatusCodeOk, nil},
		{true, ptrace.StatusCodeError, nil},
		{true, 0, []attr{{"error", "UNKNOWN"}}},
		{true, 0, []attr{{"error", "true"}}},
		{true, 0, []attr{{"error", true}}},
		{false, 0, []attr{{"error", false}}},
		{false, 0, []attr{{"error", "false"}}},
		{true, 0, []attr{{"http.status_code", "503"}}},
		{true, 0, []attr{{"http.status_code", int64(500)}}},
		{true, 0, []attr{{"http.status_code", 599.0}}},
		{false, 0, []attr{{"http.status_code", "404"}}},
		{false, 0, []attr{{"http.status_code", int64(600)}}},
		{false, 0, []attr{{"http.status_code", "5xx"}}},
		{false, 0, []attr{{"http.status_code", "5000"}}},
		{true, 0, []attr{{"http.response.status_code", int64(502)}}},
		{true, 0, []attr{{"http.response.status_code", "504"}}},
		{false, 0, []attr{{"http.response.status_code", int64(499)}}},
		{true, 0, []attr{{"kedify.cold_start", true}}},
		{true, 0, []attr{{"kedify.cold_start", "true"}}},
		{false, 0, []attr{{"kedify.cold_start", false}}},
		{true, 0, []attr{{"knative.cold_start", true}}},
		{false, 0, []attr{{"knative.cold_start", "no"}}},
		// sampling.priority 0 is the application saying no: it wins.
		{false, ptrace.StatusCodeError, []attr{{"sampling.priority", int64(0)}}},
		{true, 0, []attr{{"sampling.priority", int64(1)}}},
	}
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	id := fixtures.TraceID("always", fixtures.Drop10)
	for i, c := range cases {
		s := ss.AppendEmpty()
		s.SetTraceID(id)
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		s.Status().SetCode(c.status)
		for _, a := range c.attrs {
			switch v := a.v.(type) {
			case string:
				s.Attributes().PutStr(a.k, v)
			case int64:
				s.Attributes().PutInt(a.k, v)
			case float64:
				s.Attributes().PutDouble(a.k, v)
			case bool:
				s.Attributes().PutBool(a.k, v)
			}
		}
	}
	kept := keptIDs(t, `{"rules":[{"name":"all","percentage":10}]}`, []ptrace.Traces{td})
	for i, c := range cases {
		ts, ok := kept[pcommon.SpanID{byte(i + 1)}]
		if ok != c.keep {
			t.Errorf("case %d (%v %v): kept %v, want %v", i, c.status, c.attrs, ok, c.keep)
		}
		// Forced spans carry no threshold; a priority keep is th:0, as
		// the probabilistic sampler writes it.
		want := ""
		if len(c.attrs) > 0 && c.attrs[0].k == "sampling.priority" {
			want = "ot=th:0"
		}
		if ok && ts != want {
			t.Errorf("case %d: tracestate %q, want %q", i, ts, want)
		}
	}
	none := keptIDs(t, `{"keep_errors":false,"keep_cold_starts":false,"rules":[{"name":"all","percentage":10}]}`, []ptrace.Traces{td})
	if len(none) != 1 { // only the sampling.priority=1 span
		t.Errorf("with keep_errors and keep_cold_starts off, %d spans kept, want 1", len(none))
	}
}
