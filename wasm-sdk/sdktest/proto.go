// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// A minimal protobuf codec for the model, so that the emulator can serve
// the OTLP escape hatch (otlp_get/otlp_set) without a dependency. It
// writes what pdata writes (proto3: zero scalars omitted, oneof members
// and optional fields written when set) and reads what any OTLP encoder
// writes: fields in any order, packed or unpacked repeated scalars, and
// unknown fields, which it skips. Field numbers are those of
// opentelemetry-proto's collector/{trace,metrics,logs}/v1 requests.

const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

// pbuf appends a message.
type pbuf struct{ b []byte }

func (p *pbuf) tag(field, wire int) { p.b = binary.AppendUvarint(p.b, uint64(field)<<3|uint64(wire)) }

func (p *pbuf) varint(field int, v uint64) {
	if v != 0 {
		p.tag(field, wireVarint)
		p.b = binary.AppendUvarint(p.b, v)
	}
}

func (p *pbuf) sint32(field int, v int32) { p.varint(field, uint64(uint32(v<<1)^uint32(v>>31))) }

func (p *pbuf) fixed64(field int, v uint64) {
	if v != 0 {
		p.tag(field, wireI64)
		p.b = binary.LittleEndian.AppendUint64(p.b, v)
	}
}

func (p *pbuf) fixed32(field int, v uint32) {
	if v != 0 {
		p.tag(field, wireI32)
		p.b = binary.LittleEndian.AppendUint32(p.b, v)
	}
}

// double omits zero (and -0, as pdata does).
func (p *pbuf) double(field int, v f64) {
	if v != 0 {
		p.fixed64(field, math.Float64bits(float64(v)))
	}
}

// always writes a oneof member or optional field, zero or not.
func (p *pbuf) alwaysFixed64(field int, v uint64) {
	p.tag(field, wireI64)
	p.b = binary.LittleEndian.AppendUint64(p.b, v)
}

func (p *pbuf) optDouble(field int, v *f64) {
	if v != nil {
		p.alwaysFixed64(field, math.Float64bits(float64(*v)))
	}
}

func (p *pbuf) raw(field int, b []byte) {
	p.tag(field, wireLen)
	p.b = binary.AppendUvarint(p.b, uint64(len(b)))
	p.b = append(p.b, b...)
}

func (p *pbuf) str(field int, s string) {
	if s != "" {
		p.raw(field, []byte(s))
	}
}

func (p *pbuf) id(field int, id []byte) {
	for _, c := range id {
		if c != 0 {
			p.raw(field, id)
			return
		}
	}
}

// msg writes a nested message, empty or not.
func (p *pbuf) msg(field int, write func(*pbuf)) {
	var c pbuf
	write(&c)
	p.raw(field, c.b)
}

func (p *pbuf) attrs(field int, kvs []keyValue) {
	for _, kv := range kvs {
		p.msg(field, func(c *pbuf) {
			c.str(1, kv.Key)
			c.msg(2, func(c *pbuf) { c.anyValue(kv.Value) })
		})
	}
}

func (p *pbuf) anyValue(v anyValue) {
	switch v.kind {
	case abi.TagStr:
		p.raw(1, []byte(v.str))
	case abi.TagBool:
		p.tag(2, wireVarint)
		p.b = binary.AppendUvarint(p.b, v.num)
	case abi.TagInt:
		p.tag(3, wireVarint)
		p.b = binary.AppendUvarint(p.b, v.num)
	case abi.TagDouble:
		p.alwaysFixed64(4, v.num)
	case kindArray:
		p.msg(5, func(c *pbuf) {
			for _, e := range v.arr {
				c.msg(1, func(c *pbuf) { c.anyValue(e) })
			}
		})
	case kindKVList:
		p.msg(6, func(c *pbuf) { c.attrs(1, v.kvs) })
	case abi.TagBytes:
		p.raw(7, v.raw)
	}
}

func (p *pbuf) resource(r *resource) {
	p.attrs(1, r.Attributes)
	p.varint(2, uint64(r.DroppedAttributesCount))
	for _, e := range r.EntityRefs {
		p.msg(3, func(c *pbuf) {
			c.str(1, e.SchemaURL)
			c.str(2, e.Type)
			for _, k := range e.IDKeys {
				c.raw(3, []byte(k))
			}
			for _, k := range e.DescriptionKeys {
				c.raw(4, []byte(k))
			}
		})
	}
}

func (p *pbuf) scope(s *scope) {
	p.str(1, s.Name)
	p.str(2, s.Version)
	p.attrs(3, s.Attributes)
	p.varint(4, uint64(s.DroppedAttributesCount))
}

