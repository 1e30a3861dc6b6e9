// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/jaegertest"
)

// wantSpan is one span a test sent and what the distribution must deliver
// for it, after the filters.
type wantSpan struct {
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID
	Parent  pcommon.SpanID // empty for a root
	Name    string
	// Service is the resource's service.name after the filters (coinflip
	// derives it from pod names).
	Service string
	Kind    ptrace.SpanKind
	// Attrs are the span attributes that must be present with exactly this
	// value and type: what the client sent plus what the filters promise.
	// Values are string, bool, int64 or float64.
	Attrs map[string]any
	// Absent are attributes that must not be set, e.g. a filter's mark on a
	// span it must leave alone.
	Absent []string
	// Resource are resource attributes that must be present (strings).
	Resource map[string]string
	// TraceState is the W3C tracestate the sampler leaves on a kept span.
	TraceState string
}

func (w wantSpan) String() string {
	return fmt.Sprintf("%s %q (span %s)", w.Service, w.Name, w.SpanID)
}

// kept100 is the tracestate the sampler writes on a span kept by a rule at
// 100%: threshold 0, as probabilistic_sampler's proportional mode.
const kept100 = "ot=th:0"

// podServices is the coinflip filter's promise for the pod names the tests
// send as service.name (its README's table): the derived service.name; the
// pod name moves to k8s.pod.name.
var podServices = map[string]string{
	"coinflip-00001-deployment-5d9c7b8f4-x2x7k":      "coinflip",
	"event-display-00001-deployment-7b4c9d6f5-m8p2t": "event-display",
	"heartbeats-deployment-6c9d7f7b8-q4w2z":          "heartbeats",
}

// serviceAfterFilters returns the service.name the distribution delivers
// for a sent one, and the resource attributes that go with it.
func serviceAfterFilters(sent string) (string, map[string]string) {
	if svc, ok := podServices[sent]; ok {
		return svc, map[string]string{"k8s.pod.name": sent}
	}
	return sent, map[string]string{}
}

// gotSpan is a span as the test's OTLP receiver got it.
type gotSpan struct {
	resource pcommon.Map
	span     ptrace.Span
}

// spansByID indexes every span the sink received by span ID; a span that
// arrived twice has two entries.
func spansByID(all []ptrace.Traces) map[pcommon.SpanID][]gotSpan {
	got := map[pcommon.SpanID][]gotSpan{}
	for _, td := range all {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					got[s.SpanID()] = append(got[s.SpanID()], gotSpan{resource: rs.Resource().Attributes(), span: s})
				}
			}
		}
	}
	return got
}

// missing lists the wanted spans that have not arrived.
func missing(got map[pcommon.SpanID][]gotSpan, want []wantSpan) []string {
	var m []string
	for _, w := range want {
		if len(got[w.SpanID]) == 0 {
			m = append(m, w.String())
		}
	}
	return m
}

