// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/internal/testfilters/editor"
	"github.com/wasmcol/wasmcol/internal/testfilters/mirror"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

// The expected mirror text is computed here from pdata, independently of
// the SDK, so a wrong accessor anywhere between host and guest shows up.

func wantValue(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return "1:" + v.Str()
	case pcommon.ValueTypeInt:
		return "2:" + strconv.FormatInt(v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return "3:" + strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return "4:" + strconv.FormatBool(v.Bool())
	case pcommon.ValueTypeBytes:
		return "5:" + base64.StdEncoding.EncodeToString(v.Bytes().AsRaw())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return "7:" + v.AsString()
	}
	return "0:"
}

func wantAttrs(m pcommon.Map, skip string) string {
	var b strings.Builder
	for k, v := range m.All() {
		if k != skip {
			fmt.Fprintf(&b, "%s=%s,", k, wantValue(v))
		}
	}
	return b.String()
}

func wantScope(s pcommon.InstrumentationScope, res pcommon.Resource) string {
	return fmt.Sprintf("scope=%s@%s{%s}|res{%s}", s.Name(), s.Version(), wantAttrs(s.Attributes(), ""), wantAttrs(res.Attributes(), ""))
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func mirrorOf(t *testing.T, m pcommon.Map) string {
	v, ok := m.Get(mirror.Key)
	require.True(t, ok, "no mirror attribute")
	return v.Str()
}

func TestMirrorTraces(t *testing.T) {
	p := newPlugin(t, "mirror", 1)
	for seed := uint64(1); seed <= 5; seed++ {
		in := benchdata.RandomTraces(seed, 300)
		out := ptrace.NewTraces()
		in.CopyTo(out)
		out, err := p.ProcessTraces(context.Background(), out)
		require.NoError(t, err)
		require.Equal(t, in.SpanCount(), out.SpanCount())
		for i := 0; i < in.ResourceSpans().Len(); i++ {
			rs := in.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					s := ss.Spans().At(k)
					tid, sid, psid := s.TraceID(), s.SpanID(), s.ParentSpanID()
					want := fmt.Sprintf("name=%s|kind=%d|tid=%s|sid=%s|psid=%s|ts=%s|start=%d|end=%d|status=%d:%s|flags=%d|%s|res{%s}|attrs{%s}",
						s.Name(), s.Kind(), hexOf(tid[:]), hexOf(sid[:]), hexOf(psid[:]), s.TraceState().AsRaw(),
						s.StartTimestamp(), s.EndTimestamp(), s.Status().Code(), s.Status().Message(), s.Flags(),
						wantScope(ss.Scope(), rs.Resource()), wantAttrs(rs.Resource().Attributes(), ""), wantAttrs(s.Attributes(), ""))
					for e := 0; e < s.Events().Len(); e++ {
						ev := s.Events().At(e)
						want += fmt.Sprintf("|event=%s@%d{%s}", ev.Name(), ev.Timestamp(), wantAttrs(ev.Attributes(), ""))
					}
					for l := 0; l < s.Links().Len(); l++ {
						ln := s.Links().At(l)
						ltid, lsid := ln.TraceID(), ln.SpanID()
						want += fmt.Sprintf("|link=%s/%s/%s{%s}", hexOf(ltid[:]), hexOf(lsid[:]), ln.TraceState().AsRaw(), wantAttrs(ln.Attributes(), ""))
					}
					got := mirrorOf(t, out.ResourceSpans().At(i).ScopeSpans().At(j).Spans().At(k).Attributes())
					require.Equal(t, want, got, "seed %d span %d/%d/%d", seed, i, j, k)
				}
			}
		}
	}
}

func TestMirrorMetrics(t *testing.T) {
	p := newPlugin(t, "mirror", 1)
	for seed := uint64(1); seed <= 5; seed++ {
		in := benchdata.RandomMetrics(seed, 40)
		out := pmetric.NewMetrics()
		in.CopyTo(out)
		out, err := p.ProcessMetrics(context.Background(), out)
		require.NoError(t, err)
		rm := in.ResourceMetrics().At(0)
		sm := rm.ScopeMetrics().At(0)
		for i := 0; i < sm.Metrics().Len(); i++ {
			m := sm.Metrics().At(i)
			outM := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(i)
			forEachPoint(m, func(j int, attrs pcommon.Map, start, ts pcommon.Timestamp, value string, count uint64, sum float64, hasSum bool, flags uint32) {
				want := fmt.Sprintf("metric=%s|unit=%s|desc=%s|type=%d|%s|start=%d|time=%d|value=%s|count=%d|sum=%s/%t|flags=%d|attrs{%s}",
					m.Name(), m.Unit(), m.Description(), m.Type(), wantScope(sm.Scope(), rm.Resource()), start, ts, value,
					count, strconv.FormatFloat(sum, 'g', -1, 64), hasSum, flags, wantAttrs(attrs, ""))
				var got string
				forEachPoint(outM, func(k int, a pcommon.Map, _, _ pcommon.Timestamp, _ string, _ uint64, _ float64, _ bool, _ uint32) {
					if k == j {
						got = mirrorOf(t, a)
					}
				})
				require.Equal(t, want, got, "seed %d metric %d point %d", seed, i, j)
			})
		}
	}
}