func (p *pbuf) packedFixed64(field int, vs []u64) {
	if len(vs) > 0 {
		var c pbuf
		for _, v := range vs {
			c.b = binary.LittleEndian.AppendUint64(c.b, uint64(v))
		}
		p.raw(field, c.b)
	}
}

func (p *pbuf) packedDouble(field int, vs []f64) {
	if len(vs) > 0 {
		var c pbuf
		for _, v := range vs {
			c.b = binary.LittleEndian.AppendUint64(c.b, math.Float64bits(float64(v)))
		}
		p.raw(field, c.b)
	}
}

func (p *pbuf) packedVarint(field int, vs []u64) {
	if len(vs) > 0 {
		var c pbuf
		for _, v := range vs {
			c.b = binary.AppendUvarint(c.b, uint64(v))
		}
		p.raw(field, c.b)
	}
}

func (p *pbuf) exemplars(field int, es []exemplar) {
	for _, e := range es {
		p.msg(field, func(c *pbuf) {
			c.attrs(7, e.FilteredAttributes)
			c.fixed64(2, uint64(e.TimeUnixNano))
			c.optDouble(3, e.AsDouble)
			if e.AsInt != nil {
				c.alwaysFixed64(6, uint64(*e.AsInt))
			}
			c.id(4, e.SpanID[:])
			c.id(5, e.TraceID[:])
		})
	}
}

func (p *pbuf) numberPoints(field int, pts []numberPoint) {
	for _, pt := range pts {
		p.msg(field, func(c *pbuf) {
			c.attrs(7, pt.Attributes)
			c.fixed64(2, uint64(pt.StartTimeUnixNano))
			c.fixed64(3, uint64(pt.TimeUnixNano))
			c.optDouble(4, pt.AsDouble)
			if pt.AsInt != nil {
				c.alwaysFixed64(6, uint64(*pt.AsInt))
			}
			c.exemplars(5, pt.Exemplars)
			c.varint(8, uint64(pt.Flags))
		})
	}
}

func (p *pbuf) metric(m *metric) {
	p.str(1, m.Name)
	p.str(2, m.Description)
	p.str(3, m.Unit)
	switch {
	case m.Gauge != nil:
		p.msg(5, func(c *pbuf) { c.numberPoints(1, m.Gauge.DataPoints) })
	case m.Sum != nil:
		p.msg(7, func(c *pbuf) {
			c.numberPoints(1, m.Sum.DataPoints)
			c.enum(2, int32(m.Sum.AggregationTemporality))
			if m.Sum.IsMonotonic {
				c.varint(3, 1)
			}
		})
	case m.Histogram != nil:
		p.msg(9, func(c *pbuf) {
			for _, pt := range m.Histogram.DataPoints {
				c.msg(1, func(c *pbuf) {
					c.attrs(9, pt.Attributes)
					c.fixed64(2, uint64(pt.StartTimeUnixNano))
					c.fixed64(3, uint64(pt.TimeUnixNano))
					c.fixed64(4, uint64(pt.Count))
					c.optDouble(5, pt.Sum)
					c.packedFixed64(6, pt.BucketCounts)
					c.packedDouble(7, pt.ExplicitBounds)
					c.exemplars(8, pt.Exemplars)
					c.varint(10, uint64(pt.Flags))
					c.optDouble(11, pt.Min)
					c.optDouble(12, pt.Max)
				})
			}
			c.enum(2, int32(m.Histogram.AggregationTemporality))
		})
	case m.ExponentialHistogram != nil:
		p.msg(10, func(c *pbuf) {
			for _, pt := range m.ExponentialHistogram.DataPoints {
				c.msg(1, func(c *pbuf) {
					c.attrs(1, pt.Attributes)
					c.fixed64(2, uint64(pt.StartTimeUnixNano))
					c.fixed64(3, uint64(pt.TimeUnixNano))
					c.fixed64(4, uint64(pt.Count))
					c.optDouble(5, pt.Sum)
					c.sint32(6, int32(pt.Scale))
					c.fixed64(7, uint64(pt.ZeroCount))
					c.msg(8, func(c *pbuf) { c.buckets(&pt.Positive) })
					c.msg(9, func(c *pbuf) { c.buckets(&pt.Negative) })
					c.varint(10, uint64(pt.Flags))
					c.exemplars(11, pt.Exemplars)
					c.optDouble(12, pt.Min)
					c.optDouble(13, pt.Max)
					c.double(14, pt.ZeroThreshold)
				})
			}
			c.enum(2, int32(m.ExponentialHistogram.AggregationTemporality))
		})
	case m.Summary != nil:
		p.msg(11, func(c *pbuf) {
			for _, pt := range m.Summary.DataPoints {
				c.msg(1, func(c *pbuf) {
					c.attrs(7, pt.Attributes)
					c.fixed64(2, uint64(pt.StartTimeUnixNano))
					c.fixed64(3, uint64(pt.TimeUnixNano))
					c.fixed64(4, uint64(pt.Count))
					c.double(5, pt.Sum)
					for _, q := range pt.QuantileValues {
						c.msg(6, func(c *pbuf) {
							c.double(1, q.Quantile)
							c.double(2, q.Value)
						})
					}
					c.varint(8, uint64(pt.Flags))
				})
			}
		})
	}
	p.attrs(12, m.Metadata)
}

