// SPDX-License-Identifier: Apache-2.0

package sdktest

import "github.com/wasmcol/wasmcol/wasm-sdk/abi"

// tables is one batch flattened the way the host flattens it: every table
// lists its items in OTLP order, each row pointing into the model so that
// edits land in place. Rows are built once per call; edits never add items
// and drops are only marked until the end, so indexes stay stable.
type tables struct {
	signal int32
	// The batch itself; exactly one is set.
	tracesDoc  *tracesData
	metricsDoc *metricsData
	logsDoc    *logsData

	resources []*resource
	scopes    []scopeRow
	spans     []spanRow
	events    []eventRow
	links     []linkRow
	metrics   []metricRow
	points    []pointRow
	logs      []logRow
}

type scopeRow struct {
	s   *scope
	res int
}

type spanRow struct {
	s          *span
	scope, res int
}

type eventRow struct {
	e    *spanEvent
	span int
}

type linkRow struct {
	l    *spanLink
	span int
}

type metricRow struct {
	m          *metric
	scope, res int
}

// pointRow points at exactly one of num, hist, exp and summ.
type pointRow struct {
	metric, res int
	num         *numberPoint
	hist        *histogramPoint
	exp         *expHistogramPoint
	summ        *summaryPoint
}

type logRow struct {
	l          *logRecord
	scope, res int
}

func flattenTraces(d *tracesData) *tables {
	t := &tables{signal: abi.SignalTraces, tracesDoc: d}
	for ri := range d.ResourceSpans {
		rs := &d.ResourceSpans[ri]
		t.resources = append(t.resources, &rs.Resource)
		for si := range rs.ScopeSpans {
			ss := &rs.ScopeSpans[si]
			t.scopes = append(t.scopes, scopeRow{&ss.Scope, ri})
			for i := range ss.Spans {
				t.spans = append(t.spans, spanRow{&ss.Spans[i], len(t.scopes) - 1, ri})
			}
		}
	}
	// Events and links are listed span by span after every span, which is
	// the same order as walking the spans again.
	for si, row := range t.spans {
		for i := range row.s.Events {
			t.events = append(t.events, eventRow{&row.s.Events[i], si})
		}
	}
	for si, row := range t.spans {
		for i := range row.s.Links {
			t.links = append(t.links, linkRow{&row.s.Links[i], si})
		}
	}
	return t
}

func flattenMetrics(d *metricsData) *tables {
	t := &tables{signal: abi.SignalMetrics, metricsDoc: d}
	for ri := range d.ResourceMetrics {
		rm := &d.ResourceMetrics[ri]
		t.resources = append(t.resources, &rm.Resource)
		for si := range rm.ScopeMetrics {
			sm := &rm.ScopeMetrics[si]
			t.scopes = append(t.scopes, scopeRow{&sm.Scope, ri})
			for i := range sm.Metrics {
				t.metrics = append(t.metrics, metricRow{&sm.Metrics[i], len(t.scopes) - 1, ri})
			}
		}
	}
	for mi, row := range t.metrics {
		m := row.m
		switch {
		case m.Gauge != nil:
			for i := range m.Gauge.DataPoints {
				t.points = append(t.points, pointRow{metric: mi, res: row.res, num: &m.Gauge.DataPoints[i]})
			}
		case m.Sum != nil:
			for i := range m.Sum.DataPoints {
				t.points = append(t.points, pointRow{metric: mi, res: row.res, num: &m.Sum.DataPoints[i]})
			}
		case m.Histogram != nil:
			for i := range m.Histogram.DataPoints {
				t.points = append(t.points, pointRow{metric: mi, res: row.res, hist: &m.Histogram.DataPoints[i]})
			}
		case m.ExponentialHistogram != nil:
			for i := range m.ExponentialHistogram.DataPoints {
				t.points = append(t.points, pointRow{metric: mi, res: row.res, exp: &m.ExponentialHistogram.DataPoints[i]})
			}
		case m.Summary != nil:
			for i := range m.Summary.DataPoints {
				t.points = append(t.points, pointRow{metric: mi, res: row.res, summ: &m.Summary.DataPoints[i]})
			}
		}
	}
	return t
}

