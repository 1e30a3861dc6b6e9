// SPDX-License-Identifier: Apache-2.0

// Command otlpbomb is a hostile filter that replaces a batch of three or
// more spans with an OTLP payload built to cost the host far more memory
// or stack than its size suggests. Config "shape" picks the payload:
//
//   - "flat": 8 million empty spans, in plain sight: the payload cap's
//     object count must refuse it.
//   - "groups": the same spans inside a ResourceSpans that opens with an
//     unknown field encoded as a protobuf group. pdata skips groups; a
//     size check that does not understand them may take the whole
//     ResourceSpans for a string and count none of its spans.
//   - "overlong": the same, hidden behind a field whose length is a
//     non-minimal (6-byte) varint, which pdata accepts.
//   - "deep": an attribute value nested as arrays in arrays, a million
//     levels deep; pdata's decoder recurses once per level.
//   - "deep_groups": the same, hidden behind a group.
//
// A refused payload makes the filter fail with the host's answer, so the
// batch passes unchanged and the fault is counted as "guest". Batches of
// fewer than three spans get sandbox.ok=true on every span.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o otlpbomb.wasm .
package main

import (
	"encoding/binary"
	"fmt"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type otlpbomb struct{ shape string }

func (f *otlpbomb) Init(c wasmcol.Config) error {
	var cfg struct {
		Shape string `json:"shape"`
	}
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	f.shape = cfg.Shape
	return nil
}

// Protobuf tags (field number << 3 | wire type) of the fields used.
const (
	tagResourceSpans = 1<<3 | 2 // ExportTraceServiceRequest.resource_spans
	tagScopeSpans    = 2<<3 | 2 // ResourceSpans.scope_spans
	tagSpans         = 2<<3 | 2 // ScopeSpans.spans
	tagAttributes    = 9<<3 | 2 // Span.attributes
	tagKey           = 1<<3 | 2 // KeyValue.key
	tagValue         = 2<<3 | 2 // KeyValue.value
	tagArrayValue    = 5<<3 | 2 // AnyValue.array_value
	tagValues        = 1<<3 | 2 // ArrayValue.values
	tagStringValue   = 1<<3 | 2 // AnyValue.string_value
)

// budget is the most the payload may take: a quarter of the host's default
// 64 MiB budget for guest-caused host memory.
const budget = 16 << 20

func field(dst []byte, tag byte, body []byte) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// hidingGroup is an unknown field 17 encoded as an empty group: a start
// tag, then an end tag. pdata's decoder skips it.
var hidingGroup = []byte{17<<3 | 3, 0x01, 1<<3 | 4}

// overlongEmpty is field 17 as an empty length-delimited value whose
// length, 0, is spelt in six bytes.
var overlongEmpty = []byte{17<<3 | 2, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}

func emptySpans(room int) []byte {
	n := room / 2
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		b = append(b, tagSpans, 0)
	}
	return b
}

// deepValue is an AnyValue nested as array_value { values { ... } } until
// the encoding fills room bytes, built from the inside out.
func deepValue(room int) []byte {
	buf := make([]byte, room)
	pos := room
	put := func(tag byte) {
		n := room - pos
		var lenBuf [binary.MaxVarintLen64]byte
		k := binary.PutUvarint(lenBuf[:], uint64(n))
		pos -= k
		copy(buf[pos:], lenBuf[:k])
		pos--
		buf[pos] = tag
	}
	// The innermost value is a string, so that the chain is valid OTLP.
	pos -= 1
	buf[pos] = 'x'
	put(tagStringValue)
	for pos > 16 {
		put(tagValues)
		put(tagArrayValue)
	}
	return buf[pos:]
}

func (f *otlpbomb) payload() []byte {
	const frame = 32 // the enclosing messages' tags and lengths
	var scope []byte
	var prefix []byte
	switch f.shape {
	case "flat":
		scope = emptySpans(budget - frame)
	case "groups":
		prefix = hidingGroup
		scope = emptySpans(budget - frame)
	case "overlong":
		prefix = overlongEmpty
		scope = emptySpans(budget - frame)
	case "deep", "deep_groups":
		if f.shape == "deep_groups" {
			prefix = hidingGroup
		}
		kv := field(nil, tagKey, []byte("k"))
		kv = field(kv, tagValue, deepValue(budget-2*frame))
		scope = field(nil, tagSpans, field(nil, tagAttributes, kv))
	default:
		panic("otlpbomb: unknown shape " + f.shape)
	}
	rs := append(append([]byte(nil), prefix...), field(nil, tagScopeSpans, scope)...)
	return field(nil, tagResourceSpans, rs)
}

func (f *otlpbomb) ProcessTraces(t wasmcol.Traces) error {
	n := 0
	for range t.Spans() {
		n++
	}
	if n < 3 {
		for s := range t.Spans() {
			s.SetAttr("sandbox.ok", wasmcol.Bool(true))
		}
		return nil
	}
	p := f.payload()
	if err := t.SetOTLP(p); err != nil {
		return fmt.Errorf("otlpbomb: %d-byte %s payload refused: %w", len(p), f.shape, err)
	}
	return nil
}

func init() { wasmcol.Register(&otlpbomb{}) }

func main() {}
