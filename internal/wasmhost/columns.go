// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// column appends one encoded value per item of table to dst: the whole
// field for the whole batch in one host call. It returns ErrArgument for a
// table or field the current signal does not have.
func (t *tables) column(dst []byte, table, field int32, key string) ([]byte, int32) {
	n := t.count(table)
	if n < 0 {
		return dst, n
	}
	switch field {
	case abi.FieldAttr:
		if !hasAttrs(table) {
			return dst, abi.ErrArgument
		}
		for i := int32(0); i < n; i++ {
			if v, ok := t.attrs(table, i).Get(key); ok {
				dst = appendValue(dst, v)
			} else {
				dst = append(dst, abi.TagEmpty)
			}
		}
		return dst, 0
	case abi.FieldAttrs:
		if !hasAttrs(table) {
			return dst, abi.ErrArgument
		}
		for i := int32(0); i < n; i++ {
			m := t.attrs(table, i)
			dst = abi.AppendU32(append(dst, abi.TagList), uint32(m.Len()))
			for k, v := range m.All() {
				dst = appendValue(abi.AppendStr(dst, k), v)
			}
		}
		return dst, 0
	}
	switch table {
	case abi.TableResource:
		return dst, abi.ErrArgument
	case abi.TableScope:
		return t.scopeColumn(dst, field)
	case abi.TableSpan:
		return t.spanColumn(dst, field)
	case abi.TableEvent:
		return t.eventColumn(dst, field)
	case abi.TableLink:
		return t.linkColumn(dst, field)
	case abi.TableMetric:
		return t.metricColumn(dst, field)
	case abi.TablePoint:
		return t.pointColumn(dst, field)
	default:
		return t.logColumn(dst, field)
	}
}

func (t *tables) scopeColumn(dst []byte, field int32) ([]byte, int32) {
	for _, s := range t.scopes {
		switch field {
		case abi.FieldName:
			dst = abi.AppendStrValue(dst, s.scope.Name())
		case abi.FieldVersion:
			dst = abi.AppendStrValue(dst, s.scope.Version())
		case abi.FieldParent, abi.FieldResource:
			dst = abi.AppendIntValue(dst, int64(s.res))
		default:
			return dst, abi.ErrArgument
		}
	}
	return dst, checkField(field, abi.FieldName, abi.FieldVersion, abi.FieldParent, abi.FieldResource)
}

func (t *tables) spanColumn(dst []byte, field int32) ([]byte, int32) {
	if !oneOf(field, abi.FieldParent, abi.FieldResource, abi.FieldName, abi.FieldTraceID, abi.FieldSpanID,
		abi.FieldParentSpanID, abi.FieldTraceState, abi.FieldKind, abi.FieldStartTime, abi.FieldTime,
		abi.FieldStatusCode, abi.FieldStatusMessage, abi.FieldFlags) {
		return dst, abi.ErrArgument
	}
	// One loop per field keeps the switch out of the per-span path.
	switch field {
	case abi.FieldParent:
		for _, s := range t.spans {
			dst = abi.AppendIntValue(dst, int64(s.scope))
		}
	case abi.FieldResource:
		for _, s := range t.spans {
			dst = abi.AppendIntValue(dst, int64(s.res))
		}
	case abi.FieldName:
		for _, s := range t.spans {
			dst = abi.AppendStrValue(dst, s.span.Name())
		}
	case abi.FieldTraceID:
		for _, s := range t.spans {
			id := s.span.TraceID()
			dst = abi.AppendBytesValue(dst, id[:])
		}
	case abi.FieldSpanID:
		for _, s := range t.spans {
			id := s.span.SpanID()
			dst = abi.AppendBytesValue(dst, id[:])
		}
	case abi.FieldParentSpanID:
		for _, s := range t.spans {
			dst = appendSpanID(dst, s.span.ParentSpanID())
		}
	case abi.FieldTraceState:
		for _, s := range t.spans {
			dst = abi.AppendStrValue(dst, s.span.TraceState().AsRaw())
		}
	case abi.FieldKind:
		for _, s := range t.spans {
			dst = abi.AppendIntValue(dst, int64(s.span.Kind()))
		}
	case abi.FieldStartTime:
		for _, s := range t.spans {
			dst = abi.AppendIntValue(dst, int64(s.span.StartTimestamp()))
		}
	case abi.FieldTime:
		for _, s := range t.spans {
			dst = abi.AppendIntValue(dst, int64(s.span.EndTimestamp()))
		}
	case abi.FieldStatusCode:
		for _, s := range t.spans {
			dst = abi.AppendIntValue(dst, int64(s.span.Status().Code()))
		}
	case abi.FieldStatusMessage:
		for _, s := range t.spans {
			dst = abi.AppendStrValue(dst, s.span.Status().Message())
		}
	case abi.FieldFlags:
		for _, s := range t.spans {
			dst = abi.AppendIntValue(dst, int64(s.span.Flags()))
		}
	}
	return dst, 0
}

