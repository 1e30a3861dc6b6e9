// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"fmt"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// editOp is one decoded, validated edit.
type editOp struct {
	op       uint8
	table    int32
	index    int
	key, new string // attribute key; new key for a rename
	field    int32
	val      anyValue
}

var opNames = map[uint8]string{
	abi.OpSetAttr: "set attribute", abi.OpDeleteAttr: "delete attribute",
	abi.OpRenameAttr: "rename attribute", abi.OpSetField: "set field", abi.OpDrop: "drop",
}

var tableNames = map[int32]string{
	abi.TableResource: "resource", abi.TableScope: "scope", abi.TableSpan: "span",
	abi.TableEvent: "event", abi.TableLink: "link", abi.TableMetric: "metric",
	abi.TablePoint: "point", abi.TableLog: "log",
}

// dropTables are the tables whose items OpDrop removes.
var dropTables = set(abi.TableSpan, abi.TableMetric, abi.TablePoint, abi.TableLog)

// apply validates the staged edit lists as a whole and, only if every op
// is valid, applies them in order, then removes what was dropped. An
// invalid op leaves the batch exactly as it was.
func (t *tables) apply(lists [][]byte) error {
	var ops []editOp
	for _, list := range lists {
		d := abi.NewDecoder(list)
		for !d.Done() {
			op, err := t.decodeOp(&d)
			if err != nil {
				return fmt.Errorf("wasmcol: edit %d rejected, no edit applied: %w", len(ops), err)
			}
			ops = append(ops, op)
		}
	}
	dropped := false
	for _, op := range ops {
		switch op.op {
		case abi.OpSetAttr:
			dropLaterDuplicates(t.attrs(op.table, op.index), op.key)
			putAttr(t.attrs(op.table, op.index), op.key, op.val)
		case abi.OpDeleteAttr:
			dropLaterDuplicates(t.attrs(op.table, op.index), op.key)
			removeAttr(t.attrs(op.table, op.index), op.key)
		case abi.OpRenameAttr:
			dropLaterDuplicates(t.attrs(op.table, op.index), op.key)
			dropLaterDuplicates(t.attrs(op.table, op.index), op.new)
			renameAttr(t.attrs(op.table, op.index), op.key, op.new)
		case abi.OpSetField:
			t.setField(op)
		case abi.OpDrop:
			t.markDrop(op.table, op.index)
			dropped = true
		}
	}
	if dropped {
		t.sweep()
	}
	return nil
}

// decodeOp reads and checks one op against the batch as it arrived.
func (t *tables) decodeOp(d *abi.Decoder) (editOp, error) {
	op := editOp{op: d.U8(), table: int32(d.U8()), index: int(d.U32())}
	if d.Err() != nil {
		return op, fmt.Errorf("malformed edit list: %w", d.Err())
	}
	name, ok := opNames[op.op]
	if !ok {
		return op, fmt.Errorf("unknown op %d", op.op)
	}
	where := fmt.Sprintf("%s on %s %d", name, tableName(op.table), op.index)
	n := t.length(op.table)
	switch {
	case n < 0:
		return op, fmt.Errorf("%s: no such table in a %s batch", where, signalName(t.signal))
	case op.index >= int(n):
		return op, fmt.Errorf("%s: index out of range (the table has %d items)", where, n)
	}
	switch op.op {
	case abi.OpSetAttr, abi.OpDeleteAttr, abi.OpRenameAttr:
		if t.attrs(op.table, op.index) == nil {
			return op, fmt.Errorf("%s: the table has no attributes", where)
		}
		op.key = string(d.Raw())
		switch op.op {
		case abi.OpSetAttr:
			s := d.Value()
			for i := uint64(0); s.Tag == abi.TagList && i < s.Bits && d.Err() == nil; i++ {
				d.Raw() // read past the list so that the error names the type, not the framing
				d.Skip()
			}
			v, ok := scalarValue(s)
			if d.Err() == nil && !ok {
				return op, fmt.Errorf("%s %q: an attribute must be a string, int, double, bool or bytes, got tag %d", where, op.key, s.Tag)
			}
			op.val = v
		case abi.OpRenameAttr:
			op.new = string(d.Raw())
		}
	case abi.OpSetField:
		op.field = int32(d.U8())
		s := d.Value()
		v, ok := scalarValue(s)
		if d.Err() == nil {
			if !ok {
				return op, fmt.Errorf("%s: field %d: a value of tag %d cannot be set", where, op.field, s.Tag)
			}
			if err := t.checkSet(op.table, op.index, op.field, v); err != nil {
				return op, fmt.Errorf("%s: field %d: %w", where, op.field, err)
			}
		}
		op.val = v
	case abi.OpDrop:
		if !dropTables[op.table] {
			return op, fmt.Errorf("%s: only spans, metrics, points and logs can be dropped", where)
		}
	}
	if d.Err() != nil {
		return op, fmt.Errorf("%s: malformed edit list: %w", where, d.Err())
	}
	return op, nil
}

