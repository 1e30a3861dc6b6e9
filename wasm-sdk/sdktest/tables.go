// SPDX-License-Identifier: Apache-2.0

package sdktest

import "github.com/wasmcol/wasmcol/wasm-sdk/abi"

// tables is one batch flattened the way the host flattens it: every table
// lists its items in OTLP order, each row pointing into the model so that
// edits land in place. Rows are built once per call; edits never add items
// and drops are only marked until the end, so indexes stay stable.
type tables struct {
	signal int32
	// tooDeep is set when the column being built met a value nested
	// deeper than maxValueDepth.
	tooDeep bool
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

// root is the batch the tables were flattened from.
func (t *tables) root() any {
	switch {
	case t.tracesDoc != nil:
		return t.tracesDoc
	case t.metricsDoc != nil:
		return t.metricsDoc
	}
	return t.logsDoc
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
	// Links serve their flags too: the host does, though ABI v1's field
	// list names only span, point and log.
	abi.TableLink: set(abi.FieldAttr, abi.FieldAttrs, abi.FieldParent, abi.FieldTraceID,
		abi.FieldSpanID, abi.FieldTraceState, abi.FieldFlags),
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
	w := newColWriter(nil, int(n))
	t.tooDeep = false
	for i := 0; i < int(n); i++ {
		switch field {
		case abi.FieldAttr:
			attrs := *t.attrs(table, i)
			if j := attrIndex(attrs, key); j >= 0 {
				t.write(w, attrs[j].Value)
			} else {
				w.Empty()
			}
		case abi.FieldAttrs:
			attrs := *t.attrs(table, i)
			w.List(len(attrs))
			for _, kv := range attrs {
				w.Key(kv.Key)
				t.write(w, kv.Value)
			}
		default:
			t.cell(w, table, field, i)
		}
	}
	if t.tooDeep {
		return nil, abi.ErrTooLarge
	}
	return w.Bytes(), 0
}

// write writes a value into a column, noting one nested too deeply.
func (t *tables) write(w *colWriter, v anyValue) {
	if !v.write(w) {
		t.tooDeep = true
	}
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

// cell writes one non-attribute field of item i; hasField vouches for it.
func (t *tables) cell(w *colWriter, table, field int32, i int) {
	str, num := w.Str, w.Int
	id := func(id []byte) { w.BytesValue(id) }
	// optID is an ID that reads as Empty when all zero.
	optID := func(b []byte) {
		for _, c := range b {
			if c != 0 {
				w.BytesValue(b)
				return
			}
		}
		w.Empty()
	}
	switch table {
	case abi.TableScope:
		r := t.scopes[i]
		switch field {
		case abi.FieldParent, abi.FieldResource:
			num(int64(r.res))
		case abi.FieldName:
			str(r.s.Name)
		case abi.FieldVersion:
			str(r.s.Version)
		default:
			mismatch()
		}
	case abi.TableSpan:
		r := t.spans[i]
		s := r.s
		switch field {
		case abi.FieldParent:
			num(int64(r.scope))
		case abi.FieldResource:
			num(int64(r.res))
		case abi.FieldName:
			str(s.Name)
		case abi.FieldTraceID:
			id(s.TraceID[:])
		case abi.FieldSpanID:
			id(s.SpanID[:])
		case abi.FieldParentSpanID:
			optID(s.ParentSpanID[:])
		case abi.FieldTraceState:
			str(s.TraceState)
		case abi.FieldKind:
			num(int64(s.Kind))
		case abi.FieldStartTime:
			num(int64(s.StartTimeUnixNano))
		case abi.FieldTime:
			num(int64(s.EndTimeUnixNano))
		case abi.FieldStatusCode:
			num(int64(s.Status.Code))
		case abi.FieldStatusMessage:
			str(s.Status.Message)
		case abi.FieldFlags:
			num(int64(s.Flags))
		default:
			mismatch()
		}
	case abi.TableEvent:
		r := t.events[i]
		switch field {
		case abi.FieldParent:
			num(int64(r.span))
		case abi.FieldName:
			str(r.e.Name)
		case abi.FieldTime:
			num(int64(r.e.TimeUnixNano))
		default:
			mismatch()
		}
	case abi.TableLink:
		r := t.links[i]
		switch field {
		case abi.FieldParent:
			num(int64(r.span))
		case abi.FieldTraceID:
			id(r.l.TraceID[:])
		case abi.FieldSpanID:
			id(r.l.SpanID[:])
		case abi.FieldTraceState:
			str(r.l.TraceState)
		case abi.FieldFlags:
			num(int64(r.l.Flags))
		default:
			mismatch()
		}
	case abi.TableMetric:
		r := t.metrics[i]
		switch field {
		case abi.FieldParent:
			num(int64(r.scope))
		case abi.FieldResource:
			num(int64(r.res))
		case abi.FieldName:
			str(r.m.Name)
		case abi.FieldDescription:
			str(r.m.Description)
		case abi.FieldUnit:
			str(r.m.Unit)
		case abi.FieldKind:
			num(metricType(r.m))
		default:
			mismatch()
		}
	case abi.TablePoint:
		t.pointCell(w, field, i)
	case abi.TableLog:
		r := t.logs[i]
		l := r.l
		switch field {
		case abi.FieldParent:
			num(int64(r.scope))
		case abi.FieldResource:
			num(int64(r.res))
		case abi.FieldTraceID:
			optID(l.TraceID[:])
		case abi.FieldSpanID:
			optID(l.SpanID[:])
		case abi.FieldTime:
			num(int64(l.TimeUnixNano))
		case abi.FieldFlags:
			num(int64(l.Flags))
		case abi.FieldValue:
			t.write(w, l.Body)
		case abi.FieldSeverity:
			num(int64(l.SeverityNumber))
		case abi.FieldSeverityText:
			str(l.SeverityText)
		case abi.FieldObservedTime:
			num(int64(l.ObservedTimeUnixNano))
		default:
			mismatch()
		}
	default:
		mismatch()
	}
}

// mismatch reports a bug in this package, not in a filter: hasField lists
// a field that cell does not serve.
func mismatch() { panic("sdktest: hasField and cell disagree") }

func (t *tables) pointCell(w *colWriter, field int32, i int) {
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
		w.Int(int64(r.metric))
	case abi.FieldResource:
		w.Int(int64(r.res))
	case abi.FieldStartTime:
		w.Int(int64(start))
	case abi.FieldTime:
		w.Int(int64(time))
	case abi.FieldFlags:
		w.Int(int64(flags))
	case abi.FieldValue:
		switch {
		case r.num != nil && r.num.AsInt != nil:
			w.Int(int64(*r.num.AsInt))
		case r.num != nil && r.num.AsDouble != nil:
			w.Double(float64(*r.num.AsDouble))
		default:
			w.Empty()
		}
	case abi.FieldCount:
		if r.num != nil {
			w.Empty()
		} else {
			w.Int(int64(count))
		}
	case abi.FieldSum:
		if sum == nil {
			w.Empty()
		} else {
			w.Double(float64(*sum))
		}
	default:
		mismatch()
	}
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