func (p *pbuf) buckets(b *buckets) {
	p.sint32(1, int32(b.Offset))
	p.packedVarint(2, b.BucketCounts)
}

// enum writes an enum as protobuf does: a negative value sign-extended.
func (p *pbuf) enum(field int, v int32) { p.varint(field, uint64(int64(v))) }

func marshalTraces(d *tracesData) []byte {
	var p pbuf
	for _, rs := range d.ResourceSpans {
		p.msg(1, func(c *pbuf) {
			c.msg(1, func(c *pbuf) { c.resource(&rs.Resource) })
			for _, ss := range rs.ScopeSpans {
				c.msg(2, func(c *pbuf) {
					c.msg(1, func(c *pbuf) { c.scope(&ss.Scope) })
					for _, s := range ss.Spans {
						c.msg(2, func(c *pbuf) { c.span(&s) })
					}
					c.str(3, ss.SchemaURL)
				})
			}
			c.str(3, rs.SchemaURL)
		})
	}
	return p.b
}

func (p *pbuf) span(s *span) {
	p.id(1, s.TraceID[:])
	p.id(2, s.SpanID[:])
	p.str(3, s.TraceState)
	p.id(4, s.ParentSpanID[:])
	p.fixed32(16, uint32(s.Flags))
	p.str(5, s.Name)
	p.enum(6, int32(s.Kind))
	p.fixed64(7, uint64(s.StartTimeUnixNano))
	p.fixed64(8, uint64(s.EndTimeUnixNano))
	p.attrs(9, s.Attributes)
	p.varint(10, uint64(s.DroppedAttributesCount))
	for _, e := range s.Events {
		p.msg(11, func(c *pbuf) {
			c.fixed64(1, uint64(e.TimeUnixNano))
			c.str(2, e.Name)
			c.attrs(3, e.Attributes)
			c.varint(4, uint64(e.DroppedAttributesCount))
		})
	}
	p.varint(12, uint64(s.DroppedEventsCount))
	for _, l := range s.Links {
		p.msg(13, func(c *pbuf) {
			c.id(1, l.TraceID[:])
			c.id(2, l.SpanID[:])
			c.str(3, l.TraceState)
			c.attrs(4, l.Attributes)
			c.varint(5, uint64(l.DroppedAttributesCount))
			c.fixed32(6, uint32(l.Flags))
		})
	}
	p.varint(14, uint64(s.DroppedLinksCount))
	p.msg(15, func(c *pbuf) {
		c.str(2, s.Status.Message)
		c.enum(3, int32(s.Status.Code))
	})
}

func marshalMetrics(d *metricsData) []byte {
	var p pbuf
	for _, rm := range d.ResourceMetrics {
		p.msg(1, func(c *pbuf) {
			c.msg(1, func(c *pbuf) { c.resource(&rm.Resource) })
			for _, sm := range rm.ScopeMetrics {
				c.msg(2, func(c *pbuf) {
					c.msg(1, func(c *pbuf) { c.scope(&sm.Scope) })
					for _, m := range sm.Metrics {
						c.msg(2, func(c *pbuf) { c.metric(&m) })
					}
					c.str(3, sm.SchemaURL)
				})
			}
			c.str(3, rm.SchemaURL)
		})
	}
	return p.b
}

