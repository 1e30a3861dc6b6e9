// SPDX-License-Identifier: Apache-2.0

package sampler

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

// The port must agree with pkg/sampling to the bit; these tests compare
// the two on the same inputs.

func TestProbabilityToThreshold(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fractions := []float64{1, 0.5, 0.1, 0.25, 1.0 / 3, 0.999999, 1e-9, minSamplingProbability, 0, -1, 1.5, math.NaN(), 0.9999999999999999}
	for range 5000 {
		fractions = append(fractions, r.Float64(), math.Pow(2, -r.Float64()*56), 1-math.Pow(2, -r.Float64()*52))
	}
	for _, f := range fractions {
		for _, p := range []int{0, 1, 2, 4, 7, 13, 14} {
			want, wantErr := sampling.ProbabilityToThresholdWithPrecision(f, p)
			got, err := probabilityToThreshold(f, p)
			if (err != nil) != (wantErr != nil) || (err == nil && got != want.Unsigned()) {
				t.Fatalf("probabilityToThreshold(%v, %d) = %x, %v; pkg/sampling %x, %v", f, p, got, err, want.Unsigned(), wantErr)
			}
			if err == nil {
				if tv := tvalue(got); tv != want.TValue() {
					t.Fatalf("tvalue(%x) = %q, pkg/sampling %q", got, tv, want.TValue())
				}
				if probability(got) != want.Probability() {
					t.Fatalf("probability(%x) = %v, pkg/sampling %v", got, probability(got), want.Probability())
				}
			}
		}
	}
	if tvalue(neverSample) != sampling.NeverSampleThreshold.TValue() {
		t.Fatal("never threshold encodes differently")
	}
}

func TestTraceIDRandomness(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		var id [16]byte
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		if got, want := traceIDRandomness(id), sampling.TraceIDToRandomness(pcommon.TraceID(id)).Unsigned(); got != want {
			t.Fatalf("%x: %x, pkg/sampling %x", id, got, want)
		}
	}
}

// traceStates are hand-picked corner cases; randomTraceState adds noise.
var traceStates = []string{
	"", "ot=th:8", "ot=th:c", "ot=th:0", "ot=th:fffffffffffff", "ot=th:ffffffffffffff", "ot=th:100000000000000",
	"ot=rv:abcdef01234567", "ot=rv:ABCDEF01234567;th:8", "ot=rv:123", "ot=th:xyz", "ot=th:", "ot=",
	"ot=th:8;rv:0123456789abcd;zz:q", "ot=th:8;zz:q", "ot=zz:q", "ot=th:8;", "ot=;th:8", "ot=th:8;;rv:0",
	"ot=TH:8", "ot=th:8;A:b", "ot=th:8.1", "vendor=abc", "a=1,b=2", " a=1 ,, ot=th:8 , b=2 ", "a=1,ot=th:4,b=2",
	"ot=th:8,ot=th:4", "ot=th:8,ot=xyz", "ot=th:zz,a=1", "a@b=1", "1a@b=1", "a@1b=1", "A=1", "a=", "=1", "a=b=c",
	"a=1 ", "a= 1", "a=\x7f", "a=1\t,b=2", ",", ",,,,", "not a tracestate", "ot=rv:fffffffffffff0",
	strings.Repeat("a", 257) + "=1", strings.Repeat("a", 242) + "@b=1", "a@" + strings.Repeat("b", 15) + "=1",
	"ot=th:8;" + strings.Repeat("x", 250) + ":1", strings.Repeat("a=1,", 31) + "b=2", strings.Repeat("a=1,", 30) + "b=2",
	strings.Repeat(",", 31) + "ot=th:8", "x=" + strings.Repeat("v", 256), "x=" + strings.Repeat("v", 257),
	strings.Repeat("k=v,", 300),
}

