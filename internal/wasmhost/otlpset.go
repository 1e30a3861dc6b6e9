// SPDX-License-Identifier: Apache-2.0

package wasmhost

import "github.com/wasmcol/wasmcol/wasm-sdk/abi"

// A replacement batch (otlp_set) is decoded by pdata after the call. A few
// bytes of protobuf can stand for far more memory: an empty span is two
// bytes on the wire and about 220 on the host, a byte of a packed varint
// array eight. Its size alone does not bound what it decodes into, and
// pdata's decoder recurses once per level of nesting. The payload is
// therefore walked first and what it may decode into is reckoned, whatever
// the schema, against the whole host memory budget: bytesPerObject for
// every message, eight bytes for every scalar and for every byte of a
// string or bytes field (which may be a packed varint array). Messages may
// nest at most maxOTLPDepth deep.
const (
	maxOTLPDepth = 24
	// bytesPerObject is what one decoded message is reckoned to cost on
	// the host: an empty span, the largest common one, costs up to 257
	// bytes with the growth of the slice that holds it.
	bytesPerObject = 288
	// bytesPerScalar is the most a varint, or one byte of a packed array,
	// decodes into: a uint64.
	bytesPerScalar = 8
)

// stageOTLP keeps a replacement batch; it is decoded only if the call
// succeeds.
func (st *callState) stageOTLP(p []byte) int32 {
	if len(p) > st.limits.maxOTLP {
		return abi.ErrTooLarge
	}
	w := protoWalker{budget: st.limits.maxDecoded, guard: st.guard}
	switch w.walkAs(p, rootType(st.t.signal)) {
	case walkTooBig:
		return abi.ErrTooLarge
	case walkBad:
		return abi.ErrEncoding
	}
	// A refused payload stages nothing: one staged earlier in the call
	// stays, whole.
	earlier := st.otlp
	st.otlp = st.otlp[:0]
	if !st.ensure(&st.otlp, len(p), st.limits.maxOTLP) {
		st.otlp = earlier
		return abi.ErrTooLarge
	}
	st.otlp = append(st.otlp, p...)
	st.hasOTLP = true
	st.otlpCharge = int64(st.limits.maxDecoded - w.budget)
	return 0
}

type walkResult int

const (
	walkOK walkResult = iota
	walkBad
	walkTooBig
)

// protoWalker walks p as a protobuf message without a schema, the way
// pdata's decoder reads it: fields in order, varints and lengths of up to
// ten bytes, groups skipped as proto.ConsumeUnknown skips them (see
// skipGroup). pdata decodes a message until its first error and has
// allocated and recursed for everything before it, so the walker charges a
// message's fields up to the first error too, and what it finds there is
// what any schema could decode:
//   - every scalar is charged bytesPerScalar;
//   - every length-delimited field may be a message, a string or bytes, or
//     a packed array. It is charged the larger of bytesPerScalar a byte and
//     bytesPerObject plus what its contents charge when walked as a
//     message (up to their first error: an empty field is an empty
//     message). So the charge bounds what p decodes into whatever the
//     schema.
//
// Contents are walked as a message whether or not they parse as one to
// the end, so that no schema can make pdata recurse deeper than the walk:
// messages may nest maxOTLPDepth deep, and a field at that depth whose
// contents begin with a length-delimited field is refused. Each level
// re-reads its fields, so the walk reads p at most maxOTLPDepth times; it
// checks the deadline as it goes.
type protoWalker struct {
	budget  int
	scanned int
	guard   *guard
}

// walkAs walks a payload of the given root type.
func (w *protoWalker) walkAs(p []byte, root msgType) walkResult { return w.fields(p, 0, root, true) }

// fields reads the fields of one message and charges them. It returns
// walkBad at the first error in the wire format, having charged what came
// before. With nested false it does not look into length-delimited
// fields: it returns walkTooBig at the first one, which could hold a
// message.
func (w *protoWalker) fields(p []byte, depth int, typ msgType, nested bool) walkResult {
	r := reader{b: p}
	for prev := 0; !r.done(); {
		w.progress(r.off - prev)
		prev = r.off
		tag := r.leb(10)
		// pdata reads the field number as int32(tag>>3): a larger one
		// wraps, and one that wraps to 0 or below is an error.
		field := int32(tag >> 3)
		if r.err != nil || field <= 0 {
			return walkBad
		}
		switch tag & 7 {
		case 0:
			r.leb(10)
			w.budget -= bytesPerScalar // a repeated varint decodes into a uint64
			if appendsScalars(typ, field) {
				w.budget -= bytesPerAppendedScalar - bytesPerScalar
			}
		case 1:
			r.bytes(8)
			w.budget -= bytesPerScalar
		case 5:
			r.bytes(4)
			w.budget -= bytesPerScalar
		case 2:
			sub, ok := lengthDelimited(&r)
			if !ok {
				return walkBad
			}
			if !nested {
				return walkTooBig
			}
			if res := w.charge(sub, depth, typ, field); res != walkOK {
				return res
			}
		case 3:
			if !skipGroup(&r, w.progress) {
				return walkBad
			}
		default: // an end tag outside a group, or no wire type at all
			return walkBad
		}
		if r.err != nil {
			return walkBad
		}
		if w.budget < 0 {
			return walkTooBig
		}
	}
	return walkOK
}

