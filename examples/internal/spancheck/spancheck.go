// SPDX-License-Identifier: Apache-2.0

// Package spancheck states what a filter must have changed, span by span,
// and fails on anything else. Golden files prove that a filter's output did
// not move; spancheck proves that the output is right: every promised
// attribute on every span that should carry it, and every other span and
// attribute exactly as it arrived.
package spancheck

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

// Absent as an expected attribute value means the attribute must be gone.
const Absent = absent("absent")

type absent string

// Change is what a filter must have done to the spans a rule selects.
type Change struct {
	// Set lists attributes whose output value must be exactly this
	// (string, int64, bool or float64, compared with their type), or
	// Absent for attributes that must have been removed.
	Set map[string]any
	// Kind, when not nil, is the span's kind after the filter.
	Kind *ptrace.SpanKind
	// Dropped spans must be missing from the output.
	Dropped bool
	// TraceState, when not nil, is the span's tracestate after the filter.
	TraceState *string
}

// Rule selects input spans and says how each must have changed.
type Rule struct {
	// Service matches the resource's service.name ("" = any).
	Service string
	// Name matches the span name exactly; NamePrefix by prefix.
	Name, NamePrefix string
	// OfKind, when not nil, matches the input span's kind.
	OfKind *ptrace.SpanKind
	// Where matches input attributes by value (compared with type).
	Where map[string]any
	// TraceID, when not empty, matches the span's trace.
	TraceID pcommon.TraceID
	// Match, when not nil, must also hold for the input span.
	Match func(service string, s ptrace.Span) bool
	// Count is how many input spans the rule must select; 0 means at
	// least one.
	Count int
	Change
}

// K is shorthand for a *ptrace.SpanKind.
func K(k ptrace.SpanKind) *ptrace.SpanKind { return &k }

// S is shorthand for a *string.
func S(s string) *string { return &s }

type span struct {
	svc      string
	resource pcommon.Map
	s        ptrace.Span
}

func index(td ptrace.Traces) map[pcommon.SpanID]span {
	out := map[pcommon.SpanID]span{}
	for _, rs := range td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for _, sc := range rs.ScopeSpans().All() {
			for _, s := range sc.Spans().All() {
				if _, dup := out[s.SpanID()]; dup {
					panic("spancheck: duplicate span ID " + s.SpanID().String())
				}
				out[s.SpanID()] = span{svc.Str(), rs.Resource().Attributes(), s}
			}
		}
	}
	return out
}

func (r Rule) selects(sp span) bool {
	if r.Service != "" && sp.svc != r.Service {
		return false
	}
	if r.Name != "" && sp.s.Name() != r.Name {
		return false
	}
	if r.NamePrefix != "" && !strings.HasPrefix(sp.s.Name(), r.NamePrefix) {
		return false
	}
	if r.OfKind != nil && sp.s.Kind() != *r.OfKind {
		return false
	}
	if !r.TraceID.IsEmpty() && sp.s.TraceID() != r.TraceID {
		return false
	}
	for k, want := range r.Where {
		v, ok := sp.s.Attributes().Get(k)
		if !ok || !equal(v, want) {
			return false
		}
	}
	return r.Match == nil || r.Match(sp.svc, sp.s)
}