func flattenLogs(d *logsData) *tables {
	t := &tables{signal: abi.SignalLogs, logsDoc: d}
	for ri := range d.ResourceLogs {
		rl := &d.ResourceLogs[ri]
		t.resources = append(t.resources, &rl.Resource)
		for si := range rl.ScopeLogs {
			sl := &rl.ScopeLogs[si]
			t.scopes = append(t.scopes, scopeRow{&sl.Scope, ri})
			for i := range sl.LogRecords {
				t.logs = append(t.logs, logRow{&sl.LogRecords[i], len(t.scopes) - 1, ri})
			}
		}
	}
	return t
}

// signalOf is the signal a table belongs to; 0 for the shared tables.
var signalOf = map[int32]int32{
	abi.TableResource: 0, abi.TableScope: 0,
	abi.TableSpan: abi.SignalTraces, abi.TableEvent: abi.SignalTraces, abi.TableLink: abi.SignalTraces,
	abi.TableMetric: abi.SignalMetrics, abi.TablePoint: abi.SignalMetrics,
	abi.TableLog: abi.SignalLogs,
}

// length is the table's item count, or abi.ErrArgument for a table that
// does not exist or belongs to another signal.
func (t *tables) length(table int32) int32 {
	sig, ok := signalOf[table]
	if !ok || (sig != 0 && sig != t.signal) {
		return abi.ErrArgument
	}
	switch table {
	case abi.TableResource:
		return int32(len(t.resources))
	case abi.TableScope:
		return int32(len(t.scopes))
	case abi.TableSpan:
		return int32(len(t.spans))
	case abi.TableEvent:
		return int32(len(t.events))
	case abi.TableLink:
		return int32(len(t.links))
	case abi.TableMetric:
		return int32(len(t.metrics))
	case abi.TablePoint:
		return int32(len(t.points))
	}
	return int32(len(t.logs))
}

// hasField is the ABI's field matrix: which fields each table serves.
var hasField = map[int32]map[int32]bool{
	abi.TableResource: set(abi.FieldAttr, abi.FieldAttrs),
	abi.TableScope: set(abi.FieldAttr, abi.FieldAttrs, abi.FieldParent, abi.FieldResource,
		abi.FieldName, abi.FieldVersion),
	abi.TableSpan: set(abi.FieldAttr, abi.FieldAttrs, abi.FieldParent, abi.FieldResource,
		abi.FieldName, abi.FieldTraceID, abi.FieldSpanID, abi.FieldParentSpanID, abi.FieldTraceState,
		abi.FieldKind, abi.FieldStartTime, abi.FieldTime, abi.FieldStatusCode, abi.FieldStatusMessage,
		abi.FieldFlags),
	abi.TableEvent: set(abi.FieldAttr, abi.FieldAttrs, abi.FieldParent, abi.FieldName, abi.FieldTime),
	abi.TableLink: set(abi.FieldAttr, abi.FieldAttrs, abi.FieldParent, abi.FieldTraceID,
		abi.FieldSpanID, abi.FieldTraceState),
	abi.TableMetric: set(abi.FieldParent, abi.FieldResource, abi.FieldName, abi.FieldDescription,
		abi.FieldUnit, abi.FieldKind),
	abi.TablePoint: set(abi.FieldAttr, abi.FieldAttrs, abi.FieldParent, abi.FieldResource,
		abi.FieldStartTime, abi.FieldTime, abi.FieldFlags, abi.FieldValue, abi.FieldCount, abi.FieldSum),
	abi.TableLog: set(abi.FieldAttr, abi.FieldAttrs, abi.FieldParent, abi.FieldResource,
		abi.FieldTraceID, abi.FieldSpanID, abi.FieldTime, abi.FieldFlags, abi.FieldValue,
		abi.FieldSeverity, abi.FieldSeverityText, abi.FieldObservedTime),
}

func set(fields ...int32) map[int32]bool {
	m := make(map[int32]bool, len(fields))
	for _, f := range fields {
		m[f] = true
	}
	return m
}