// forEachPoint visits a metric's points with the fields the mirror reads.
func forEachPoint(m pmetric.Metric, f func(j int, attrs pcommon.Map, start, ts pcommon.Timestamp, value string, count uint64, sum float64, hasSum bool, flags uint32)) {
	number := func(dps pmetric.NumberDataPointSlice) {
		for j := 0; j < dps.Len(); j++ {
			p := dps.At(j)
			v := "0:"
			switch p.ValueType() {
			case pmetric.NumberDataPointValueTypeInt:
				v = "2:" + strconv.FormatInt(p.IntValue(), 10)
			case pmetric.NumberDataPointValueTypeDouble:
				v = "3:" + strconv.FormatFloat(p.DoubleValue(), 'g', -1, 64)
			}
			f(j, p.Attributes(), p.StartTimestamp(), p.Timestamp(), v, 0, 0, false, uint32(p.Flags()))
		}
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		number(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		number(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		for j := 0; j < m.Histogram().DataPoints().Len(); j++ {
			p := m.Histogram().DataPoints().At(j)
			sum := 0.0
			if p.HasSum() {
				sum = p.Sum()
			}
			f(j, p.Attributes(), p.StartTimestamp(), p.Timestamp(), "0:", p.Count(), sum, p.HasSum(), uint32(p.Flags()))
		}
	case pmetric.MetricTypeExponentialHistogram:
		for j := 0; j < m.ExponentialHistogram().DataPoints().Len(); j++ {
			p := m.ExponentialHistogram().DataPoints().At(j)
			f(j, p.Attributes(), p.StartTimestamp(), p.Timestamp(), "0:", p.Count(), p.Sum(), p.HasSum(), uint32(p.Flags()))
		}
	case pmetric.MetricTypeSummary:
		for j := 0; j < m.Summary().DataPoints().Len(); j++ {
			p := m.Summary().DataPoints().At(j)
			f(j, p.Attributes(), p.StartTimestamp(), p.Timestamp(), "0:", p.Count(), p.Sum(), true, uint32(p.Flags()))
		}
	}
}

func TestMirrorLogs(t *testing.T) {
	p := newPlugin(t, "mirror", 1)
	for seed := uint64(1); seed <= 5; seed++ {
		in := benchdata.RandomLogs(seed, 200)
		out := plog.NewLogs()
		in.CopyTo(out)
		out, err := p.ProcessLogs(context.Background(), out)
		require.NoError(t, err)
		rl := in.ResourceLogs().At(0)
		sl := rl.ScopeLogs().At(0)
		for i := 0; i < sl.LogRecords().Len(); i++ {
			l := sl.LogRecords().At(i)
			tid, sid := l.TraceID(), l.SpanID()
			want := fmt.Sprintf("body=%s|sev=%d/%s|tid=%s|sid=%s|time=%d|obs=%d|flags=%d|%s|attrs{%s}",
				wantValue(l.Body()), l.SeverityNumber(), l.SeverityText(), hexOf(tid[:]), hexOf(sid[:]), l.Timestamp(),
				l.ObservedTimestamp(), l.Flags(), wantScope(sl.Scope(), rl.Resource()), wantAttrs(l.Attributes(), ""))
			got := mirrorOf(t, out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i).Attributes())
			require.Equal(t, want, got, "seed %d record %d", seed, i)
		}
	}
}

// TestEmulatorMatchesHost runs the same filters natively in sdktest's
// emulator and compiled to Wasm under the real host, on randomized
// batches, and requires identical output.
func TestEmulatorMatchesHost(t *testing.T) {
	filters := map[string]any{"mirror": mirror.Filter{}, "editor": editor.Filter{}}
	for name, f := range filters {
		p := newPlugin(t, name, 1)
		for seed := uint64(1); seed <= 8; seed++ {
			t.Run(fmt.Sprintf("%s/traces/%d", name, seed), func(t *testing.T) {
				in := benchdata.RandomTraces(seed, 200)
				js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(in)
				require.NoError(t, err)
				emuJSON, err := sdktest.Run(f, abi.SignalTraces, "{}", js)
				require.NoError(t, err)
				emu, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(emuJSON)
				require.NoError(t, err)
				host, err := p.ProcessTraces(context.Background(), in)
				require.NoError(t, err)
				require.NoError(t, ptracetest.CompareTraces(emu, host))
			})
			t.Run(fmt.Sprintf("%s/metrics/%d", name, seed), func(t *testing.T) {
				in := benchdata.RandomMetrics(seed, 30)
				js, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(in)
				require.NoError(t, err)
				emuJSON, err := sdktest.Run(f, abi.SignalMetrics, "{}", js)
				require.NoError(t, err)
				emu, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(emuJSON)
				require.NoError(t, err)
				host, err := p.ProcessMetrics(context.Background(), in)
				require.NoError(t, err)
				require.NoError(t, pmetrictest.CompareMetrics(emu, host))
			})
			t.Run(fmt.Sprintf("%s/logs/%d", name, seed), func(t *testing.T) {
				in := benchdata.RandomLogs(seed, 100)
				js, err := (&plog.JSONMarshaler{}).MarshalLogs(in)
				require.NoError(t, err)
				emuJSON, err := sdktest.Run(f, abi.SignalLogs, "{}", js)
				require.NoError(t, err)
				emu, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(emuJSON)
				require.NoError(t, err)
				host, err := p.ProcessLogs(context.Background(), in)
				require.NoError(t, err)
				require.NoError(t, plogtest.CompareLogs(emu, host))
			})
		}
	}
}

// TestEditorEffects checks the editor's edits against pdata directly, so
// the comparison above is not two implementations agreeing on a mistake.
func TestEditorEffects(t *testing.T) {
	p := newPlugin(t, "editor", 1)
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < 8; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName(fmt.Sprintf("s%d", i))
		s.Attributes().PutStr("k0", fmt.Sprintf("v%d", i))
		s.Attributes().PutInt("k1", int64(i))
		s.Events().AppendEmpty().SetName("ev")
	}
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	require.Equal(t, 7, spans.Len(), "span 5 dropped")
	get := func(i int, k string) pcommon.Value { v, _ := spans.At(i).Attributes().Get(k); return v }
	assert.Equal(t, "s0 ✓", get(0, "e.str").Str())
	assert.Equal(t, "", get(0, "e.empty").Str())
	assert.Equal(t, pcommon.ValueTypeStr, get(0, "e.empty").Type())
	assert.Equal(t, int64(1), get(1, "e.int").Int())
	assert.Equal(t, -1.25, get(1, "e.double").Double())
	assert.True(t, get(1, "e.bool").Bool())
	assert.Equal(t, []byte{0, 1, 254, 255}, get(1, "e.bytes").Bytes().AsRaw())
	_, has := spans.At(2).Attributes().Get("k0")
	assert.False(t, has, "first attribute deleted")
	assert.Equal(t, "v3", get(3, "renamed").Str())
	_, has = spans.At(3).Attributes().Get("never")
	assert.False(t, has, "renaming an absent key does nothing")
	s4 := spans.At(4)
	assert.Equal(t, "renamed:s4", s4.Name())
	assert.Equal(t, ptrace.SpanKindInternal, s4.Kind())
	assert.Equal(t, ptrace.StatusCodeError, s4.Status().Code())
	assert.Equal(t, "boom", s4.Status().Message())
	assert.Equal(t, "ot=th:8", s4.TraceState().AsRaw())
	assert.Equal(t, "s6", spans.At(5).Name(), "span 6 moved up after the drop")
	ev, _ := spans.At(5).Events().At(0).Attributes().Get("e.event")
	assert.Equal(t, "ev", ev.Str())
	res, _ := out.ResourceSpans().At(0).Resource().Attributes().Get("e.resource")
	assert.Equal(t, int64(6), res.Int())
	assert.Equal(t, "v7", get(6, "e.copy").Str())
}

// TestLargeBatch runs 100,000 spans, and TestHugeAttribute a 1 MiB value,
// through the real host.
func TestLargeBatch(t *testing.T) {
	p := newPlugin(t, "editor", 1)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 100_000; i++ {
		s := spans.AppendEmpty()
		s.SetName("n")
		s.Attributes().PutStr("k0", "v")
	}
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	require.Equal(t, 100_000-100_000/8, out.SpanCount(), "every eighth span dropped")
	last := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(out.SpanCount() - 1)
	v, _ := last.Attributes().Get("e.copy")
	assert.Equal(t, "v", v.Str(), "span 99,999 edited")
}

func TestHugeAttribute(t *testing.T) {
	p := newPlugin(t, "editor", 1)
	big := strings.Repeat("ü1234567", 1<<20/9+1) + "end"
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 8; i++ {
		spans.AppendEmpty().Attributes().PutStr("k0", big)
	}
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	v, ok := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(6).Attributes().Get("e.copy")
	require.True(t, ok)
	require.Equal(t, big, v.Str(), "a 1 MiB value read by the guest and written back intact")
	require.GreaterOrEqual(t, len(big), 1<<20)
}