func marshalLogs(d *logsData) []byte {
	var p pbuf
	for _, rl := range d.ResourceLogs {
		p.msg(1, func(c *pbuf) {
			c.msg(1, func(c *pbuf) { c.resource(&rl.Resource) })
			for _, sl := range rl.ScopeLogs {
				c.msg(2, func(c *pbuf) {
					c.msg(1, func(c *pbuf) { c.scope(&sl.Scope) })
					for _, l := range sl.LogRecords {
						c.msg(2, func(c *pbuf) {
							c.fixed64(1, uint64(l.TimeUnixNano))
							c.fixed64(11, uint64(l.ObservedTimeUnixNano))
							c.enum(2, int32(l.SeverityNumber))
							c.str(3, l.SeverityText)
							c.msg(5, func(c *pbuf) { c.anyValue(l.Body) })
							c.attrs(6, l.Attributes)
							c.varint(7, uint64(l.DroppedAttributesCount))
							c.fixed32(8, uint32(l.Flags))
							c.id(9, l.TraceID[:])
							c.id(10, l.SpanID[:])
							c.str(12, l.EventName)
						})
					}
					c.str(3, sl.SchemaURL)
				})
			}
			c.str(3, rl.SchemaURL)
		})
	}
	return p.b
}

// pdec reads one message's fields. The first error stops every read.
type pdec struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated message")

// next reads a field's tag; false at the end or after an error.
func (d *pdec) next() (field, wire int, ok bool) {
	if d.err != nil || len(d.b) == 0 {
		return 0, 0, false
	}
	v := d.uvarint()
	if d.err != nil {
		return 0, 0, false
	}
	if v>>3 == 0 || v>>3 > math.MaxInt32 {
		d.err = fmt.Errorf("bad field number %d", v>>3)
		return 0, 0, false
	}
	return int(v >> 3), int(v & 7), true
}

func (d *pdec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *pdec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *pdec) take(n int) []byte {
	if n < 0 || n > len(d.b) {
		d.fail(errTruncated)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// want checks a known field's wire type.
func (d *pdec) want(field, got, want int) bool {
	if got != want {
		d.fail(fmt.Errorf("field %d has wire type %d, want %d", field, got, want))
		return false
	}
	return true
}

func (d *pdec) skip(wire int) {
	switch wire {
	case wireVarint:
		d.uvarint()
	case wireI64:
		d.take(8)
	case wireI32:
		d.take(4)
	case wireLen:
		d.take(int(d.uvarint()))
	default:
		d.fail(fmt.Errorf("unsupported wire type %d", wire))
	}
}

func (d *pdec) varintF(field, wire int) uint64 {
	if !d.want(field, wire, wireVarint) {
		return 0
	}
	return d.uvarint()
}

func (d *pdec) fixed64F(field, wire int) uint64 {
	if !d.want(field, wire, wireI64) {
		return 0
	}
	return binary.LittleEndian.Uint64(append(d.take(8), make([]byte, 8)...))
}

func (d *pdec) fixed32F(field, wire int) uint32 {
	if !d.want(field, wire, wireI32) {
		return 0
	}
	return binary.LittleEndian.Uint32(append(d.take(4), make([]byte, 4)...))
}

func (d *pdec) doubleF(field, wire int) f64 {
	return f64(math.Float64frombits(d.fixed64F(field, wire)))
}

func (d *pdec) bytesF(field, wire int) []byte {
	if !d.want(field, wire, wireLen) {
		return nil
	}
	return d.take(int(d.uvarint()))
}

func (d *pdec) strF(field, wire int) string { return string(d.bytesF(field, wire)) }

func (d *pdec) sint32F(field, wire int) i32 {
	v := uint32(d.varintF(field, wire))
	return i32(int32(v>>1) ^ -int32(v&1))
}

// sub decodes a nested message with read.
func (d *pdec) sub(field, wire int, read func(*pdec)) {
	b := d.bytesF(field, wire)
	if d.err != nil {
		return
	}
	c := pdec{b: b}
	read(&c)
	if c.err != nil {
		d.fail(c.err)
	}
}

func (d *pdec) idF(field, wire int, dst []byte) {
	b := d.bytesF(field, wire)
	if d.err == nil && len(b) != 0 && len(b) != len(dst) {
		d.fail(fmt.Errorf("field %d: an ID of %d bytes, want %d", field, len(b), len(dst)))
		return
	}
	copy(dst, b)
}

// repeated reads a repeated scalar field, packed or not; one is one
// element in the unpacked (elemWire) encoding.
func (d *pdec) repeated(field, wire, elemWire int, one func(*pdec)) {
	if wire == elemWire {
		one(d)
		return
	}
	b := d.bytesF(field, wire)
	c := pdec{b: b}
	for d.err == nil && c.err == nil && len(c.b) > 0 {
		one(&c)
	}
	if c.err != nil {
		d.fail(c.err)
	}
}

func (d *pdec) keyValue(kvs *[]keyValue, field, wire int) {
	d.sub(field, wire, func(c *pdec) {
		var kv keyValue
		for f, w, ok := c.next(); ok; f, w, ok = c.next() {
			switch f {
			case 1:
				kv.Key = c.strF(f, w)
			case 2:
				c.sub(f, w, func(c *pdec) { kv.Value = c.anyValue() })
			default:
				c.skip(w)
			}
		}
		*kvs = append(*kvs, kv)
	})
}

func (d *pdec) anyValue() anyValue {
	var v anyValue
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			v = strValue(d.strF(f, w))
		case 2:
			v = anyValue{kind: abi.TagBool}
			if d.varintF(f, w) != 0 {
				v.num = 1
			}
		case 3:
			v = intValue(int64(d.varintF(f, w)))
		case 4:
			v = anyValue{kind: abi.TagDouble, num: d.fixed64F(f, w)}
		case 5:
			v = anyValue{kind: kindArray, arr: []anyValue{}}
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					if f == 1 {
						c.sub(f, w, func(c *pdec) { v.arr = append(v.arr, c.anyValue()) })
					} else {
						c.skip(w)
					}
				}
			})
		case 6:
			v = anyValue{kind: kindKVList, kvs: []keyValue{}}
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					if f == 1 {
						c.keyValue(&v.kvs, f, w)
					} else {
						c.skip(w)
					}
				}
			})
		case 7:
			v = anyValue{kind: abi.TagBytes, raw: append([]byte{}, d.bytesF(f, w)...)}
		default:
			d.skip(w)
		}
	}
	return v
}