// column serves one field of every item of a table, back to back.
func (t *tables) column(table, field int32, key string) ([]byte, int32) {
	n := t.length(table)
	if n < 0 {
		return nil, n
	}
	if !hasField[table][field] {
		return nil, abi.ErrArgument
	}
	var b []byte
	for i := 0; i < int(n); i++ {
		switch field {
		case abi.FieldAttr:
			attrs := *t.attrs(table, i)
			if j := attrIndex(attrs, key); j >= 0 {
				b = attrs[j].Value.appendColumn(b)
			} else {
				b = abi.AppendEmpty(b)
			}
		case abi.FieldAttrs:
			attrs := *t.attrs(table, i)
			b = abi.AppendU32(append(b, abi.TagList), uint32(len(attrs)))
			for _, kv := range attrs {
				b = kv.Value.appendColumn(abi.AppendStr(b, kv.Key))
			}
		default:
			b = t.cell(table, field, i, b)
		}
	}
	return b, 0
}

// attrs is the attribute list of item i; nil for a table without one.
func (t *tables) attrs(table int32, i int) *[]keyValue {
	switch table {
	case abi.TableResource:
		return &t.resources[i].Attributes
	case abi.TableScope:
		return &t.scopes[i].s.Attributes
	case abi.TableSpan:
		return &t.spans[i].s.Attributes
	case abi.TableEvent:
		return &t.events[i].e.Attributes
	case abi.TableLink:
		return &t.links[i].l.Attributes
	case abi.TablePoint:
		p := t.points[i]
		switch {
		case p.num != nil:
			return &p.num.Attributes
		case p.hist != nil:
			return &p.hist.Attributes
		case p.exp != nil:
			return &p.exp.Attributes
		}
		return &p.summ.Attributes
	case abi.TableLog:
		return &t.logs[i].l.Attributes
	}
	return nil
}

// cell appends one non-attribute field of item i; hasField vouches for it.
func (t *tables) cell(table, field int32, i int, b []byte) []byte {
	str := func(s string) []byte { return abi.AppendStrValue(b, s) }
	num := func(v int64) []byte { return abi.AppendIntValue(b, v) }
	switch table {
	case abi.TableScope:
		r := t.scopes[i]
		switch field {
		case abi.FieldParent, abi.FieldResource:
			return num(int64(r.res))
		case abi.FieldName:
			return str(r.s.Name)
		case abi.FieldVersion:
			return str(r.s.Version)
		}
	case abi.TableSpan:
		r := t.spans[i]
		s := r.s
		switch field {
		case abi.FieldParent:
			return num(int64(r.scope))
		case abi.FieldResource:
			return num(int64(r.res))
		case abi.FieldName:
			return str(s.Name)
		case abi.FieldTraceID:
			return abi.AppendBytesValue(b, s.TraceID[:])
		case abi.FieldSpanID:
			return abi.AppendBytesValue(b, s.SpanID[:])
		case abi.FieldParentSpanID:
			if s.ParentSpanID == (spanID{}) {
				return abi.AppendEmpty(b)
			}
			return abi.AppendBytesValue(b, s.ParentSpanID[:])
		case abi.FieldTraceState:
			return str(s.TraceState)
		case abi.FieldKind:
			return num(int64(s.Kind))
		case abi.FieldStartTime:
			return num(int64(s.StartTimeUnixNano))
		case abi.FieldTime:
			return num(int64(s.EndTimeUnixNano))
		case abi.FieldStatusCode:
			return num(int64(s.Status.Code))
		case abi.FieldStatusMessage:
			return str(s.Status.Message)
		case abi.FieldFlags:
			return num(int64(s.Flags))
		}
	case abi.TableEvent:
		r := t.events[i]
		switch field {
		case abi.FieldParent:
			return num(int64(r.span))
		case abi.FieldName:
			return str(r.e.Name)
		case abi.FieldTime:
			return num(int64(r.e.TimeUnixNano))
		}
	case abi.TableLink:
		r := t.links[i]
		switch field {
		case abi.FieldParent:
			return num(int64(r.span))
		case abi.FieldTraceID:
			return abi.AppendBytesValue(b, r.l.TraceID[:])
		case abi.FieldSpanID:
			return abi.AppendBytesValue(b, r.l.SpanID[:])
		case abi.FieldTraceState:
			return str(r.l.TraceState)
		}
	case abi.TableMetric:
		r := t.metrics[i]
		switch field {
		case abi.FieldParent:
			return num(int64(r.scope))
		case abi.FieldResource:
			return num(int64(r.res))
		case abi.FieldName:
			return str(r.m.Name)
		case abi.FieldDescription:
			return str(r.m.Description)
		case abi.FieldUnit:
			return str(r.m.Unit)
		case abi.FieldKind:
			return num(metricType(r.m))
		}
	case abi.TablePoint:
		return t.pointCell(field, i, b)
	case abi.TableLog:
		r := t.logs[i]
		l := r.l
		switch field {
		case abi.FieldParent:
			return num(int64(r.scope))
		case abi.FieldResource:
			return num(int64(r.res))
		case abi.FieldTraceID:
			if l.TraceID == (traceID{}) {
				return abi.AppendEmpty(b)
			}
			return abi.AppendBytesValue(b, l.TraceID[:])
		case abi.FieldSpanID:
			if l.SpanID == (spanID{}) {
				return abi.AppendEmpty(b)
			}
			return abi.AppendBytesValue(b, l.SpanID[:])
		case abi.FieldTime:
			return num(int64(l.TimeUnixNano))
		case abi.FieldFlags:
			return num(int64(l.Flags))
		case abi.FieldValue:
			return l.Body.appendColumn(b)
		case abi.FieldSeverity:
			return num(int64(l.SeverityNumber))
		case abi.FieldSeverityText:
			return str(l.SeverityText)
		case abi.FieldObservedTime:
			return num(int64(l.ObservedTimeUnixNano))
		}
	}
	panic("sdktest: hasField and cell disagree") // a bug in this package, not in a filter
}