func (r Rule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule{service=%q name=%q prefix=%q", r.Service, r.Name, r.NamePrefix)
	if r.OfKind != nil {
		fmt.Fprintf(&b, " kind=%s", r.OfKind)
	}
	if len(r.Where) > 0 {
		fmt.Fprintf(&b, " where=%v", r.Where)
	}
	if !r.TraceID.IsEmpty() {
		fmt.Fprintf(&b, " trace=%s", r.TraceID)
	}
	return b.String() + "}"
}

// equal compares a pcommon value with a Go value, type included.
func equal(v pcommon.Value, want any) bool {
	switch w := want.(type) {
	case string:
		return v.Type() == pcommon.ValueTypeStr && v.Str() == w
	case int64:
		return v.Type() == pcommon.ValueTypeInt && v.Int() == w
	case int:
		return v.Type() == pcommon.ValueTypeInt && v.Int() == int64(w)
	case bool:
		return v.Type() == pcommon.ValueTypeBool && v.Bool() == w
	case float64:
		return v.Type() == pcommon.ValueTypeDouble && v.Double() == w
	}
	return false
}

func show(v pcommon.Value) string {
	return fmt.Sprintf("%s(%s)", v.Type(), v.AsString())
}

// Check compares out with in span by span (spans are paired by span ID)
// and fails t for every difference the rules do not call for, and every
// change they call for that is missing. A span selected by several rules
// must satisfy all of them. Resources must come through unchanged.
func Check(t testing.TB, in, out ptrace.Traces, rules []Rule) {
	t.Helper()
	CheckResources(t, in, out, rules, nil)
}

// CheckResources is Check with expected resource changes: resource maps a
// service.name in the input to the resource attributes the output must
// carry (nil keeps the input's).
func CheckResources(t testing.TB, in, out ptrace.Traces, rules []Rule, resource func(svc string, attrs map[string]any) map[string]any) {
	t.Helper()
	ins, outs := index(in), index(out)
	for id := range outs {
		if _, ok := ins[id]; !ok {
			t.Errorf("spancheck: output span %s is not in the input", id)
		}
	}
	counts := make([]int, len(rules))
	ids := slices.Collect(maps.Keys(ins))
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	for _, id := range ids {
		isp := ins[id]
		where := fmt.Sprintf("%s %q (%s, span %s)", isp.svc, isp.s.Name(), isp.s.Kind(), id)
		want := map[string]any{}
		var kind *ptrace.SpanKind
		var ts *string
		dropped := false
		for ri, r := range rules {
			if !r.selects(isp) {
				continue
			}
			counts[ri]++
			for k, v := range r.Set {
				if prev, ok := want[k]; ok && prev != v {
					t.Errorf("spancheck: %s: rules disagree on %s: %v vs %v", where, k, prev, v)
				}
				want[k] = v
			}
			if r.Kind != nil {
				kind = r.Kind
			}
			if r.TraceState != nil {
				ts = r.TraceState
			}
			dropped = dropped || r.Dropped
		}
		osp, present := outs[id]
		switch {
		case dropped && present:
			t.Errorf("spancheck: %s: want dropped, still present", where)
			continue
		case dropped:
			continue
		case !present:
			t.Errorf("spancheck: %s: dropped, want kept", where)
			continue
		}

		// Attributes: listed ones as listed, every other one as it came.
		inA, outA := isp.s.Attributes(), osp.s.Attributes()
		for k, w := range want {
			v, ok := outA.Get(k)
			switch {
			case w == Absent && ok:
				t.Errorf("spancheck: %s: %s = %s, want it removed", where, k, show(v))
			case w == Absent:
			case !ok:
				t.Errorf("spancheck: %s: %s missing, want %T(%v)", where, k, w, w)
			case !equal(v, w):
				t.Errorf("spancheck: %s: %s = %s, want %T(%v)", where, k, show(v), w, w)
			}
		}
		for k, v := range inA.All() {
			if _, listed := want[k]; listed {
				continue
			}
			o, ok := outA.Get(k)
			if !ok || !reflect.DeepEqual(o.AsRaw(), v.AsRaw()) || o.Type() != v.Type() {
				got := "missing"
				if ok {
					got = show(o)
				}
				t.Errorf("spancheck: %s: %s changed from %s to %s", where, k, show(v), got)
			}
		}
		for k, v := range outA.All() {
			if _, listed := want[k]; listed {
				continue
			}
			if _, ok := inA.Get(k); !ok {
				t.Errorf("spancheck: %s: unexpected new attribute %s = %s", where, k, show(v))
			}
		}

		// Fields.
		wantKind := isp.s.Kind()
		if kind != nil {
			wantKind = *kind
		}
		if osp.s.Kind() != wantKind {
			t.Errorf("spancheck: %s: kind %s, want %s", where, osp.s.Kind(), wantKind)
		}
		wantTS := isp.s.TraceState().AsRaw()
		if ts != nil {
			wantTS = *ts
		}
		if got := osp.s.TraceState().AsRaw(); got != wantTS {
			t.Errorf("spancheck: %s: tracestate %q, want %q", where, got, wantTS)
		}
		if osp.s.Name() != isp.s.Name() || osp.s.TraceID() != isp.s.TraceID() ||
			osp.s.ParentSpanID() != isp.s.ParentSpanID() || osp.s.StartTimestamp() != isp.s.StartTimestamp() ||
			osp.s.EndTimestamp() != isp.s.EndTimestamp() || osp.s.Status().Code() != isp.s.Status().Code() ||
			osp.s.Status().Message() != isp.s.Status().Message() {
			t.Errorf("spancheck: %s: name, IDs, times or status changed", where)
		}
		if !reflect.DeepEqual(eventsRaw(osp.s), eventsRaw(isp.s)) {
			t.Errorf("spancheck: %s: events changed", where)
		}

		// Resource.
		wantRes := isp.resource.AsRaw()
		if resource != nil {
			if r := resource(isp.svc, wantRes); r != nil {
				wantRes = r
			}
		}
		if got := osp.resource.AsRaw(); !reflect.DeepEqual(got, wantRes) {
			t.Errorf("spancheck: %s: resource %v, want %v", where, got, wantRes)
		}
	}
	for i, r := range rules {
		switch {
		case r.Count == 0 && counts[i] == 0:
			t.Errorf("spancheck: %s selects no span", r)
		case r.Count > 0 && counts[i] != r.Count:
			t.Errorf("spancheck: %s selects %d spans, want %d", r, counts[i], r.Count)
		}
	}
}

func eventsRaw(s ptrace.Span) []any {
	var out []any
	for _, e := range s.Events().All() {
		out = append(out, []any{e.Name(), e.Timestamp(), e.Attributes().AsRaw()})
	}
	return out
}

// Run runs filter on the OTLP JSON traces raw in the SDK's emulator and
// returns the input and the output, parsed.
func Run(t testing.TB, filter any, config string, raw []byte) (in, out ptrace.Traces) {
	t.Helper()
	got, err := sdktest.Run(filter, abi.SignalTraces, config, raw)
	if err != nil {
		t.Fatal(err)
	}
	if in, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw); err != nil {
		t.Fatal(err)
	}
	if out, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(got); err != nil {
		t.Fatal(err)
	}
	return in, out
}

// RunFile is Run on the file at path.
func RunFile(t testing.TB, filter any, config, path string) (in, out ptrace.Traces) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Run(t, filter, config, raw)
}