func (d *pdec) resource(r *resource) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			d.keyValue(&r.Attributes, f, w)
		case 2:
			r.DroppedAttributesCount = u32(d.varintF(f, w))
		case 3:
			var e entityRef
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					switch f {
					case 1:
						e.SchemaURL = c.strF(f, w)
					case 2:
						e.Type = c.strF(f, w)
					case 3:
						e.IDKeys = append(e.IDKeys, c.strF(f, w))
					case 4:
						e.DescriptionKeys = append(e.DescriptionKeys, c.strF(f, w))
					default:
						c.skip(w)
					}
				}
			})
			r.EntityRefs = append(r.EntityRefs, e)
		default:
			d.skip(w)
		}
	}
}

func (d *pdec) scope(s *scope) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			s.Name = d.strF(f, w)
		case 2:
			s.Version = d.strF(f, w)
		case 3:
			d.keyValue(&s.Attributes, f, w)
		case 4:
			s.DroppedAttributesCount = u32(d.varintF(f, w))
		default:
			d.skip(w)
		}
	}
}

// resourceAndScopes reads the shape every signal shares: a resource
// (field 1), scope containers (field 2, or the deprecated 1000 when 2 is
// absent, as pdata migrates them) and a schema URL (field 3).
func (d *pdec) resourceAndScopes(res *resource, schema *string, scopeMsg func(c *pdec, deprecated bool)) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			d.sub(f, w, func(c *pdec) { c.resource(res) })
		case 2, 1000:
			d.sub(f, w, func(c *pdec) { scopeMsg(c, f == 1000) })
		case 3:
			*schema = d.strF(f, w)
		default:
			d.skip(w)
		}
	}
}

// scopeItems reads a scope container: scope (1), items (2), schema URL (3).
func (d *pdec) scopeItems(s *scope, schema *string, item func(c *pdec)) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			d.sub(f, w, func(c *pdec) { c.scope(s) })
		case 2:
			d.sub(f, w, item)
		case 3:
			*schema = d.strF(f, w)
		default:
			d.skip(w)
		}
	}
}

func unmarshalTraces(b []byte) (*tracesData, error) {
	d := pdec{b: b}
	var out tracesData
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		if f != 1 {
			d.skip(w)
			continue
		}
		var rs resourceSpans
		d.sub(f, w, func(c *pdec) {
			c.resourceAndScopes(&rs.Resource, &rs.SchemaURL, func(c *pdec, deprecated bool) {
				var ss scopeSpans
				c.scopeItems(&ss.Scope, &ss.SchemaURL, func(c *pdec) {
					var s span
					c.span(&s)
					ss.Spans = append(ss.Spans, s)
				})
				if deprecated {
					rs.DeprecatedScopeSpans = append(rs.DeprecatedScopeSpans, ss)
				} else {
					rs.ScopeSpans = append(rs.ScopeSpans, ss)
				}
			})
		})
		if len(rs.ScopeSpans) == 0 {
			rs.ScopeSpans = rs.DeprecatedScopeSpans
		}
		rs.DeprecatedScopeSpans = nil
		out.ResourceSpans = append(out.ResourceSpans, rs)
	}
	return &out, d.err
}