var fragments = []string{"ot=", "th:", "rv:", "8", "c", "0", "f", "ffffffffffffff", "01234567890abc", ";", ",", "=", ":", " ", "\t", "a", "b=1", "x:y", "@", "A", ".", "_", "-", "zz"}

func randomTraceState(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return traceStates[r.IntN(len(traceStates))]
	}
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteString(fragments[r.IntN(len(fragments))])
	}
	return b.String()
}

// TestTraceStateParsing compares parse errors and serialisation with
// pkg/sampling, including what survives a partly invalid tracestate.
func TestTraceStateParsing(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	inputs := append([]string{}, traceStates...)
	for range 20000 {
		inputs = append(inputs, randomTraceState(r))
	}
	var st traceState
	for _, in := range inputs {
		checkParse(t, in, &st)
	}
}

func checkParse(t *testing.T, in string, st *traceState) {
	t.Helper()
	want, wantErr := sampling.NewW3CTraceState(in)
	err := parseTraceState(in, st)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, pkg/sampling %v", in, err, wantErr)
	}
	var w strings.Builder
	_ = want.Serialize(&w)
	if got := string(st.appendTo(nil)); got != w.String() {
		t.Fatalf("%q: serialised %q, pkg/sampling %q", in, got, w.String())
	}
	ot := want.OTelValue()
	if th, ok := ot.TValueThreshold(); ok != (st.ot.tvalue != "") || (ok && th.Unsigned() != st.ot.th) {
		t.Fatalf("%q: th %x/%v, pkg/sampling %x/%v", in, st.ot.th, st.ot.tvalue, th.Unsigned(), ok)
	}
	if rv, ok := ot.RValueRandomness(); ok != (st.ot.rvalue != "") || (ok && rv.Unsigned() != st.ot.rnd) {
		t.Fatalf("%q: rv %x, pkg/sampling %x/%v", in, st.ot.rnd, rv.Unsigned(), ok)
	}
	// Updating the threshold must agree too.
	for _, th := range []uint64{0, 1 << 55, 0xe666 << 40, neverSample} {
		wantUpd, _ := sampling.NewW3CTraceState(in)
		wth, _ := sampling.UnsignedToThreshold(th)
		if th == neverSample {
			wth = sampling.NeverSampleThreshold
		}
		wantUErr := wantUpd.OTelValue().UpdateTValueWithSampling(wth)
		_ = parseTraceState(in, st)
		if uerr := st.ot.updateThreshold(th); (uerr != nil) != (wantUErr != nil) {
			t.Fatalf("%q: update %x: %v, pkg/sampling %v", in, th, uerr, wantUErr)
		}
		var w strings.Builder
		_ = wantUpd.Serialize(&w)
		if got := string(st.appendTo(nil)); got != w.String() {
			t.Fatalf("%q: after update %x %q, pkg/sampling %q", in, th, got, w.String())
		}
	}
}

func FuzzTraceState(f *testing.F) {
	for _, s := range traceStates {
		f.Add(s)
	}
	var st traceState
	f.Fuzz(func(t *testing.T, in string) { checkParse(t, in, &st) })
}

// randomSpans is a batch of spans with random trace IDs (a few empty),
// random tracestates and, sometimes, a sampling.priority of every type.
func randomSpans(seed uint64, n int) ptrace.Traces {
	r := rand.New(rand.NewPCG(seed, 7))
	td := ptrace.NewTraces()
	for k := 0; k < n; {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", k))
		ss := rs.ScopeSpans().AppendEmpty().Spans()
		for range 1 + r.IntN(20) {
			s := ss.AppendEmpty()
			k++
			var id [16]byte
			if r.IntN(50) != 0 {
				for i := range id {
					id[i] = byte(r.Uint32())
				}
			}
			s.SetTraceID(id)
			s.SetSpanID(pcommon.SpanID{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k), 1})
			s.SetName(fmt.Sprintf("span-%d", k))
			s.TraceState().FromRaw(randomTraceState(r))
			switch r.IntN(30) {
			case 0:
				s.Attributes().PutInt("sampling.priority", int64(r.IntN(3)-1))
			case 1:
				s.Attributes().PutStr("sampling.priority", []string{"0", "1", "-1", "x", "0.5", "NaN"}[r.IntN(6)])
			case 2:
				s.Attributes().PutDouble("sampling.priority", float64(r.IntN(3))-0.5)
			case 3:
				s.Attributes().PutBool("sampling.priority", true)
			}
		}
	}
	return td
}

