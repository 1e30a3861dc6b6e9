// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// column appends field for every item of table to dst as an ABI column:
// the whole field for the whole batch in one host call. It returns
// ErrArgument for a table or field the current signal does not have.
// A column a kernel built earlier in the call is copied, not built again.
func (t *tables) column(dst []byte, table, field int32, key string) ([]byte, int32) {
	if c := t.cached(table, field, key); c != nil {
		// What the result buffer must grow is taken from the budget and
		// reckoned first, as for a column built afresh, and the copy is
		// made a step at a time with checks between (copyChecked): copied
		// in one append, a 30 MiB column asked for 1 ms before the
		// deadline ran 80-110 ms past it (attack round 27a), and 120 MiB
		// into a buffer already large enough 9-14 ms (its review).
		defer t.giveBack()
		if !t.Take(len(c.data) - (cap(dst) - len(dst))) {
			return dst, abi.ErrTooLarge
		}
		at := len(dst)
		dst = slices.Grow(dst, len(c.data))[:at+len(c.data)]
		copyChecked(t.guard, dst[at:], c.data)
		return dst, 0
	}
	return t.build1(dst, table, field, key)
}

// build1 builds a column into dst.
func (t *tables) build1(dst []byte, table, field int32, key string) ([]byte, int32) {
	n := t.count(table)
	if n < 0 {
		return dst, n
	}
	// A column is bounded as it is built, not after: a batch's items may
	// hold far more than the column may (a million spans of four empty
	// attributes make a 117 MB attribute column). Its growth is taken
	// from the shared budget as it happens, so that the pool's instances
	// cannot each build up to the limit at once; what is taken is given
	// back once it is built, for the caller to settle.
	defer t.giveBack()
	entries := int(n) * abi.EntrySize
	if t.maxColumn > 0 && entries > t.maxColumn || !t.Take(entries-(cap(dst)-len(dst))) {
		return dst, abi.ErrTooLarge
	}
	w := abi.NewColumnWriter(dst, int(n))
	if t.maxColumn > 0 {
		w.SetLimit(t.maxColumn)
	}
	w.SetBudget(t)
	rc := t.fill(&w, n, table, field, key)
	if rc == 0 && w.Over() {
		rc = abi.ErrTooLarge
	}
	return w.Bytes(), rc
}

// Take takes n bytes of the shared budget for a column being built.
func (t *tables) Take(n int) bool {
	if n <= 0 {
		return true
	}
	// Reckoned before it is allocated: a column is allocated, then
	// written, in steps no check splits (the entries of a million items,
	// 16 MB, at once).
	t.reckonBytes(n)
	if t.mem == nil {
		return true
	}
	if !t.mem.take(int64(n)) {
		return false
	}
	t.taken += int64(n)
	return true
}

// Give gives back n bytes a column being built took.
func (t *tables) Give(n int) {
	if n > 0 && t.mem != nil {
		t.mem.give(int64(n))
		t.taken -= int64(n)
	}
}

// giveBack gives back all a column being built took.
func (t *tables) giveBack() { t.Give(int(t.taken)) }

func (t *tables) fill(w *abi.ColumnWriter, n, table, field int32, key string) int32 {
	switch field {
	case abi.FieldAttr:
		if !hasAttrs(table) {
			return abi.ErrArgument
		}
		for i := int32(0); i < n && !w.Over(); i++ {
			if v, ok := t.attr(table, i, key); ok {
				t.writeValue(w, v)
			} else {
				w.Empty()
			}
			t.visit()
		}
		return 0
	case abi.FieldAttrs:
		if !hasAttrs(table) {
			return abi.ErrArgument
		}
		// Every attribute is a step that checks the deadline, and a column
		// over its limit, which will be refused, is left at once: 10
		// million attributes on one log record (20 MB) were all written
		// in one host call, 57-67 ms under a 10 ms timeout.
		for i := int32(0); i < n && !w.Over(); i++ {
			m := t.attrs(table, i)
			w.List(m.Len())
			for k, v := range m.All() {
				if w.Over() {
					break
				}
				w.Key(k)
				t.writeValue(w, v)
				t.visit()
			}
		}
		return 0
	}
	switch table {
	case abi.TableResource:
		return abi.ErrArgument
	case abi.TableScope:
		return t.scopeColumn(w, field)
	case abi.TableSpan:
		return t.spanColumn(w, field)
	case abi.TableEvent:
		return t.eventColumn(w, field)
	case abi.TableLink:
		return t.linkColumn(w, field)
	case abi.TableMetric:
		return t.metricColumn(w, field)
	case abi.TablePoint:
		return t.pointColumn(w, field)
	default:
		return t.logColumn(w, field)
	}
}

