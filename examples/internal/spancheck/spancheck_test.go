// SPDX-License-Identifier: Apache-2.0

package spancheck

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recorder collects what Check reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func batch() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for i, name := range []string{"a", "b"} {
		s := ss.AppendEmpty()
		s.SetName(name)
		s.SetSpanID([8]byte{byte(i + 1)})
		s.Attributes().PutStr("k", "v")
	}
	return td
}

func TestCheck(t *testing.T) {
	set := func(td ptrace.Traces, key string, v int64) {
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutInt(key, v)
	}
	ruleA := Rule{Service: "svc", Name: "a", Count: 1, Change: Change{Set: map[string]any{"x": int64(1)}}}
	tests := []struct {
		name  string
		edit  func(out ptrace.Traces)
		rules []Rule
		want  []string // substrings of the expected reports, in order
	}{
		{"unchanged and no rules", func(ptrace.Traces) {}, nil, nil},
		{"promised change made", func(o ptrace.Traces) { set(o, "x", 1) }, []Rule{ruleA}, nil},
		{"promised change missing", func(ptrace.Traces) {}, []Rule{ruleA}, []string{"x missing"}},
		{"wrong type", func(o ptrace.Traces) {
			o.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("x", "1")
		}, []Rule{ruleA}, []string{"x = Str(1)"}},
		{"unpromised change", func(o ptrace.Traces) { set(o, "y", 2) }, nil, []string{"unexpected new attribute y"}},
		{"attribute removed", func(o ptrace.Traces) {
			o.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).Attributes().Remove("k")
		}, nil, []string{"k changed"}},
		{"kind changed", func(o ptrace.Traces) {
			o.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetKind(ptrace.SpanKindInternal)
		}, nil, []string{"kind Internal"}},
		{"rule selects nothing", func(ptrace.Traces) {}, []Rule{{Name: "zzz"}}, []string{"selects no span"}},
		{"span dropped", func(o ptrace.Traces) {
			o.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool { return s.Name() == "b" })
		}, nil, []string{"dropped, want kept"}},
		{"resource changed", func(o ptrace.Traces) {
			o.ResourceSpans().At(0).Resource().Attributes().PutStr("service.name", "other")
		}, nil, []string{"resource", "resource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := batch()
			out := batch()
			tt.edit(out)
			r := &recorder{TB: t}
			Check(r, in, out, tt.rules)
			if len(r.errs) != len(tt.want) {
				t.Fatalf("reports %q, want %d matching %q", r.errs, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(r.errs[i], w) {
					t.Errorf("report %q does not mention %q", r.errs[i], w)
				}
			}
		})
	}
}