func (d *pdec) span(s *span) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			d.idF(f, w, s.TraceID[:])
		case 2:
			d.idF(f, w, s.SpanID[:])
		case 3:
			s.TraceState = d.strF(f, w)
		case 4:
			d.idF(f, w, s.ParentSpanID[:])
		case 16:
			s.Flags = u32(d.fixed32F(f, w))
		case 5:
			s.Name = d.strF(f, w)
		case 6:
			s.Kind = spanKind(d.varintF(f, w))
		case 7:
			s.StartTimeUnixNano = u64(d.fixed64F(f, w))
		case 8:
			s.EndTimeUnixNano = u64(d.fixed64F(f, w))
		case 9:
			d.keyValue(&s.Attributes, f, w)
		case 10:
			s.DroppedAttributesCount = u32(d.varintF(f, w))
		case 11:
			var e spanEvent
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					switch f {
					case 1:
						e.TimeUnixNano = u64(c.fixed64F(f, w))
					case 2:
						e.Name = c.strF(f, w)
					case 3:
						c.keyValue(&e.Attributes, f, w)
					case 4:
						e.DroppedAttributesCount = u32(c.varintF(f, w))
					default:
						c.skip(w)
					}
				}
			})
			s.Events = append(s.Events, e)
		case 12:
			s.DroppedEventsCount = u32(d.varintF(f, w))
		case 13:
			var l spanLink
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					switch f {
					case 1:
						c.idF(f, w, l.TraceID[:])
					case 2:
						c.idF(f, w, l.SpanID[:])
					case 3:
						l.TraceState = c.strF(f, w)
					case 4:
						c.keyValue(&l.Attributes, f, w)
					case 5:
						l.DroppedAttributesCount = u32(c.varintF(f, w))
					case 6:
						l.Flags = u32(c.fixed32F(f, w))
					default:
						c.skip(w)
					}
				}
			})
			s.Links = append(s.Links, l)
		case 14:
			s.DroppedLinksCount = u32(d.varintF(f, w))
		case 15:
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					switch f {
					case 2:
						s.Status.Message = c.strF(f, w)
					case 3:
						s.Status.Code = statusCode(c.varintF(f, w))
					default:
						c.skip(w)
					}
				}
			})
		default:
			d.skip(w)
		}
	}
}

func unmarshalMetrics(b []byte) (*metricsData, error) {
	d := pdec{b: b}
	var out metricsData
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		if f != 1 {
			d.skip(w)
			continue
		}
		var rm resourceMetrics
		d.sub(f, w, func(c *pdec) {
			c.resourceAndScopes(&rm.Resource, &rm.SchemaURL, func(c *pdec, deprecated bool) {
				var sm scopeMetrics
				c.scopeItems(&sm.Scope, &sm.SchemaURL, func(c *pdec) {
					var m metric
					c.metric(&m)
					sm.Metrics = append(sm.Metrics, m)
				})
				if deprecated {
					rm.DeprecatedScopeMetrics = append(rm.DeprecatedScopeMetrics, sm)
				} else {
					rm.ScopeMetrics = append(rm.ScopeMetrics, sm)
				}
			})
		})
		if len(rm.ScopeMetrics) == 0 {
			rm.ScopeMetrics = rm.DeprecatedScopeMetrics
		}
		rm.DeprecatedScopeMetrics = nil
		out.ResourceMetrics = append(out.ResourceMetrics, rm)
	}
	return &out, d.err
}

func (d *pdec) exemplar(es *[]exemplar, field, wire int) {
	var e exemplar
	d.sub(field, wire, func(c *pdec) {
		for f, w, ok := c.next(); ok; f, w, ok = c.next() {
			switch f {
			case 7:
				c.keyValue(&e.FilteredAttributes, f, w)
			case 2:
				e.TimeUnixNano = u64(c.fixed64F(f, w))
			case 3:
				e.AsDouble, e.AsInt = newF64(float64(c.doubleF(f, w))), nil
			case 6:
				e.AsInt, e.AsDouble = newI64(int64(c.fixed64F(f, w))), nil
			case 4:
				c.idF(f, w, e.SpanID[:])
			case 5:
				c.idF(f, w, e.TraceID[:])
			default:
				c.skip(w)
			}
		}
	})
	*es = append(*es, e)
}