func (t *tables) scopeColumn(w *abi.ColumnWriter, field int32) int32 {
	for _, s := range t.scopes {
		switch field {
		case abi.FieldName:
			w.Str(s.scope.Name())
		case abi.FieldVersion:
			w.Str(s.scope.Version())
		case abi.FieldParent, abi.FieldResource:
			w.Int(int64(s.res))
		default:
			return abi.ErrArgument
		}
	}
	return checkField(field, abi.FieldName, abi.FieldVersion, abi.FieldParent, abi.FieldResource)
}

func (t *tables) spanColumn(w *abi.ColumnWriter, field int32) int32 {
	if !oneOf(field, abi.FieldParent, abi.FieldResource, abi.FieldName, abi.FieldTraceID, abi.FieldSpanID,
		abi.FieldParentSpanID, abi.FieldTraceState, abi.FieldKind, abi.FieldStartTime, abi.FieldTime,
		abi.FieldStatusCode, abi.FieldStatusMessage, abi.FieldFlags) {
		return abi.ErrArgument
	}
	// One loop per field keeps the switch out of the per-span path.
	switch field {
	case abi.FieldParent:
		for _, s := range t.spans {
			w.Int(int64(s.scope))
		}
	case abi.FieldResource:
		for _, s := range t.spans {
			w.Int(int64(s.res))
		}
	case abi.FieldName:
		if v := &t.spanNames; v.built { // read already, by a select
			for _, name := range v.names {
				w.Str(name)
			}
			break
		}
		for i := range t.spans {
			w.Str(t.span(int32(i)).Name())
		}
	case abi.FieldTraceID:
		for i := range t.spans {
			id := t.span(int32(i)).TraceID()
			w.BytesValue(id[:])
		}
	case abi.FieldSpanID:
		for i := range t.spans {
			id := t.span(int32(i)).SpanID()
			w.BytesValue(id[:])
		}
	case abi.FieldParentSpanID:
		for i := range t.spans {
			writeSpanID(w, t.span(int32(i)).ParentSpanID())
		}
	case abi.FieldTraceState:
		for i := range t.spans {
			w.Str(t.span(int32(i)).TraceState().AsRaw())
		}
	case abi.FieldKind:
		for i := range t.spans {
			w.Int(int64(t.span(int32(i)).Kind()))
		}
	case abi.FieldStartTime:
		for i := range t.spans {
			w.Int(int64(t.span(int32(i)).StartTimestamp()))
		}
	case abi.FieldTime:
		for i := range t.spans {
			w.Int(int64(t.span(int32(i)).EndTimestamp()))
		}
	case abi.FieldStatusCode:
		for i := range t.spans {
			w.Int(int64(t.span(int32(i)).Status().Code()))
		}
	case abi.FieldStatusMessage:
		for i := range t.spans {
			w.Str(t.span(int32(i)).Status().Message())
		}
	case abi.FieldFlags:
		for i := range t.spans {
			w.Int(int64(t.span(int32(i)).Flags()))
		}
	}
	return 0
}

func (t *tables) eventColumn(w *abi.ColumnWriter, field int32) int32 {
	for i, e := range t.events {
		switch field {
		case abi.FieldParent:
			w.Int(int64(e.span))
		case abi.FieldName:
			w.Str(t.event(int32(i)).Name())
		case abi.FieldTime:
			w.Int(int64(t.event(int32(i)).Timestamp()))
		default:
			return abi.ErrArgument
		}
	}
	return checkField(field, abi.FieldParent, abi.FieldName, abi.FieldTime)
}