// awaitSpans waits until every wanted span has reached sink, and fails the
// test with the missing ones when timeout passes first.
func awaitSpans(t *testing.T, sink *otlpSink, want []wantSpan, timeout time.Duration) {
	t.Helper()
	var m []string
	err := waitFor(timeout, func() error {
		m = missing(spansByID(sink.AllTraces()), want)
		if len(m) > 0 {
			return fmt.Errorf("%d of %d spans missing", len(m), len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after %v, %v (%d spans received in all):\n  %s", timeout, err, sink.SpanCount(), strings.Join(m, "\n  "))
	}
}

// checkSpans compares everything the sink received with want: every wanted
// span exactly once, with its name, kind, IDs, service, resource and
// attributes, and no other span in the wanted traces. It reports every
// problem, not only the first.
func checkSpans(t *testing.T, sink *otlpSink, want []wantSpan) {
	t.Helper()
	got := spansByID(sink.AllTraces())
	traces := map[pcommon.TraceID]bool{}
	wanted := map[pcommon.SpanID]bool{}
	var problems []string
	for _, w := range want {
		traces[w.TraceID] = true
		wanted[w.SpanID] = true
		gs := got[w.SpanID]
		if len(gs) != 1 {
			problems = append(problems, fmt.Sprintf("%s: arrived %d times, want once", w, len(gs)))
			if len(gs) == 0 {
				continue
			}
		}
		problems = append(problems, checkPdataSpan(w, gs[0])...)
	}
	for id, gs := range got {
		for _, g := range gs {
			if traces[g.span.TraceID()] && !wanted[id] {
				svc, _ := g.resource.Get("service.name")
				problems = append(problems, fmt.Sprintf("unexpected span %q of %s in trace %s", g.span.Name(), svc.AsString(), g.span.TraceID()))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d problems in what the distribution exported:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
}

func checkPdataSpan(w wantSpan, g gotSpan) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, w.String()+": "+fmt.Sprintf(format, args...)) }
	s := g.span
	if s.Name() != w.Name {
		bad("name %q", s.Name())
	}
	if s.TraceID() != w.TraceID {
		bad("trace ID %s, want %s", s.TraceID(), w.TraceID)
	}
	if s.ParentSpanID() != w.Parent {
		bad("parent %s, want %s", s.ParentSpanID(), w.Parent)
	}
	if s.Kind() != w.Kind {
		bad("kind %s, want %s", s.Kind(), w.Kind)
	}
	if ts := s.TraceState().AsRaw(); ts != w.TraceState {
		bad("tracestate %q, want %q", ts, w.TraceState)
	}
	if v, ok := g.resource.Get("service.name"); !ok || v.Str() != w.Service {
		bad("service.name %q, want %q", v.AsString(), w.Service)
	}
	for k, want := range w.Resource {
		if v, ok := g.resource.Get(k); !ok || v.Type() != pcommon.ValueTypeStr || v.Str() != want {
			bad("resource %s = %s, want %q", k, describe(v, ok), want)
		}
	}
	for _, k := range sortedKeys(w.Attrs) {
		v, ok := s.Attributes().Get(k)
		if !ok || !valueIs(v, w.Attrs[k]) {
			bad("%s = %s, want %s", k, describe(v, ok), describeWant(w.Attrs[k]))
		}
	}
	for _, k := range w.Absent {
		if v, ok := s.Attributes().Get(k); ok {
			bad("%s = %s, want it absent", k, describe(v, ok))
		}
	}
	return p
}

func valueIs(v pcommon.Value, want any) bool {
	switch w := want.(type) {
	case string:
		return v.Type() == pcommon.ValueTypeStr && v.Str() == w
	case bool:
		return v.Type() == pcommon.ValueTypeBool && v.Bool() == w
	case int64:
		return v.Type() == pcommon.ValueTypeInt && v.Int() == w
	case float64:
		return v.Type() == pcommon.ValueTypeDouble && v.Double() == w
	}
	panic(fmt.Sprintf("wantSpan: attribute value of type %T", want))
}

func describe(v pcommon.Value, ok bool) string {
	if !ok {
		return "absent"
	}
	return fmt.Sprintf("%s %q", v.Type(), v.AsString())
}

func describeWant(v any) string {
	return fmt.Sprintf("%T %q", v, fmt.Sprint(v))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkJaegerTrace compares a trace read back from Jaeger's query API with
// want, span by span, in Jaeger's vocabulary: tags with their types,
// span.kind as a tag, the parent as a CHILD_OF reference, the resource as
// the process, the tracestate as w3c.tracestate.
func checkJaegerTrace(tr jaegertest.Trace, want []wantSpan) []string {
	var p []string
	byID := map[string][]jaegertest.Span{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = append(byID[s.SpanID], s)
	}
	wanted := map[string]bool{}
	for _, w := range want {
		id := w.SpanID.String()
		wanted[id] = true
		ss := byID[id]
		if len(ss) != 1 {
			p = append(p, fmt.Sprintf("%s: in Jaeger %d times, want once", w, len(ss)))
			if len(ss) == 0 {
				continue
			}
		}
		p = append(p, checkJaegerSpan(w, ss[0], tr.ProcessOf(ss[0]))...)
	}
	for _, s := range tr.Spans {
		if !wanted[s.SpanID] {
			p = append(p, fmt.Sprintf("unexpected span %q of %s in Jaeger", s.OperationName, tr.ProcessOf(s).ServiceName))
		}
	}
	sort.Strings(p)
	return p
}

// jaegerKinds is how contrib's translator spells span kinds in the span.kind
// tag; UNSPECIFIED gets no tag.
var jaegerKinds = map[ptrace.SpanKind]string{
	ptrace.SpanKindServer:   "server",
	ptrace.SpanKindClient:   "client",
	ptrace.SpanKindInternal: "internal",
	ptrace.SpanKindProducer: "producer",
	ptrace.SpanKindConsumer: "consumer",
}

func checkJaegerSpan(w wantSpan, s jaegertest.Span, proc jaegertest.Process) []string {
	var p []string
	bad := func(format string, args ...any) {
		p = append(p, w.String()+" in Jaeger: "+fmt.Sprintf(format, args...))
	}
	if s.OperationName != w.Name {
		bad("operation %q", s.OperationName)
	}
	if !strings.EqualFold(strings.TrimLeft(s.TraceID, "0"), strings.TrimLeft(w.TraceID.String(), "0")) {
		bad("trace ID %s, want %s", s.TraceID, w.TraceID)
	}
	var parents []string
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			parents = append(parents, r.SpanID)
		}
	}
	switch {
	case w.Parent.IsEmpty() && len(parents) != 0:
		bad("CHILD_OF %v, want a root", parents)
	case !w.Parent.IsEmpty() && (len(parents) != 1 || parents[0] != w.Parent.String()):
		bad("CHILD_OF %v, want [%s]", parents, w.Parent)
	}
	if proc.ServiceName != w.Service {
		bad("process %q, want %q", proc.ServiceName, w.Service)
	}
	for k, want := range w.Resource {
		if kv, ok := jaegertest.Find(proc.Tags, k); !ok || !jaegerValueIs(kv, want) {
			bad("process tag %s = %s, want %q", k, describeJaeger(kv, ok), want)
		}
	}
	kind, hasKind := jaegertest.Find(s.Tags, "span.kind")
	switch wantKind, ok := jaegerKinds[w.Kind]; {
	case !ok && hasKind:
		bad("span.kind = %s, want none", describeJaeger(kind, true))
	case ok && (!hasKind || !jaegerValueIs(kind, wantKind)):
		bad("span.kind = %s, want %q", describeJaeger(kind, hasKind), wantKind)
	}
	if w.TraceState != "" {
		if kv, ok := jaegertest.Find(s.Tags, "w3c.tracestate"); !ok || !jaegerValueIs(kv, w.TraceState) {
			bad("w3c.tracestate = %s, want %q", describeJaeger(kv, ok), w.TraceState)
		}
	}
	for _, k := range sortedKeys(w.Attrs) {
		tag := jaegerTagKey(k)
		if kv, ok := jaegertest.Find(s.Tags, tag); !ok || !jaegerValueIs(kv, w.Attrs[k]) {
			bad("tag %s = %s, want %s", tag, describeJaeger(kv, ok), describeWant(w.Attrs[k]))
		}
	}
	for _, k := range w.Absent {
		if kv, ok := jaegertest.Find(s.Tags, k); ok {
			bad("tag %s = %s, want it absent", k, describeJaeger(kv, ok))
		}
	}
	return p
}

// jaegerTagKey is the tag an attribute becomes. Contrib's translator
// (pkg/translator/jaeger, appendTagsFromAttributes) writes the semantic
// conventions' http.response.status_code under the old key
// http.status_code unless a feature gate says otherwise; the distribution
// runs with default gates.
func jaegerTagKey(attr string) string {
	if attr == "http.response.status_code" {
		return "http.status_code"
	}
	return attr
}

func jaegerValueIs(kv jaegertest.KeyValue, want any) bool {
	switch w := want.(type) {
	case string:
		v, ok := kv.Value.(string)
		return kv.Type == "string" && ok && v == w
	case bool:
		v, ok := kv.Value.(bool)
		return kv.Type == "bool" && ok && v == w
	case int64:
		n, ok := kv.Value.(json.Number)
		return kv.Type == "int64" && ok && n.String() == strconv.FormatInt(w, 10)
	case float64:
		n, ok := kv.Value.(json.Number)
		f, err := n.Float64()
		return kv.Type == "float64" && ok && err == nil && f == w
	}
	panic(fmt.Sprintf("wantSpan: attribute value of type %T", want))
}

func describeJaeger(kv jaegertest.KeyValue, ok bool) string {
	if !ok {
		return "absent"
	}
	return fmt.Sprintf("%s %q", kv.Type, fmt.Sprint(kv.Value))
}
