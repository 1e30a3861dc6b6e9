// SPDX-License-Identifier: Apache-2.0

package kedify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/examples/internal/spancheck"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

var server = spancheck.K(ptrace.SpanKindServer)

// kedaRules are the marks on fixtures.KEDATraces.
func kedaRules(wait bool) []spancheck.Rule {
	cold := map[string]any{"kedify.cold_start": true}
	if wait {
		// The fixture's interceptor held the request 4,210 ms.
		cold = map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": int64(4210)}
	}
	return []spancheck.Rule{
		{Service: fixtures.InterceptorService, Name: "GET", OfKind: server, TraceID: fixtures.TraceID("keda-cold", -1), Count: 1,
			Change: spancheck.Change{Set: cold}},
		// Its CLIENT child is in another batch: marked, but no wait.
		{Service: fixtures.InterceptorService, Name: "GET", OfKind: server, TraceID: fixtures.TraceID("keda-cold-split", -1), Count: 1,
			Change: spancheck.Change{Set: map[string]any{"kedify.cold_start": true}}},
		{Service: fixtures.ProxyService, Name: "ingress", Count: 2,
			Change: spancheck.Change{Set: map[string]any{"kedify.proxy": true}}},
	}
}

// throttled marks the activator's throttler_try in the runs whose wait
// exceeds the threshold.
func throttled(seeds ...string) []spancheck.Rule {
	var rules []spancheck.Rule
	for _, seed := range seeds {
		rules = append(rules, spancheck.Rule{Name: "throttler_try", TraceID: fixtures.TraceID(seed, -1), Count: 1,
			Change: spancheck.Change{Set: map[string]any{"knative.cold_start": true}}})
	}
	return rules
}

// kedaReleaseRules are the marks on fixtures.KEDAReleaseTraces, one request
// per add-on release line and case.
func kedaReleaseRules(wait bool) []spancheck.Rule {
	cold := func(ms int64) map[string]any {
		if !wait {
			return map[string]any{"kedify.cold_start": true}
		}
		return map[string]any{"kedify.cold_start": true, "kedify.cold_start.wait_ms": ms}
	}
	interceptor := func(seed, name string, ms int64) spancheck.Rule {
		return spancheck.Rule{Service: fixtures.InterceptorService, Name: name, OfKind: server, TraceID: fixtures.TraceID(seed, -1), Count: 1,
			Change: spancheck.Change{Set: cold(ms)}}
	}
	return []spancheck.Rule{
		// v0.11–v0.13: from an untraced caller the attribute arrives.
		interceptor("keda-0.11-untraced-cold", fixtures.InterceptorService, 3100),
		// From a traced caller it is lost, and a 2.6 s hold says cold;
		// the 0.4 ms hold of keda-0.11-traced-warm says nothing.
		interceptor("keda-0.11-traced-cold", fixtures.InterceptorService, 2600),
		interceptor("keda-0.14-cold", fixtures.InterceptorService, 4210),
		// v0.15 names the span after the method.
		interceptor("keda-0.15-cold", "GET", 1500),
		{Service: fixtures.ProxyService, Name: "ingress", Count: 2,
			Change: spancheck.Change{Set: map[string]any{"kedify.proxy": true}}},
	}
}

var cases = []struct {
	name, config string
	rules        []spancheck.Rule
}{
	{"keda", "", kedaRules(true)},
	{"no-wait", `{"wait_time":false}`, kedaRules(false)},
	// 2.5 s throttler_try: a cold start.
	{"opencensus", "", throttled(fixtures.OpenCensus.Seed)},
	// 5 ms: warm.
	{"opentelemetry", "", nil},
	// 1.2 s: over the 1 s default.
	{"opentelemetry-1.19", "", throttled(fixtures.OTel119Tails.Seed)},
	// With 2 s, only the 2.5 s wait counts.
	{"threshold", `{"cold_start_threshold":"2s"}`, throttled(fixtures.OpenCensus.Seed)},
	{"all-off", `{"interceptor":false,"knative":false,"proxy":false}`, nil},
	{"keda-releases", "", kedaReleaseRules(true)},
	{"keda-releases-no-wait", `{"wait_time":false}`, kedaReleaseRules(false)},
	// Knative 1.23's names: throttler_try is still throttler_try; 3 s.
	{"knative-1.23", "", throttled(fixtures.ReleaseHop(fixtures.Knative1_23).Seed)},
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sdktest.Golden(t, &filter{}, c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestPromises checks every mark on every span that should carry it, with
// its type (bools, an int wait), and that nothing else changed.
func TestPromises(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", c.name, "input.json"))
			if err != nil {
				t.Fatal(err)
			}
			in, out := run(t, c.config, raw)
			spancheck.Check(t, in, out, c.rules)
		})
	}
}

func run(t *testing.T, config string, raw []byte) (in, out ptrace.Traces) {
	t.Helper()
	return spancheck.Run(t, &filter{}, config, raw)
}

// TestThresholdIsExclusive: "longer than the threshold" — exactly the
// threshold is not a cold start.
func TestThresholdIsExclusive(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, d := range []time.Duration{time.Second, time.Second + time.Nanosecond} {
		s := ss.AppendEmpty()
		s.SetName("throttler_try")
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(fixtures.T0))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(fixtures.T0.Add(d)))
	}
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	_, out := run(t, "", raw)
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	if _, ok := spans.At(0).Attributes().Get("knative.cold_start"); ok {
		t.Error("exactly 1s is marked")
	}
	if v, ok := spans.At(1).Attributes().Get("knative.cold_start"); !ok || !v.Bool() {
		t.Error("1s+1ns is not marked")
	}
}

func TestConfigErrors(t *testing.T) {
	for config, want := range map[string]string{
		`{"cold_start_threshold":"soon"}`: "cold_start_threshold",
		`{"cold_start_threshold":"-1s"}`:  "negative",
		`{"threshold":"1s"}`:              "unknown field",
	} {
		if _, err := sdktest.New(&filter{}, config); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one mentioning %q", config, err, want)
		}
	}
}

// TestProxyNeedsComponent: an application span that happens to be named
// ingress is not Kedify Proxy's.
func TestProxyNeedsComponent(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, component := range []string{"proxy", "nginx", ""} {
		s := ss.AppendEmpty()
		s.SetName("ingress")
		s.SetKind(ptrace.SpanKindServer)
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		if component != "" {
			s.Attributes().PutStr("component", component)
		}
	}
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	in, out := run(t, "", raw)
	spancheck.Check(t, in, out, []spancheck.Rule{{Name: "ingress", Where: map[string]any{"component": "proxy"}, Count: 1,
		Change: spancheck.Change{Set: map[string]any{"kedify.proxy": true}}}})
}

// TestInferredColdStartThreshold: when v0.11–v0.13 lost the cold-start
// attribute, only a hold longer than cold_start_threshold counts; with 3 s,
// the 2.6 s request is not marked, while those that kept their attribute
// still are.
func TestInferredColdStartThreshold(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "keda-releases", "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, out := run(t, `{"cold_start_threshold":"3s"}`, raw)
	var rules []spancheck.Rule
	for _, r := range kedaReleaseRules(true) {
		if r.TraceID != fixtures.TraceID("keda-0.11-traced-cold", -1) {
			rules = append(rules, r)
		}
	}
	spancheck.Check(t, in, out, rules)
}