func (t *tables) linkColumn(w *abi.ColumnWriter, field int32) int32 {
	for i, l := range t.links {
		switch field {
		case abi.FieldParent:
			w.Int(int64(l.span))
		case abi.FieldTraceID:
			id := t.link(int32(i)).TraceID()
			w.BytesValue(id[:])
		case abi.FieldSpanID:
			id := t.link(int32(i)).SpanID()
			w.BytesValue(id[:])
		case abi.FieldTraceState:
			w.Str(t.link(int32(i)).TraceState().AsRaw())
		case abi.FieldFlags:
			w.Int(int64(t.link(int32(i)).Flags()))
		default:
			return abi.ErrArgument
		}
	}
	return checkField(field, abi.FieldParent, abi.FieldTraceID, abi.FieldSpanID, abi.FieldTraceState, abi.FieldFlags)
}

func (t *tables) metricColumn(w *abi.ColumnWriter, field int32) int32 {
	for _, m := range t.mets {
		switch field {
		case abi.FieldParent:
			w.Int(int64(m.scope))
		case abi.FieldResource:
			w.Int(int64(m.res))
		case abi.FieldName:
			w.Str(m.m.Name())
		case abi.FieldDescription:
			w.Str(m.m.Description())
		case abi.FieldUnit:
			w.Str(m.m.Unit())
		case abi.FieldKind:
			w.Int(int64(m.m.Type()))
		default:
			return abi.ErrArgument
		}
	}
	return checkField(field, abi.FieldParent, abi.FieldResource, abi.FieldName, abi.FieldDescription, abi.FieldUnit, abi.FieldKind)
}

func (t *tables) pointColumn(w *abi.ColumnWriter, field int32) int32 {
	for i := range t.points {
		r := &t.points[i]
		switch field {
		case abi.FieldParent:
			w.Int(int64(r.metric))
			continue
		case abi.FieldResource:
			w.Int(int64(r.res))
			continue
		}
		// Only the point's own fields need it reached through its metric.
		p := t.point(int32(i))
		switch field {
		case abi.FieldStartTime, abi.FieldTime, abi.FieldFlags:
			w.Int(p.timeOrFlags(field))
		case abi.FieldValue:
			p.writeNumber(w)
		case abi.FieldCount:
			p.writeCount(w)
		case abi.FieldSum:
			p.writeSum(w)
		default:
			return abi.ErrArgument
		}
	}
	return checkField(field, abi.FieldParent, abi.FieldResource, abi.FieldStartTime, abi.FieldTime,
		abi.FieldFlags, abi.FieldValue, abi.FieldCount, abi.FieldSum)
}

func (p *point) timeOrFlags(field int32) int64 {
	var start, ts pcommon.Timestamp
	var flags pmetric.DataPointFlags
	switch p.typ {
	case pmetric.MetricTypeHistogram:
		start, ts, flags = p.hist.StartTimestamp(), p.hist.Timestamp(), p.hist.Flags()
	case pmetric.MetricTypeExponentialHistogram:
		start, ts, flags = p.exp.StartTimestamp(), p.exp.Timestamp(), p.exp.Flags()
	case pmetric.MetricTypeSummary:
		start, ts, flags = p.summ.StartTimestamp(), p.summ.Timestamp(), p.summ.Flags()
	default:
		start, ts, flags = p.num.StartTimestamp(), p.num.Timestamp(), p.num.Flags()
	}
	switch field {
	case abi.FieldStartTime:
		return int64(start)
	case abi.FieldTime:
		return int64(ts)
	}
	return int64(flags)
}

func (p *point) writeNumber(w *abi.ColumnWriter) {
	if p.typ != pmetric.MetricTypeGauge && p.typ != pmetric.MetricTypeSum {
		w.Empty()
		return
	}
	switch p.num.ValueType() {
	case pmetric.NumberDataPointValueTypeInt:
		w.Int(p.num.IntValue())
		return
	case pmetric.NumberDataPointValueTypeDouble:
		w.Double(p.num.DoubleValue())
		return
	}
	w.Empty()
}