func (d *pdec) numberPoint(pts *[]numberPoint, field, wire int) {
	var p numberPoint
	d.sub(field, wire, func(c *pdec) {
		for f, w, ok := c.next(); ok; f, w, ok = c.next() {
			switch f {
			case 7:
				c.keyValue(&p.Attributes, f, w)
			case 2:
				p.StartTimeUnixNano = u64(c.fixed64F(f, w))
			case 3:
				p.TimeUnixNano = u64(c.fixed64F(f, w))
			case 4:
				p.AsDouble, p.AsInt = newF64(float64(c.doubleF(f, w))), nil
			case 6:
				p.AsInt, p.AsDouble = newI64(int64(c.fixed64F(f, w))), nil
			case 5:
				c.exemplar(&p.Exemplars, f, w)
			case 8:
				p.Flags = u32(c.varintF(f, w))
			default:
				c.skip(w)
			}
		}
	})
	*pts = append(*pts, p)
}

func (d *pdec) metric(m *metric) {
	// A later data field replaces an earlier one, as in any oneof.
	only := func() { m.Gauge, m.Sum, m.Histogram, m.ExponentialHistogram, m.Summary = nil, nil, nil, nil, nil }
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			m.Name = d.strF(f, w)
		case 2:
			m.Description = d.strF(f, w)
		case 3:
			m.Unit = d.strF(f, w)
		case 5:
			only()
			m.Gauge = &gauge{}
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					if f == 1 {
						c.numberPoint(&m.Gauge.DataPoints, f, w)
					} else {
						c.skip(w)
					}
				}
			})
		case 7:
			only()
			m.Sum = &sum{}
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					switch f {
					case 1:
						c.numberPoint(&m.Sum.DataPoints, f, w)
					case 2:
						m.Sum.AggregationTemporality = temporality(c.varintF(f, w))
					case 3:
						m.Sum.IsMonotonic = c.varintF(f, w) != 0
					default:
						c.skip(w)
					}
				}
			})
		case 9:
			only()
			m.Histogram = &histogram{}
			d.sub(f, w, func(c *pdec) { c.histogram(m.Histogram) })
		case 10:
			only()
			m.ExponentialHistogram = &expHistogram{}
			d.sub(f, w, func(c *pdec) { c.expHistogram(m.ExponentialHistogram) })
		case 11:
			only()
			m.Summary = &summary{}
			d.sub(f, w, func(c *pdec) { c.summary(m.Summary) })
		case 12:
			d.keyValue(&m.Metadata, f, w)
		default:
			d.skip(w)
		}
	}
}

func (d *pdec) histogram(h *histogram) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			var p histogramPoint
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					switch f {
					case 9:
						c.keyValue(&p.Attributes, f, w)
					case 2:
						p.StartTimeUnixNano = u64(c.fixed64F(f, w))
					case 3:
						p.TimeUnixNano = u64(c.fixed64F(f, w))
					case 4:
						p.Count = u64(c.fixed64F(f, w))
					case 5:
						p.Sum = newF64(float64(c.doubleF(f, w)))
					case 6:
						c.repeated(f, w, wireI64, func(e *pdec) { p.BucketCounts = append(p.BucketCounts, u64(e.fixed64F(f, wireI64))) })
					case 7:
						c.repeated(f, w, wireI64, func(e *pdec) { p.ExplicitBounds = append(p.ExplicitBounds, e.doubleF(f, wireI64)) })
					case 8:
						c.exemplar(&p.Exemplars, f, w)
					case 10:
						p.Flags = u32(c.varintF(f, w))
					case 11:
						p.Min = newF64(float64(c.doubleF(f, w)))
					case 12:
						p.Max = newF64(float64(c.doubleF(f, w)))
					default:
						c.skip(w)
					}
				}
			})
			h.DataPoints = append(h.DataPoints, p)
		case 2:
			h.AggregationTemporality = temporality(d.varintF(f, w))
		default:
			d.skip(w)
		}
	}
}

func (d *pdec) buckets(b *buckets, field, wire int) {
	d.sub(field, wire, func(c *pdec) {
		for f, w, ok := c.next(); ok; f, w, ok = c.next() {
			switch f {
			case 1:
				b.Offset = c.sint32F(f, w)
			case 2:
				c.repeated(f, w, wireVarint, func(e *pdec) { b.BucketCounts = append(b.BucketCounts, u64(e.varintF(f, wireVarint))) })
			default:
				c.skip(w)
			}
		}
	})
}

