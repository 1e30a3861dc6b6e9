// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The otlp_set walker must see at least what pdata's decoder sees: every
// field pdata decodes, however the wire format disguises it, at its depth.

func pbLen(dst []byte, field int, body []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(field<<3|2))
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// nestedBody is a log body, an AnyValue nested as array_value { values
// { ... } } levels deep.
func nestedBody(levels int) []byte {
	// Written back to front, each level's length before it.
	var v []byte
	for range levels {
		for _, field := range []int{1, 5} { // ArrayValue.values, AnyValue.array_value
			v = append(v, byte(field<<3|2)) // reversed below, with the length
			v = append(v, reversedUvarint(len(v)-1)...)
		}
	}
	for i, j := 0, len(v)-1; i < j; i, j = i+1, j-1 {
		v[i], v[j] = v[j], v[i]
	}
	return v
}

func reversedUvarint(n int) []byte {
	b := binary.AppendUvarint(nil, uint64(n))
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// logRequest puts log record fields into an export request.
func logRequest(record []byte) []byte {
	return pbLen(nil, 1, pbLen(nil, 2, pbLen(nil, 2, record))) // resource_logs, scope_logs, log_records
}

var (
	// A group as pdata skips it: its start tag and the first field in it
	// that is not a group tag. Whatever follows belongs to the record.
	shortGroup = []byte{15<<3 | 3, 15 << 3, 0}
	endGroup   = []byte{15<<3 | 4}
)

// TestWalkerSeesHiddenDepth: a log body nested 100,000 deep, which pdata
// decodes by recursion, is refused however it is disguised.
func TestWalkerSeesHiddenDepth(t *testing.T) {
	deep := pbLen(nil, 5, nestedBody(100_000)) // LogRecord.body
	cat := func(parts ...[]byte) (b []byte) {
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for name, record := range map[string][]byte{
		"plain": deep,
		// pdata ends the group at the varint and decodes the body; a walk
		// that counted the group to its end tag skipped it.
		"behind a group":       cat(shortGroup, deep, endGroup),
		"behind nested groups": cat([]byte{15<<3 | 3, 14<<3 | 3, 14<<3 | 4}, shortGroup[1:], deep, endGroup),
		// pdata decodes the body, then fails at the garbage; a walk that
		// charged a field that does not parse to the end as bytes missed it.
		"before garbage":    cat(deep, []byte{0xff}),
		"before an end tag": cat(deep, endGroup),
	} {
		req := logRequest(record)
		w := protoWalker{budget: 1 << 40}
		require.Equal(t, walkTooBig, w.walkAs(req, msgUnknown), name)
	}
}

// TestWalkerKeepsShallowGroups: a group pdata skips costs nothing and hides
// nothing; payloads as shallow as real OTLP pass.
func TestWalkerKeepsShallowGroups(t *testing.T) {
	body := pbLen(nil, 5, nestedBody(8))
	for _, record := range [][]byte{
		body,
		append(append(append([]byte{}, shortGroup...), body...), endGroup...), // pdata fails at the end tag, after the body
		append([]byte{15<<3 | 3, 15<<3 | 4}, body...),                         // a balanced group
	} {
		w := protoWalker{budget: 1 << 30}
		require.NotEqual(t, walkTooBig, w.walkAs(logRequest(record), msgUnknown))
	}
}

// randomMessage writes a message of random fields: scalars, strings,
// nested messages, runs of empty messages, groups (balanced, or ended by
// a field as pdata ends them) and, now and then, garbage that stops the
// decoder part way. Field numbers are small, so that many of them are
// real OTLP fields and pdata decodes them.
func randomMessage(rng *rand.Rand, depth int) []byte {
	var b []byte
	for range rng.IntN(6) {
		f := 1 + rng.IntN(15)
		switch k := rng.IntN(10); {
		case k < 2:
			b = binary.AppendUvarint(b, uint64(f<<3))
			b = binary.AppendUvarint(b, rng.Uint64()>>rng.IntN(64))
		case k < 3:
			b = binary.AppendUvarint(b, uint64(f<<3|[]int{1, 5}[rng.IntN(2)]))
			b = append(b, make([]byte, 8)...)[:len(b)+4+4*rng.IntN(2)]
		case k < 5 && depth < 30:
			b = pbLen(b, f, randomMessage(rng, depth+1))
		case k < 6:
			// A chain of one-field messages, a few of them deeper than
			// maxOTLPDepth, the innermost possibly followed by garbage.
			inner := randomMessage(rng, 30)
			for range rng.IntN(2 * maxOTLPDepth) {
				inner = pbLen(nil, 1+rng.IntN(15), inner)
			}
			b = pbLen(b, f, inner)
		case k < 7:
			run := make([]byte, 0, 64)
			for range rng.IntN(32) {
				run = append(run, byte(1+rng.IntN(15))<<3|2, 0)
			}
			b = pbLen(b, f, run)
		case k < 8:
			b = pbLen(b, f, []byte("text\x00\x12\x0a"[:rng.IntN(8)]))
		case k < 9:
			b = append(b, byte(f<<3|3))
			if rng.IntN(2) == 0 {
				b = append(b, 15<<3, 1) // ends the group for pdata
			} else {
				b = append(b, byte(f<<3|4))
			}
		default:
			b = append(b, []byte{0xff, 0x07, 15<<3 | 4, 0x80}[rng.IntN(4)])
		}
	}
	return b
}

func allocated(decode func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestWalkerBoundsWhatPdataDecodes: on random payloads, whatever pdata
// makes of them as traces, metrics or logs allocates no more than the
// walker charged.
func TestWalkerBoundsWhatPdataDecodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	decoders := map[string]func([]byte){
		"traces":  func(b []byte) { _, _ = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(b) },
		"metrics": func(b []byte) { _, _ = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(b) },
		"logs":    func(b []byte) { _, _ = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(b) },
	}
	// The request, resource and scope pdata allocates whatever the payload.
	const fixed = 2048
	refused := 0
	for i := range 3000 {
		p := randomMessage(rng, 0)
		w := protoWalker{budget: 1 << 40}
		if w.walkAs(p, msgUnknown) == walkTooBig {
			refused++
			continue
		}
		charged := uint64(1<<40 - w.budget)
		for name, decode := range decoders {
			got := allocated(func() { decode(p) })
			require.LessOrEqual(t, got, charged+fixed, "%s, payload %d: %x", name, i, p)
		}
	}
	t.Logf("%d of 3000 refused as too deep", refused)
}

// nest nests body in length-delimited fields, innermost first.
func nest(body []byte, fields ...int) []byte {
	for _, f := range fields {
		body = pbLen(nil, f, body)
	}
	return body
}

// repeated is n bytes of one short field over and over.
func repeated(field []byte, n int) []byte { return bytes.Repeat(field, n/len(field)) }

// TestWalkerChargesTheCostlyShapes: the payloads that cost pdata most for
// their size (runs of empty messages, bucket counts appended one at a
// time, exemplars appended by value), at sizes spread so that the slices
// pdata grows end at every point of their growth: pdata allocates no more
// than the walk charged.
func TestWalkerChargesTheCostlyShapes(t *testing.T) {
	expPoint := func(b []byte) []byte { return nest(b, 8, 1, 10, 2, 2, 1) } // positive buckets of an exponential histogram
	histPoint := func(b []byte) []byte { return nest(b, 1, 9, 2, 2, 1) }
	gaugePoint := func(b []byte) []byte { return nest(b, 1, 5, 2, 2, 1) }
	fixed := append([]byte{0}, make([]byte, 8)...)
	shapes := []struct {
		name, signal string
		payload      func(n int) []byte
	}{
		{"packed bucket counts", "metrics", func(n int) []byte { return expPoint(pbLen(nil, 2, make([]byte, n))) }},
		{"bucket counts, field number wrapped", "metrics", func(n int) []byte {
			// Field 2<<32 + 2, which pdata reads as 2.
			return expPoint(pbLen(nil, 1<<32+2, make([]byte, n)))
		}},
		{"unpacked bucket counts", "metrics", func(n int) []byte { return expPoint(repeated([]byte{2 << 3, 0}, n)) }},
		{"unpacked histogram counts", "metrics", func(n int) []byte { fixed[0] = 6<<3 | 1; return histPoint(repeated(fixed, n)) }},
		{"unpacked explicit bounds", "metrics", func(n int) []byte { fixed[0] = 7<<3 | 1; return histPoint(repeated(fixed, n)) }},
		{"empty exemplars", "metrics", func(n int) []byte { return gaugePoint(repeated([]byte{5<<3 | 2, 0}, n)) }},
		{"empty point attributes", "metrics", func(n int) []byte { return gaugePoint(repeated([]byte{7<<3 | 2, 0}, n)) }},
		{"empty exponential points", "metrics", func(n int) []byte { return nest(repeated([]byte{1<<3 | 2, 0}, n), 10, 2, 2, 1) }},
		{"empty histogram points", "metrics", func(n int) []byte { return nest(repeated([]byte{1<<3 | 2, 0}, n), 9, 2, 2, 1) }},
		{"empty metrics", "metrics", func(n int) []byte { return nest(repeated([]byte{2<<3 | 2, 0}, n), 2, 1) }},
		{"empty spans", "traces", func(n int) []byte { return nest(repeated([]byte{2<<3 | 2, 0}, n), 2, 1) }},
		{"empty span events", "traces", func(n int) []byte { return nest(repeated([]byte{11<<3 | 2, 0}, n), 2, 2, 1) }},
		{"empty resources", "traces", func(n int) []byte { return repeated([]byte{1<<3 | 2, 0}, n) }},
		{"empty entity id keys", "traces", func(n int) []byte { return nest(repeated([]byte{3<<3 | 2, 0}, n), 3, 1, 1) }},
		{"empty log records", "logs", func(n int) []byte { return nest(repeated([]byte{2<<3 | 2, 0}, n), 2, 1) }},
		{"empty log attributes", "logs", func(n int) []byte { return nest(repeated([]byte{6<<3 | 2, 0}, n), 2, 2, 1) }},
		{"empty array values", "logs", func(n int) []byte { return nest(repeated([]byte{1<<3 | 2, 0}, n), 5, 5, 2, 2, 1) }},
	}
	decode := map[string]func([]byte){
		"traces":  func(b []byte) { _, _ = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(b) },
		"metrics": func(b []byte) { _, _ = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(b) },
		"logs":    func(b []byte) { _, _ = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(b) },
	}
	for _, sh := range shapes {
		worst := 0.0
		for n := 4 << 10; n < 2<<20; n = n*5/4 + 18 {
			p := sh.payload(n)
			root := msgUnknown
			if sh.signal == "metrics" {
				root = msgMetricsRequest
			}
			w := protoWalker{budget: 1 << 40}
			require.Equal(t, walkOK, w.walkAs(p, root), sh.name)
			charged := uint64(1<<40 - w.budget)
			got := allocated(func() { decode[sh.signal](p) })
			require.LessOrEqual(t, got, charged, "%s, %d bytes", sh.name, len(p))
			worst = max(worst, float64(got)/float64(charged))
		}
		t.Logf("%-26s allocated at most %.2f of the charge", sh.name, worst)
	}
}

// A replacement batch is decoded as the OTLP receivers decode a request,
// moving the deprecated instrumentation_library_spans (field 1000 of
// ResourceSpans) to scope_spans: pdata's ProtoUnmarshaler kept them
// hidden from the index and from otlp_get's weighing, but not from
// pdata's sizing and marshaling, and a guest could so hand the next
// processor 3 million events no weighing saw (second review of attack
// round 25).
func TestReplacementMovesDeprecatedScopeSpans(t *testing.T) {
	span := pbLen(nil, 5, []byte("hidden"))                         // Span.name
	payload := pbLen(nil, 1, pbLen(nil, 1000, pbLen(nil, 2, span))) // resource_spans { instrumentation_library_spans { spans } }
	var data strings.Builder
	for _, b := range payload {
		fmt.Fprintf(&data, "\\%02x", b)
	}
	guest := fmt.Sprintf(`(module
  (import "wasmcol" "otlp_set" (func $set (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "%s")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.lt_s (call $set (i32.const 0) (i32.const %d)) (i32.const 0)) (then (return (i32.const 1))))
    (i32.const 0)))`, data.String(), len(payload))
	p, err := New(context.Background(), Options{Source: "set", Module: watModule(t, guest, false), PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())
	out, err := p.ProcessTraces(context.Background(), ptrace.NewTraces())
	require.NoError(t, err)
	require.Equal(t, 1, out.SpanCount(), "the span stayed in the deprecated field")
	require.Equal(t, "hidden", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
}