func (t *tables) pointCell(field int32, i int, b []byte) []byte {
	r := t.points[i]
	var start, time u64
	var flags u32
	var count u64
	var sum *f64
	switch {
	case r.num != nil:
		start, time, flags = r.num.StartTimeUnixNano, r.num.TimeUnixNano, r.num.Flags
	case r.hist != nil:
		start, time, flags, count, sum = r.hist.StartTimeUnixNano, r.hist.TimeUnixNano, r.hist.Flags, r.hist.Count, r.hist.Sum
	case r.exp != nil:
		start, time, flags, count, sum = r.exp.StartTimeUnixNano, r.exp.TimeUnixNano, r.exp.Flags, r.exp.Count, r.exp.Sum
	default:
		// A summary's sum is not optional in OTLP.
		start, time, flags, count, sum = r.summ.StartTimeUnixNano, r.summ.TimeUnixNano, r.summ.Flags, r.summ.Count, &r.summ.Sum
	}
	switch field {
	case abi.FieldParent:
		return abi.AppendIntValue(b, int64(r.metric))
	case abi.FieldResource:
		return abi.AppendIntValue(b, int64(r.res))
	case abi.FieldStartTime:
		return abi.AppendIntValue(b, int64(start))
	case abi.FieldTime:
		return abi.AppendIntValue(b, int64(time))
	case abi.FieldFlags:
		return abi.AppendIntValue(b, int64(flags))
	case abi.FieldValue:
		switch {
		case r.num == nil:
			return abi.AppendEmpty(b)
		case r.num.AsInt != nil:
			return abi.AppendIntValue(b, int64(*r.num.AsInt))
		case r.num.AsDouble != nil:
			return abi.AppendDoubleValue(b, float64(*r.num.AsDouble))
		}
		return abi.AppendEmpty(b)
	case abi.FieldCount:
		if r.num != nil {
			return abi.AppendEmpty(b)
		}
		return abi.AppendIntValue(b, int64(count))
	case abi.FieldSum:
		if sum == nil {
			return abi.AppendEmpty(b)
		}
		return abi.AppendDoubleValue(b, float64(*sum))
	}
	panic("sdktest: hasField and pointCell disagree")
}

func metricType(m *metric) int64 {
	switch {
	case m.Gauge != nil:
		return abi.MetricGauge
	case m.Sum != nil:
		return abi.MetricSum
	case m.Histogram != nil:
		return abi.MetricHistogram
	case m.ExponentialHistogram != nil:
		return abi.MetricExponentialHistogram
	case m.Summary != nil:
		return abi.MetricSummary
	}
	return abi.MetricEmpty
}