func tableName(table int32) string {
	if n, ok := tableNames[table]; ok {
		return n
	}
	return fmt.Sprintf("table %d", table)
}

func signalName(signal int32) string {
	switch signal {
	case abi.SignalTraces:
		return "traces"
	case abi.SignalMetrics:
		return "metrics"
	}
	return "logs"
}

// checkSet is the ABI's list of settable fields and the values they take.
func (t *tables) checkSet(table int32, i int, field int32, v anyValue) error {
	want := func(kind uint8, what string) error {
		if v.kind != kind {
			return fmt.Errorf("want %s, got tag %d", what, v.kind)
		}
		return nil
	}
	intIn := func(lo, hi int64) error {
		if err := want(abi.TagInt, "an int"); err != nil {
			return err
		}
		if n := int64(v.num); n < lo || n > hi {
			return fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
		}
		return nil
	}
	notSettable := fmt.Errorf("not settable on a %s", tableName(table))
	switch table {
	case abi.TableSpan:
		switch field {
		case abi.FieldName, abi.FieldStatusMessage, abi.FieldTraceState:
			return want(abi.TagStr, "a string")
		case abi.FieldKind:
			return intIn(abi.SpanKindUnspecified, abi.SpanKindConsumer)
		case abi.FieldStatusCode:
			return intIn(abi.StatusUnset, abi.StatusError)
		}
	case abi.TableScope:
		switch field {
		case abi.FieldName, abi.FieldVersion:
			return want(abi.TagStr, "a string")
		}
	case abi.TableMetric:
		switch field {
		case abi.FieldName, abi.FieldDescription, abi.FieldUnit:
			return want(abi.TagStr, "a string")
		}
	case abi.TablePoint:
		if field == abi.FieldValue {
			if t.points[i].num == nil {
				return fmt.Errorf("only gauge and sum points have a settable value")
			}
			if v.kind != abi.TagInt && v.kind != abi.TagDouble {
				return fmt.Errorf("want an int or a double, got tag %d", v.kind)
			}
			return nil
		}
	case abi.TableLog:
		switch field {
		case abi.FieldValue:
			return nil // scalarValue already limited it to str, int, double, bool, bytes
		case abi.FieldSeverity:
			return intIn(0, 24)
		case abi.FieldSeverityText:
			return want(abi.TagStr, "a string")
		}
	}
	return notSettable
}

// setField writes a value checkSet accepted.
func (t *tables) setField(op editOp) {
	v := op.val
	switch op.table {
	case abi.TableSpan:
		s := t.spans[op.index].s
		switch op.field {
		case abi.FieldName:
			s.Name = v.str
		case abi.FieldStatusMessage:
			s.Status.Message = v.str
		case abi.FieldTraceState:
			s.TraceState = v.str
		case abi.FieldKind:
			s.Kind = spanKind(v.num)
		case abi.FieldStatusCode:
			s.Status.Code = statusCode(v.num)
		}
	case abi.TableScope:
		s := t.scopes[op.index].s
		if op.field == abi.FieldName {
			s.Name = v.str
		} else {
			s.Version = v.str
		}
	case abi.TableMetric:
		m := t.metrics[op.index].m
		switch op.field {
		case abi.FieldName:
			m.Name = v.str
		case abi.FieldDescription:
			m.Description = v.str
		case abi.FieldUnit:
			m.Unit = v.str
		}
	case abi.TablePoint:
		p := t.points[op.index].num
		p.AsInt, p.AsDouble = nil, nil
		if v.kind == abi.TagInt {
			p.AsInt = newI64(int64(v.num))
		} else {
			p.AsDouble = newF64(doubleOf(v))
		}
	case abi.TableLog:
		l := t.logs[op.index].l
		switch op.field {
		case abi.FieldValue:
			l.Body = v
		case abi.FieldSeverity:
			l.SeverityNumber = severity(v.num)
		case abi.FieldSeverityText:
			l.SeverityText = v.str
		}
	}
}

