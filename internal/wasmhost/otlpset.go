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
	// the host: an empty span, the largest common one, costs about 220.
	bytesPerObject = 256
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
	switch w.walk(p, 0) {
	case walkTooBig:
		return abi.ErrTooLarge
	case walkBad:
		return abi.ErrEncoding
	}
	st.otlp = st.otlp[:0]
	if !st.ensure(&st.otlp, len(p), st.limits.maxOTLP) {
		return abi.ErrTooLarge
	}
	st.otlp = append(st.otlp, p...)
	st.hasOTLP = true
	return 0
}

type walkResult int

const (
	walkOK walkResult = iota
	walkBad
	walkTooBig
)

// protoWalker walks p as a protobuf message without a schema, accepting
// everything the wire format allows, since pdata's decoder does: varints
// and lengths of up to ten bytes, and groups, which it skips by scanning
// (recursively) to their end. Every length-delimited field whose contents
// parse as a message is charged bytesPerObject against budget and is walked
// in turn (empty ones count too: an empty span is an empty field); other
// length-delimited contents and scalars are charged bytesPerScalar a byte
// or a scalar. So the charge bounds what any schema could decode p into. Messages may nest
// maxOTLPDepth deep; groups, which pdata skips without recursion, may not
// hide them. Each level re-reads its fields, so the walk
// reads p at most maxOTLPDepth times; it checks the deadline as it goes.
type protoWalker struct {
	budget  int
	scanned int
	guard   *guard
}

func (w *protoWalker) walk(p []byte, depth int) walkResult { return w.fields(p, depth, true) }

// fields reads the fields of one message. Groups are skipped as pdata
// skips them: by counting start and end tags, whatever their field
// numbers, and without looking into what they hold. With nested false it
// only checks the wire format: length-delimited contents are skipped.
func (w *protoWalker) fields(p []byte, depth int, nested bool) walkResult {
	if w.scanned += len(p); w.scanned > 1<<20 && w.guard != nil {
		w.scanned = 0
		w.guard.check()
	}
	r := reader{b: p}
	groups := 0
	for !r.done() {
		tag := r.leb(10)
		if r.err != nil || tag>>3 == 0 {
			return walkBad
		}
		switch tag & 7 {
		case 0:
			r.leb(10)
			w.budget -= bytesPerScalar // a repeated varint decodes into a uint64
		case 1:
			r.bytes(8)
			w.budget -= bytesPerScalar
		case 5:
			r.bytes(4)
			w.budget -= bytesPerScalar
		case 2:
			n := r.leb(10)
			if n > uint64(len(r.b)-r.off) {
				return walkBad
			}
			sub := r.bytes(int(n))
			if !nested || groups > 0 {
				break
			}
			if res := w.lengthDelimited(sub, depth); res != walkOK {
				return res
			}
		case 3:
			groups++
		case 4:
			if groups == 0 {
				return walkBad
			}
			groups--
		default:
			return walkBad
		}
		if r.err != nil {
			return walkBad
		}
		if w.budget < 0 {
			return walkTooBig
		}
	}
	if groups != 0 || r.err != nil {
		return walkBad
	}
	return walkOK
}

// lengthDelimited accounts for one length-delimited field: a string or
// bytes, or a message that counts and is walked.
func (w *protoWalker) lengthDelimited(sub []byte, depth int) walkResult {
	if len(sub) == 0 {
		w.budget -= bytesPerObject
		return walkOK
	}
	if depth+1 >= maxOTLPDepth {
		// Too deep to walk further: if it is a message at all, pdata
		// would recurse into it.
		flat := protoWalker{budget: 1 << 62}
		if flat.fields(sub, depth+1, false) == walkOK {
			return walkTooBig
		}
		return walkOK
	}
	probe := *w
	switch probe.walk(sub, depth+1) {
	case walkBad: // a string or bytes, or a packed array
		w.scanned = probe.scanned
		w.budget -= bytesPerScalar * len(sub)
	case walkTooBig:
		return walkTooBig
	default:
		*w = probe
		w.budget -= bytesPerObject
	}
	return walkOK
}