func (t *tables) eventColumn(dst []byte, field int32) ([]byte, int32) {
	for _, e := range t.events {
		switch field {
		case abi.FieldParent:
			dst = abi.AppendIntValue(dst, int64(e.span))
		case abi.FieldName:
			dst = abi.AppendStrValue(dst, e.ev.Name())
		case abi.FieldTime:
			dst = abi.AppendIntValue(dst, int64(e.ev.Timestamp()))
		default:
			return dst, abi.ErrArgument
		}
	}
	return dst, checkField(field, abi.FieldParent, abi.FieldName, abi.FieldTime)
}

func (t *tables) linkColumn(dst []byte, field int32) ([]byte, int32) {
	for _, l := range t.links {
		switch field {
		case abi.FieldParent:
			dst = abi.AppendIntValue(dst, int64(l.span))
		case abi.FieldTraceID:
			id := l.link.TraceID()
			dst = abi.AppendBytesValue(dst, id[:])
		case abi.FieldSpanID:
			id := l.link.SpanID()
			dst = abi.AppendBytesValue(dst, id[:])
		case abi.FieldTraceState:
			dst = abi.AppendStrValue(dst, l.link.TraceState().AsRaw())
		case abi.FieldFlags:
			dst = abi.AppendIntValue(dst, int64(l.link.Flags()))
		default:
			return dst, abi.ErrArgument
		}
	}
	return dst, checkField(field, abi.FieldParent, abi.FieldTraceID, abi.FieldSpanID, abi.FieldTraceState, abi.FieldFlags)
}

func (t *tables) metricColumn(dst []byte, field int32) ([]byte, int32) {
	for _, m := range t.mets {
		switch field {
		case abi.FieldParent:
			dst = abi.AppendIntValue(dst, int64(m.scope))
		case abi.FieldResource:
			dst = abi.AppendIntValue(dst, int64(m.res))
		case abi.FieldName:
			dst = abi.AppendStrValue(dst, m.m.Name())
		case abi.FieldDescription:
			dst = abi.AppendStrValue(dst, m.m.Description())
		case abi.FieldUnit:
			dst = abi.AppendStrValue(dst, m.m.Unit())
		case abi.FieldKind:
			dst = abi.AppendIntValue(dst, int64(m.m.Type()))
		default:
			return dst, abi.ErrArgument
		}
	}
	return dst, checkField(field, abi.FieldParent, abi.FieldResource, abi.FieldName, abi.FieldDescription, abi.FieldUnit, abi.FieldKind)
}

func (t *tables) pointColumn(dst []byte, field int32) ([]byte, int32) {
	for i := range t.points {
		p := &t.points[i]
		switch field {
		case abi.FieldParent:
			dst = abi.AppendIntValue(dst, int64(p.metric))
		case abi.FieldResource:
			dst = abi.AppendIntValue(dst, int64(p.res))
		case abi.FieldStartTime, abi.FieldTime, abi.FieldFlags:
			dst = abi.AppendIntValue(dst, p.timeOrFlags(field))
		case abi.FieldValue:
			dst = p.appendNumber(dst)
		case abi.FieldCount:
			dst = p.appendCount(dst)
		case abi.FieldSum:
			dst = p.appendSum(dst)
		default:
			return dst, abi.ErrArgument
		}
	}
	return dst, checkField(field, abi.FieldParent, abi.FieldResource, abi.FieldStartTime, abi.FieldTime,
		abi.FieldFlags, abi.FieldValue, abi.FieldCount, abi.FieldSum)
}