func (d *pdec) expHistogram(h *expHistogram) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			var p expHistogramPoint
			d.sub(f, w, func(c *pdec) {
				for f, w, ok := c.next(); ok; f, w, ok = c.next() {
					switch f {
					case 1:
						c.keyValue(&p.Attributes, f, w)
					case 2:
						p.StartTimeUnixNano = u64(c.fixed64F(f, w))
					case 3:
						p.TimeUnixNano = u64(c.fixed64F(f, w))
					case 4:
						p.Count = u64(c.fixed64F(f, w))
					case 5:
						p.Sum = newF64(float64(c.doubleF(f, w)))
					case 6:
						p.Scale = c.sint32F(f, w)
					case 7:
						p.ZeroCount = u64(c.fixed64F(f, w))
					case 8:
						c.buckets(&p.Positive, f, w)
					case 9:
						c.buckets(&p.Negative, f, w)
					case 10:
						p.Flags = u32(c.varintF(f, w))
					case 11:
						c.exemplar(&p.Exemplars, f, w)
					case 12:
						p.Min = newF64(float64(c.doubleF(f, w)))
					case 13:
						p.Max = newF64(float64(c.doubleF(f, w)))
					case 14:
						p.ZeroThreshold = c.doubleF(f, w)
					default:
						c.skip(w)
					}
				}
			})
			h.DataPoints = append(h.DataPoints, p)
		case 2:
			h.AggregationTemporality = temporality(d.varintF(f, w))
		default:
			d.skip(w)
		}
	}
}

func (d *pdec) summary(s *summary) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		if f != 1 {
			d.skip(w)
			continue
		}
		var p summaryPoint
		d.sub(f, w, func(c *pdec) {
			for f, w, ok := c.next(); ok; f, w, ok = c.next() {
				switch f {
				case 7:
					c.keyValue(&p.Attributes, f, w)
				case 2:
					p.StartTimeUnixNano = u64(c.fixed64F(f, w))
				case 3:
					p.TimeUnixNano = u64(c.fixed64F(f, w))
				case 4:
					p.Count = u64(c.fixed64F(f, w))
				case 5:
					p.Sum = c.doubleF(f, w)
				case 6:
					var q quantile
					c.sub(f, w, func(c *pdec) {
						for f, w, ok := c.next(); ok; f, w, ok = c.next() {
							switch f {
							case 1:
								q.Quantile = c.doubleF(f, w)
							case 2:
								q.Value = c.doubleF(f, w)
							default:
								c.skip(w)
							}
						}
					})
					p.QuantileValues = append(p.QuantileValues, q)
				case 8:
					p.Flags = u32(c.varintF(f, w))
				default:
					c.skip(w)
				}
			}
		})
		s.DataPoints = append(s.DataPoints, p)
	}
}

func unmarshalLogs(b []byte) (*logsData, error) {
	d := pdec{b: b}
	var out logsData
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		if f != 1 {
			d.skip(w)
			continue
		}
		var rl resourceLogs
		d.sub(f, w, func(c *pdec) {
			c.resourceAndScopes(&rl.Resource, &rl.SchemaURL, func(c *pdec, deprecated bool) {
				var sl scopeLogs
				c.scopeItems(&sl.Scope, &sl.SchemaURL, func(c *pdec) {
					var l logRecord
					c.logRecord(&l)
					sl.LogRecords = append(sl.LogRecords, l)
				})
				if deprecated {
					rl.DeprecatedScopeLogs = append(rl.DeprecatedScopeLogs, sl)
				} else {
					rl.ScopeLogs = append(rl.ScopeLogs, sl)
				}
			})
		})
		if len(rl.ScopeLogs) == 0 {
			rl.ScopeLogs = rl.DeprecatedScopeLogs
		}
		rl.DeprecatedScopeLogs = nil
		out.ResourceLogs = append(out.ResourceLogs, rl)
	}
	return &out, d.err
}

func (d *pdec) logRecord(l *logRecord) {
	for f, w, ok := d.next(); ok; f, w, ok = d.next() {
		switch f {
		case 1:
			l.TimeUnixNano = u64(d.fixed64F(f, w))
		case 11:
			l.ObservedTimeUnixNano = u64(d.fixed64F(f, w))
		case 2:
			l.SeverityNumber = severity(d.varintF(f, w))
		case 3:
			l.SeverityText = d.strF(f, w)
		case 5:
			d.sub(f, w, func(c *pdec) { l.Body = c.anyValue() })
		case 6:
			d.keyValue(&l.Attributes, f, w)
		case 7:
			l.DroppedAttributesCount = u32(d.varintF(f, w))
		case 8:
			l.Flags = u32(d.fixed32F(f, w))
		case 9:
			d.idF(f, w, l.TraceID[:])
		case 10:
			d.idF(f, w, l.SpanID[:])
		case 12:
			l.EventName = d.strF(f, w)
		default:
			d.skip(w)
		}
	}
}