// progress counts n more bytes read and checks the deadline every 64
// KiB: a flat message, a run of groups or a packed array is read in one
// loop, and 128 MiB of groups took 760-910 ms to walk when the deadline
// was checked only as each message began.
func (w *protoWalker) progress(n int) {
	if w.scanned += n; w.scanned >= 1<<16 && w.guard != nil {
		w.scanned = 0
		w.guard.check()
	}
}

// lengthDelimited reads a length and the bytes it covers.
func lengthDelimited(r *reader) ([]byte, bool) {
	n := r.leb(10)
	if r.err != nil || n > uint64(len(r.b)-r.off) {
		return nil, false
	}
	return r.bytes(int(n)), true
}

// skipGroup skips a group whose start tag has been read, exactly as
// pdata's proto.ConsumeUnknown does: start and end tags are counted,
// whatever their field numbers, and the group ends when they balance or
// with its first field that is neither, which is skipped unread.
// Whatever follows is a field of the enclosing message: pdata decodes it,
// and so it is walked.
func skipGroup(r *reader, progress func(int)) bool {
	for open, prev := 1, r.off; ; {
		progress(r.off - prev)
		prev = r.off
		tag := r.leb(10)
		if r.err != nil || tag>>3 == 0 {
			return false
		}
		switch tag & 7 {
		case 3:
			open++
			continue
		case 4:
			if open--; open > 0 {
				continue
			}
		case 0:
			r.leb(10)
		case 1:
			r.bytes(8)
		case 5:
			r.bytes(4)
		case 2:
			if _, ok := lengthDelimited(r); !ok {
				return false
			}
		default:
			return false
		}
		return r.err == nil
	}
}

// charge accounts for one length-delimited field at depth, field of a
// message of type typ: the largest of what it costs as a string or packed
// array and what it costs as a message.
func (w *protoWalker) charge(sub []byte, depth int, typ msgType, field int32) walkResult {
	asBytes := bytesPerScalar * len(sub)
	if appendsScalars(typ, field) {
		// A packed array pdata appends to one element at a time: every
		// varint in it, each ended by a byte below 0x80.
		ends := 0
		for i, b := range sub {
			if b < 0x80 {
				ends++
			}
			if i&0xffff == 0xffff {
				w.progress(1 << 16)
			}
		}
		asBytes = max(asBytes, bytesPerAppendedScalar*ends)
	}
	object := bytesPerObject
	if isExemplar(typ, field) {
		object = bytesPerExemplar
	}
	before := w.budget
	if depth+1 >= maxOTLPDepth {
		// Too deep to walk further: pdata may decode it as a message of
		// scalars, but nothing deeper.
		flat := protoWalker{budget: 1 << 62, guard: w.guard}
		if flat.fields(sub, depth+1, msgUnknown, false) == walkTooBig {
			return walkTooBig
		}
		w.budget -= max(asBytes, 1<<62-flat.budget+object)
	} else {
		if w.fields(sub, depth+1, childType(typ, field), true) == walkTooBig {
			return walkTooBig
		}
		w.budget = before - max(asBytes, before-w.budget+object)
	}
	if w.budget < 0 {
		return walkTooBig
	}
	return walkOK
}

// Three things in pdata's metrics decoding cost more than the walk's
// schema-free charges: bucket counts of exponential histograms, which
// pdata appends to one varint at a time (the slice's growth copies add up
// to about five times its final size: 40 bytes a count, against 8 charged),
// and exemplars, which it appends by value (about 380 bytes each, against
// 256). The walk follows the message types on the way to them, and charges
// them what they cost.
const (
	bytesPerAppendedScalar = 56
	bytesPerExemplar       = 512
)

type msgType uint8

const (
	msgUnknown msgType = iota
	msgMetricsRequest
	msgResourceMetrics
	msgScopeMetrics
	msgMetric
	msgNumberPoints // a gauge or a sum
	msgHistogram
	msgExpHistogram
	msgNumberPoint
	msgHistogramPoint
	msgExpHistogramPoint
	msgBuckets
)

func rootType(signal int32) msgType {
	if signal == abi.SignalMetrics {
		return msgMetricsRequest
	}
	return msgUnknown
}

// childType is the type of field's message in a message of type typ, as
// pdata's generated decoders have it, on the way to what costs more.
func childType(typ msgType, field int32) msgType {
	switch {
	case typ == msgMetricsRequest && field == 1:
		return msgResourceMetrics
	case typ == msgResourceMetrics && (field == 2 || field == 1000): // scope_metrics, deprecated_scope_metrics
		return msgScopeMetrics
	case typ == msgScopeMetrics && field == 2:
		return msgMetric
	case typ == msgMetric && (field == 5 || field == 7):
		return msgNumberPoints
	case typ == msgMetric && field == 9:
		return msgHistogram
	case typ == msgMetric && field == 10:
		return msgExpHistogram
	case typ == msgNumberPoints && field == 1:
		return msgNumberPoint
	case typ == msgHistogram && field == 1:
		return msgHistogramPoint
	case typ == msgExpHistogram && field == 1:
		return msgExpHistogramPoint
	case typ == msgExpHistogramPoint && (field == 8 || field == 9): // positive, negative
		return msgBuckets
	}
	return msgUnknown
}

func appendsScalars(typ msgType, field int32) bool { return typ == msgBuckets && field == 2 }

func isExemplar(typ msgType, field int32) bool {
	return typ == msgNumberPoint && field == 5 || typ == msgHistogramPoint && field == 8 ||
		typ == msgExpHistogramPoint && field == 11
}