func (p *pointRef) timeOrFlags(field int32) int64 {
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

func (p *pointRef) appendNumber(dst []byte) []byte {
	if p.typ != pmetric.MetricTypeGauge && p.typ != pmetric.MetricTypeSum {
		return append(dst, abi.TagEmpty)
	}
	switch p.num.ValueType() {
	case pmetric.NumberDataPointValueTypeInt:
		return abi.AppendIntValue(dst, p.num.IntValue())
	case pmetric.NumberDataPointValueTypeDouble:
		return abi.AppendDoubleValue(dst, p.num.DoubleValue())
	}
	return append(dst, abi.TagEmpty)
}

func (p *pointRef) appendCount(dst []byte) []byte {
	switch p.typ {
	case pmetric.MetricTypeHistogram:
		return abi.AppendIntValue(dst, int64(p.hist.Count()))
	case pmetric.MetricTypeExponentialHistogram:
		return abi.AppendIntValue(dst, int64(p.exp.Count()))
	case pmetric.MetricTypeSummary:
		return abi.AppendIntValue(dst, int64(p.summ.Count()))
	}
	return append(dst, abi.TagEmpty)
}

func (p *pointRef) appendSum(dst []byte) []byte {
	switch {
	case p.typ == pmetric.MetricTypeHistogram && p.hist.HasSum():
		return abi.AppendDoubleValue(dst, p.hist.Sum())
	case p.typ == pmetric.MetricTypeExponentialHistogram && p.exp.HasSum():
		return abi.AppendDoubleValue(dst, p.exp.Sum())
	case p.typ == pmetric.MetricTypeSummary:
		return abi.AppendDoubleValue(dst, p.summ.Sum())
	}
	return append(dst, abi.TagEmpty)
}

func (t *tables) logColumn(dst []byte, field int32) ([]byte, int32) {
	for _, l := range t.records {
		r := l.rec
		switch field {
		case abi.FieldParent:
			dst = abi.AppendIntValue(dst, int64(l.scope))
		case abi.FieldResource:
			dst = abi.AppendIntValue(dst, int64(l.res))
		case abi.FieldTime:
			dst = abi.AppendIntValue(dst, int64(r.Timestamp()))
		case abi.FieldObservedTime:
			dst = abi.AppendIntValue(dst, int64(r.ObservedTimestamp()))
		case abi.FieldSeverity:
			dst = abi.AppendIntValue(dst, int64(r.SeverityNumber()))
		case abi.FieldSeverityText:
			dst = abi.AppendStrValue(dst, r.SeverityText())
		case abi.FieldValue:
			dst = appendValue(dst, r.Body())
		case abi.FieldTraceID:
			if id := r.TraceID(); id.IsEmpty() {
				dst = append(dst, abi.TagEmpty)
			} else {
				dst = abi.AppendBytesValue(dst, id[:])
			}
		case abi.FieldSpanID:
			dst = appendSpanID(dst, r.SpanID())
		case abi.FieldFlags:
			dst = abi.AppendIntValue(dst, int64(r.Flags()))
		default:
			return dst, abi.ErrArgument
		}
	}
	return dst, checkField(field, abi.FieldParent, abi.FieldResource, abi.FieldTime, abi.FieldObservedTime,
		abi.FieldSeverity, abi.FieldSeverityText, abi.FieldValue, abi.FieldTraceID, abi.FieldSpanID, abi.FieldFlags)
}

func appendSpanID(dst []byte, id pcommon.SpanID) []byte {
	if id.IsEmpty() {
		return append(dst, abi.TagEmpty)
	}
	return abi.AppendBytesValue(dst, id[:])
}

// appendValue encodes an attribute or body value. Maps and slices cross as
// read-only JSON text (TagOther), the same text pcommon's AsString gives.
func appendValue(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return abi.AppendStrValue(dst, v.Str())
	case pcommon.ValueTypeInt:
		return abi.AppendIntValue(dst, v.Int())
	case pcommon.ValueTypeDouble:
		return abi.AppendDoubleValue(dst, v.Double())
	case pcommon.ValueTypeBool:
		return abi.AppendBoolValue(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		return abi.AppendBytesValue(dst, v.Bytes().AsRaw())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return abi.AppendOtherValue(dst, v.AsString())
	}
	return append(dst, abi.TagEmpty)
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