func (t *tables) markDrop(table int32, i int) {
	switch table {
	case abi.TableSpan:
		t.spans[i].s.drop = true
	case abi.TableMetric:
		t.metrics[i].m.drop = true
	case abi.TableLog:
		t.logs[i].l.drop = true
	case abi.TablePoint:
		p := t.points[i]
		switch {
		case p.num != nil:
			p.num.drop = true
		case p.hist != nil:
			p.hist.drop = true
		case p.exp != nil:
			p.exp.drop = true
		default:
			p.summ.drop = true
		}
	}
}

// sweep removes dropped items, then the containers the drops emptied: a
// metric that lost its last point, a scope that lost its last item, a
// resource that lost its last scope. Containers that arrived empty stay,
// so that a filter that drops nothing returns the batch unchanged.
func (t *tables) sweep() {
	switch {
	case t.tracesDoc != nil:
		t.tracesDoc.ResourceSpans, _ = without(t.tracesDoc.ResourceSpans, func(rs *resourceSpans) bool {
			var lost bool
			rs.ScopeSpans, lost = without(rs.ScopeSpans, func(ss *scopeSpans) bool {
				var lost bool
				ss.Spans, lost = without(ss.Spans, func(s *span) bool { return s.drop })
				return lost && len(ss.Spans) == 0
			})
			return lost && len(rs.ScopeSpans) == 0
		})
	case t.metricsDoc != nil:
		t.metricsDoc.ResourceMetrics, _ = without(t.metricsDoc.ResourceMetrics, func(rm *resourceMetrics) bool {
			var lost bool
			rm.ScopeMetrics, lost = without(rm.ScopeMetrics, func(sm *scopeMetrics) bool {
				var lost bool
				sm.Metrics, lost = without(sm.Metrics, func(m *metric) bool { return m.drop || dropPoints(m) })
				return lost && len(sm.Metrics) == 0
			})
			return lost && len(rm.ScopeMetrics) == 0
		})
	case t.logsDoc != nil:
		t.logsDoc.ResourceLogs, _ = without(t.logsDoc.ResourceLogs, func(rl *resourceLogs) bool {
			var lost bool
			rl.ScopeLogs, lost = without(rl.ScopeLogs, func(sl *scopeLogs) bool {
				var lost bool
				sl.LogRecords, lost = without(sl.LogRecords, func(l *logRecord) bool { return l.drop })
				return lost && len(sl.LogRecords) == 0
			})
			return lost && len(rl.ScopeLogs) == 0
		})
	}
}

// dropPoints removes m's dropped points and reports whether that left it
// with none, which removes the metric too.
func dropPoints(m *metric) bool {
	var lost bool
	var left int
	switch {
	case m.Gauge != nil:
		m.Gauge.DataPoints, lost = without(m.Gauge.DataPoints, func(p *numberPoint) bool { return p.drop })
		left = len(m.Gauge.DataPoints)
	case m.Sum != nil:
		m.Sum.DataPoints, lost = without(m.Sum.DataPoints, func(p *numberPoint) bool { return p.drop })
		left = len(m.Sum.DataPoints)
	case m.Histogram != nil:
		m.Histogram.DataPoints, lost = without(m.Histogram.DataPoints, func(p *histogramPoint) bool { return p.drop })
		left = len(m.Histogram.DataPoints)
	case m.ExponentialHistogram != nil:
		m.ExponentialHistogram.DataPoints, lost = without(m.ExponentialHistogram.DataPoints, func(p *expHistogramPoint) bool { return p.drop })
		left = len(m.ExponentialHistogram.DataPoints)
	case m.Summary != nil:
		m.Summary.DataPoints, lost = without(m.Summary.DataPoints, func(p *summaryPoint) bool { return p.drop })
		left = len(m.Summary.DataPoints)
	}
	return lost && left == 0
}

// without removes the items drop selects, in place, and reports whether it
// removed any.
func without[T any](items []T, drop func(*T) bool) ([]T, bool) {
	out := items[:0]
	for i := range items {
		if !drop(&items[i]) {
			out = append(out, items[i])
		}
	}
	clear(items[len(out):])
	return out, len(out) < len(items)
}
