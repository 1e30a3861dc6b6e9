// SPDX-License-Identifier: Apache-2.0

package benchdata

import (
	"fmt"
	"math/rand/v2"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Strings a random batch draws from: empty, unicode, and ordinary text.
var sampleStrings = []string{"", "x", "broker:default.default", "ünïcødé ✓ 日本語", "tab\tnew\nline", `quote"back\slash`, "/triggers/default/t/1f2e"}

func randStr(r *rand.Rand) string { return sampleStrings[r.IntN(len(sampleStrings))] }

func randValue(r *rand.Rand, v pcommon.Value) {
	switch r.IntN(8) {
	case 0, 1:
		v.SetStr(randStr(r))
	case 2:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case 3:
		v.SetDouble(float64(r.IntN(100000)) / 64)
	case 4:
		v.SetBool(r.IntN(2) == 1)
	case 5:
		v.SetEmptyBytes().FromRaw([]byte(randStr(r)))
	case 6:
		m := v.SetEmptyMap()
		m.PutStr("a", randStr(r))
		m.PutInt("b", int64(r.IntN(9)))
	case 7:
		s := v.SetEmptySlice()
		s.AppendEmpty().SetStr(randStr(r))
		s.AppendEmpty().SetBool(true)
	}
}

func randAttrs(r *rand.Rand, m pcommon.Map) {
	for i := 0; i < r.IntN(5); i++ {
		randValue(r, m.PutEmpty(fmt.Sprintf("k%d", i)))
	}
}

func randID(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

// RandomTraces is a batch of about spans spans over several resources and
// scopes, with every attribute type, events, links and empty parents.
func RandomTraces(seed uint64, spans int) ptrace.Traces {
	r := rand.New(rand.NewPCG(seed, 1))
	td := ptrace.NewTraces()
	for made := 0; made < spans; {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", randStr(r))
		randAttrs(r, rs.Resource().Attributes())
		for j := 0; j < 1+r.IntN(2) && made < spans; j++ {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(randStr(r))
			ss.Scope().SetVersion("v" + fmt.Sprint(r.IntN(3)))
			randAttrs(r, ss.Scope().Attributes())
			for k := 0; k < 1+r.IntN(20) && made < spans; k++ {
				made++
				s := ss.Spans().AppendEmpty()
				s.SetName(randStr(r))
				s.SetKind(ptrace.SpanKind(r.IntN(6)))
				s.SetTraceID(pcommon.TraceID(randID(r, 16)))
				s.SetSpanID(pcommon.SpanID(randID(r, 8)))
				if r.IntN(3) > 0 {
					s.SetParentSpanID(pcommon.SpanID(randID(r, 8)))
				}
				if r.IntN(3) == 0 {
					s.TraceState().FromRaw("ot=th:c;rv:123")
				}
				s.SetStartTimestamp(pcommon.Timestamp(r.Int64N(1 << 62)))
				s.SetEndTimestamp(s.StartTimestamp() + pcommon.Timestamp(r.IntN(1e9)))
				s.Status().SetCode(ptrace.StatusCode(r.IntN(3)))
				s.Status().SetMessage(randStr(r))
				s.SetFlags(uint32(r.IntN(2)))
				randAttrs(r, s.Attributes())
				for e := 0; e < r.IntN(3); e++ {
					ev := s.Events().AppendEmpty()
					ev.SetName(randStr(r))
					ev.SetTimestamp(pcommon.Timestamp(r.Int64N(1 << 62)))
					randAttrs(r, ev.Attributes())
				}
				if r.IntN(4) == 0 {
					l := s.Links().AppendEmpty()
					l.SetTraceID(pcommon.TraceID(randID(r, 16)))
					l.SetSpanID(pcommon.SpanID(randID(r, 8)))
					l.Attributes().PutStr("link.k", randStr(r))
				}
			}
		}
	}
	return td
}

// RandomMetrics is a batch with every metric type and number kind.
func RandomMetrics(seed uint64, metrics int) pmetric.Metrics {
	r := rand.New(rand.NewPCG(seed, 2))
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	randAttrs(r, rm.Resource().Attributes())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(randStr(r))
	for i := 0; i < metrics; i++ {
		m := sm.Metrics().AppendEmpty()
		m.SetName(fmt.Sprintf("m%d.%s", i, randStr(r)))
		m.SetUnit(randStr(r))
		m.SetDescription(randStr(r))
		points := 1 + r.IntN(4)
		switch i % 5 {
		case 0, 1:
			dps := m.SetEmptyGauge().DataPoints()
			if i%5 == 1 {
				s := m.SetEmptySum()
				s.SetIsMonotonic(true)
				s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
				dps = s.DataPoints()
			}
			for j := 0; j < points; j++ {
				p := dps.AppendEmpty()
				p.SetStartTimestamp(pcommon.Timestamp(r.Int64N(1 << 60)))
				p.SetTimestamp(pcommon.Timestamp(r.Int64N(1 << 60)))
				if r.IntN(2) == 0 {
					p.SetIntValue(r.Int64N(1000) - 500)
				} else {
					p.SetDoubleValue(float64(r.IntN(1000)) / 8)
				}
				randAttrs(r, p.Attributes())
			}
		case 2:
			dps := m.SetEmptyHistogram().DataPoints()
			for j := 0; j < points; j++ {
				p := dps.AppendEmpty()
				p.SetCount(uint64(r.IntN(100)))
				if r.IntN(2) == 0 {
					p.SetSum(float64(r.IntN(100)) / 4)
				}
				p.BucketCounts().FromRaw([]uint64{1, 2})
				p.ExplicitBounds().FromRaw([]float64{1})
				randAttrs(r, p.Attributes())
			}
		case 3:
			dps := m.SetEmptyExponentialHistogram().DataPoints()
			for j := 0; j < points; j++ {
				p := dps.AppendEmpty()
				p.SetCount(uint64(r.IntN(100)))
				p.SetSum(2.5)
				p.SetScale(2)
				randAttrs(r, p.Attributes())
			}
		case 4:
			dps := m.SetEmptySummary().DataPoints()
			for j := 0; j < points; j++ {
				p := dps.AppendEmpty()
				p.SetCount(uint64(r.IntN(100)))
				p.SetSum(float64(r.IntN(100)))
				p.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(r.IntN(2) == 0))
				randAttrs(r, p.Attributes())
			}
		}
	}
	return md
}

// RandomLogs is a batch of log records with every body type.
func RandomLogs(seed uint64, records int) plog.Logs {
	r := rand.New(rand.NewPCG(seed, 3))
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	randAttrs(r, rl.Resource().Attributes())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(randStr(r))
	for i := 0; i < records; i++ {
		l := sl.LogRecords().AppendEmpty()
		randValue(r, l.Body())
		l.SetSeverityNumber(plog.SeverityNumber(r.IntN(25)))
		l.SetSeverityText(randStr(r))
		if r.IntN(2) == 0 {
			l.SetTraceID(pcommon.TraceID(randID(r, 16)))
			l.SetSpanID(pcommon.SpanID(randID(r, 8)))
		}
		l.SetTimestamp(pcommon.Timestamp(r.Int64N(1 << 60)))
		l.SetObservedTimestamp(pcommon.Timestamp(r.Int64N(1 << 60)))
		l.SetFlags(plog.LogRecordFlags(r.IntN(2)))
		randAttrs(r, l.Attributes())
	}
	return ld
}