func jsonOf(tb testing.TB, td ptrace.Traces) []byte {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestMatchesProbabilisticSampler runs the contrib processor in
// proportional mode and the filter with one catch-all rule at the same
// percentage on the same random spans: the kept spans and their
// tracestates must be identical.
func TestMatchesProbabilisticSampler(t *testing.T) {
	td := randomSpans(11, 1000)
	in := jsonOf(t, td)
	for _, pct := range []float64{0, 1e-6, 0.5, 1, 10, 25, 33.3, 50, 77.7, 99.99, 100, 150} {
		for _, prec := range []int{1, 4, 14} {
			for _, failClosed := range []bool{true, false} {
				name := fmt.Sprintf("pct=%v/precision=%d/fail_closed=%v", pct, prec, failClosed)
				want := contribSample(t, td, pct, prec, failClosed)
				got := filterSample(t, in, pct, prec, failClosed)
				if want.SpanCount() == 0 && got.SpanCount() == 0 {
					continue
				}
				if err := ptracetest.CompareTraces(want, got); err != nil {
					t.Errorf("%s: %s", name, short(err))
				}
			}
		}
	}
}

// TestBarePathAgrees: spans without tracestate take a path that skips
// parsing; it must decide as the full path does.
func TestBarePathAgrees(t *testing.T) {
	td := randomSpans(12, 3000)
	for _, rs := range td.ResourceSpans().All() {
		for _, s := range rs.ScopeSpans().At(0).Spans().All() {
			s.TraceState().FromRaw("")
		}
	}
	for _, pct := range []float64{0, 0.1, 10, 50, 100} {
		for _, failClosed := range []bool{true, false} {
			if err := ptracetest.CompareTraces(contribSample(t, td, pct, 4, failClosed), filterSample(t, jsonOf(t, td), pct, 4, failClosed)); err != nil {
				t.Errorf("pct=%v fail_closed=%v: %s", pct, failClosed, short(err))
			}
		}
	}
}

// short keeps a comparison's report readable: the first differences say
// enough.
func short(err error) string {
	if msg := err.Error(); len(msg) > 2000 {
		return msg[:2000] + "..."
	}
	return err.Error()
}

func contribSample(t *testing.T, td ptrace.Traces, pct float64, prec int, failClosed bool) ptrace.Traces {
	t.Helper()
	p, sink := wasmtest.StartTraces(t, probabilisticsamplerprocessor.NewFactory(), map[string]any{
		"mode": "proportional", "sampling_percentage": pct, "sampling_precision": prec, "fail_closed": failClosed,
	})
	cp := ptrace.NewTraces()
	td.CopyTo(cp)
	if err := p.ConsumeTraces(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	if all := sink.AllTraces(); len(all) > 0 {
		return all[0]
	}
	return ptrace.NewTraces()
}

func filterSample(t *testing.T, in []byte, pct float64, prec int, failClosed bool) ptrace.Traces {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{
		"rules":              []any{map[string]any{"name": "all", "percentage": pct}},
		"sampling_precision": prec, "fail_closed": failClosed,
		"keep_errors": false, "keep_cold_starts": false,
	})
	out, err := sdktest.Run(&filter{}, abi.SignalTraces, string(cfg), in)
	if err != nil {
		t.Fatal(err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(out)
	if err != nil {
		t.Fatal(err)
	}
	return td
}