func (p *point) writeCount(w *abi.ColumnWriter) {
	switch p.typ {
	case pmetric.MetricTypeHistogram:
		w.Int(int64(p.hist.Count()))
		return
	case pmetric.MetricTypeExponentialHistogram:
		w.Int(int64(p.exp.Count()))
		return
	case pmetric.MetricTypeSummary:
		w.Int(int64(p.summ.Count()))
		return
	}
	w.Empty()
}

func (p *point) writeSum(w *abi.ColumnWriter) {
	switch {
	case p.typ == pmetric.MetricTypeHistogram && p.hist.HasSum():
		w.Double(p.hist.Sum())
		return
	case p.typ == pmetric.MetricTypeExponentialHistogram && p.exp.HasSum():
		w.Double(p.exp.Sum())
		return
	case p.typ == pmetric.MetricTypeSummary:
		w.Double(p.summ.Sum())
		return
	}
	w.Empty()
}

func (t *tables) logColumn(w *abi.ColumnWriter, field int32) int32 {
	for _, l := range t.records {
		r := l.rec
		switch field {
		case abi.FieldParent:
			w.Int(int64(l.scope))
		case abi.FieldResource:
			w.Int(int64(l.res))
		case abi.FieldTime:
			w.Int(int64(r.Timestamp()))
		case abi.FieldObservedTime:
			w.Int(int64(r.ObservedTimestamp()))
		case abi.FieldSeverity:
			w.Int(int64(r.SeverityNumber()))
		case abi.FieldSeverityText:
			w.Str(r.SeverityText())
		case abi.FieldValue:
			t.writeValue(w, r.Body())
		case abi.FieldTraceID:
			if id := r.TraceID(); id.IsEmpty() {
				w.Empty()
			} else {
				w.BytesValue(id[:])
			}
		case abi.FieldSpanID:
			writeSpanID(w, r.SpanID())
		case abi.FieldFlags:
			w.Int(int64(r.Flags()))
		default:
			return abi.ErrArgument
		}
	}
	return checkField(field, abi.FieldParent, abi.FieldResource, abi.FieldTime, abi.FieldObservedTime,
		abi.FieldSeverity, abi.FieldSeverityText, abi.FieldValue, abi.FieldTraceID, abi.FieldSpanID, abi.FieldFlags)
}

func writeSpanID(w *abi.ColumnWriter, id pcommon.SpanID) {
	if id.IsEmpty() {
		w.Empty()
		return
	}
	w.BytesValue(id[:])
}

// writeValue writes an attribute or body value. Maps and slices cross as
// read-only JSON text (TagOther), the same text pcommon's AsString gives
// (see jsonvalue.go), measured before it is written. One nested too
// deeply, or that would take the column past its limit, abandons the
// column.
func (t *tables) writeValue(w *abi.ColumnWriter, v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		w.Str(v.Str())
	case pcommon.ValueTypeInt:
		w.Int(v.Int())
	case pcommon.ValueTypeDouble:
		w.Double(v.Double())
	case pcommon.ValueTypeBool:
		w.Bool(v.Bool())
	case pcommon.ValueTypeBytes:
		// Read as a copy: not made for a value the column has no room
		// for, and reckoned as fresh memory.
		b := v.Bytes()
		if b.Len() > w.Room() {
			w.Abandon()
			return
		}
		t.reckonBytes(b.Len())
		w.BytesValue(b.AsRaw())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		if w.Over() {
			return
		}
		switch n, err := measureJSON(t, v, w.Room()); err {
		case nil:
			w.OtherSized(n, func(dst []byte) []byte { return writeJSON(t, dst, v) })
		case errNotJSON:
			w.Other("") // as AsString has it
		default:
			w.Abandon()
		}
	default:
		w.Empty()
	}
}

// checkField is ErrArgument when field is not among ok. The per-table
// loops above return early on a bad field only when the table has items, so
// an empty table still answers a wrong field with an error.
func checkField(field int32, ok ...int32) int32 {
	if oneOf(field, ok...) {
		return 0
	}
	return abi.ErrArgument
}

func oneOf(field int32, ok ...int32) bool {
	for _, f := range ok {
		if f == field {
			return true
		}
	}
	return false
}
