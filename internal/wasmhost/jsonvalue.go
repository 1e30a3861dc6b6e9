// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// A map or slice value crosses to the guest as the JSON text pcommon's
// AsString gives. AsString renders through encoding/json, which recurses
// once per level of nesting and builds the whole text before anyone can
// look at its size: a client's log body nested a million deep would
// overflow the host's stack, a fatal error, and an 8 MiB string of
// control characters becomes 48 MiB of escapes, allocated several times
// over as the buffer grows. appendJSON writes the same text straight into
// the column instead. It measures the text first, stopping at
// maxValueDepth levels or at the limit, and then writes it into room made
// once: a value that does not fit costs no allocation at all.

// maxValueDepth is how deeply maps and slices may nest in a value that
// crosses as JSON. Real attributes nest a few levels.
const maxValueDepth = 64

var (
	errValueTooDeep  = errors.New("value nested too deeply")
	errValueTooLarge = errors.New("value too large")
	// errNotJSON is a NaN or infinity, which encoding/json refuses: then
	// AsString, and so the column, gives empty text for the whole value.
	errNotJSON = errors.New("value not representable in JSON")
)

// measureJSON is the length of the JSON text of v, a map or slice, if it
// is at most room bytes. t, when not nil, is the call's, whose deadline
// stops the work (jsonWriter.tick).
func measureJSON(t *tables, v pcommon.Value, room int) (int, error) {
	e := jsonWriter{measure: true, room: room, t: t}
	err := e.value(v, 0)
	return e.n, err
}

// writeJSON appends the JSON text of v, which measureJSON has measured
// without error.
func writeJSON(t *tables, dst []byte, v pcommon.Value) []byte {
	e := jsonWriter{buf: dst, t: t}
	_ = e.value(v, 0) // cannot fail: measuring did not
	return e.buf
}

// appendJSON appends the JSON text of v to dst, if dst stays within limit
// bytes, growing dst once.
func appendJSON(dst []byte, v pcommon.Value, limit int) ([]byte, error) {
	n, err := measureJSON(nil, v, limit-len(dst))
	if err != nil {
		return dst, err
	}
	return writeJSON(nil, slices.Grow(dst, n), v), nil
}

// jsonWriter renders a value as encoding/json renders what AsRaw makes of
// it. Measuring, it only counts the bytes, n, and fails once they pass
// room; writing, it appends them to buf.
type jsonWriter struct {
	measure bool
	n, room int
	buf     []byte
	// t is the call's tables, whose deadline tick checks every
	// jsonTick units of work (values visited, entries sorted), counted
	// in t.jsonWork across every value of the call: 879 maps of 512 keys
	// each, counted value by value, never reached a check (219 ms under
	// 20 ms).
	t *tables
}

// jsonTick is the work between two deadline checks: about a millisecond
// of sorting. A map of 450,000 keys, sorted in one go, kept a host call
// past any deadline for 230 ms, twice (measured, then written): 462-643
// ms a batch under a 20 ms timeout (attack round 24).
const jsonTick = 4096

// tick counts n units of work, checking the call's deadline every
// jsonTick, when the guest is running: only a host function may be
// stopped.
func (e *jsonWriter) tick(n int) {
	if e.t == nil {
		return
	}
	if e.t.jsonWork += n; e.t.jsonWork < jsonTick {
		return
	}
	e.t.jsonWork = 0
	if e.t.inGuest && e.t.guard != nil {
		e.t.guard.check()
	}
}

// count adds n bytes to the measure and fails once it passes room.
func (e *jsonWriter) count(n int) error {
	if e.n += n; e.n > e.room {
		return errValueTooLarge
	}
	return nil
}

func (e *jsonWriter) put(s string) error {
	if e.measure {
		return e.count(len(s))
	}
	e.buf = append(e.buf, s...)
	return nil
}

// putBytes is put for text formatted into a scratch buffer.
func (e *jsonWriter) putBytes(b []byte) error {
	if e.measure {
		return e.count(len(b))
	}
	e.buf = append(e.buf, b...)
	return nil
}

func (e *jsonWriter) value(v pcommon.Value, depth int) error {
	var scratch [32]byte
	e.tick(1)
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return e.str(v.Str())
	case pcommon.ValueTypeInt:
		return e.putBytes(strconv.AppendInt(scratch[:0], v.Int(), 10))
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return errNotJSON
		}
		return e.putBytes(appendFloat(scratch[:0], f))
	case pcommon.ValueTypeBool:
		return e.put(strconv.FormatBool(v.Bool()))
	case pcommon.ValueTypeBytes:
		// pdata gives the bytes only as a copy, nil when empty, which
		// encoding/json writes as null: measured by their length alone.
		n := v.Bytes().Len()
		if n == 0 {
			return e.put("null")
		}
		if e.measure {
			return e.count(base64.StdEncoding.EncodedLen(n) + 2)
		}
		if e.t != nil {
			e.t.reckonBytes(n)
		}
		b := v.Bytes().AsRaw()
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
		e.buf = append(e.buf, '"')
		return nil
	case pcommon.ValueTypeMap:
		if depth >= maxValueDepth {
			return errValueTooDeep
		}
		return e.object(v.Map(), depth+1)
	case pcommon.ValueTypeSlice:
		if depth >= maxValueDepth {
			return errValueTooDeep
		}
		if err := e.put("["); err != nil {
			return err
		}
		s := v.Slice()
		for i := range s.Len() {
			if i > 0 {
				if err := e.put(","); err != nil {
					return err
				}
			}
			if err := e.value(s.At(i), depth+1); err != nil {
				return err
			}
		}
		return e.put("]")
	default:
		return e.put("null")
	}
}

// jsonEntry is one entry of a map, to sort.
type jsonEntry struct {
	key   string
	value pcommon.Value
}

// object writes a map as encoding/json writes the map[string]any AsRaw
// makes of it: keys sorted, and of repeated keys the last one's value.
func (e *jsonWriter) object(m pcommon.Map, depth int) error {
	// Sorting takes a slice of the map's entries and one as large to
	// merge into, which a map of a million repeated keys makes large
	// while its text stays tiny: they count against the room too.
	if e.measure && m.Len() > (e.room-e.n)/int(2*unsafe.Sizeof(jsonEntry{})) {
		return errValueTooLarge
	}
	entries := make([]jsonEntry, 0, m.Len())
	for k, v := range m.All() {
		entries = append(entries, jsonEntry{k, v})
	}
	entries = e.sortEntries(entries)
	if err := e.put("{"); err != nil {
		return err
	}
	first := true
	for i, en := range entries {
		if i+1 < len(entries) && entries[i+1].key == en.key {
			continue // a later value for the same key wins
		}
		if !first {
			if err := e.put(","); err != nil {
				return err
			}
		}
		first = false
		if err := e.str(en.key); err != nil {
			return err
		}
		if err := e.put(":"); err != nil {
			return err
		}
		if err := e.value(en.value, depth); err != nil {
			return err
		}
	}
	return e.put("}")
}

// appendFloat formats f as encoding/json does: like ES6's number to
// string.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 becomes e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// str writes s quoted as encoding/json does with HTML escaping off:
// control characters, quotes and backslashes escaped, invalid UTF-8 as
// U+FFFD, and U+2028 and U+2029 escaped.
func (e *jsonWriter) str(s string) error {
	// Escaping only lengthens the text: a string longer than the room is
	// refused before it is walked. One that fits is walked with ticks:
	// refine measures every item's value, and 64 records holding one 8
	// MiB string of CJK in a map took 655-680 ms a call under a 5 ms
	// timeout (attack round 26).
	if e.measure && e.n+len(s)+2 > e.room {
		return errValueTooLarge
	}
	if err := e.put(`"`); err != nil {
		return err
	}
	start, next := 0, strStep
	for i := 0; i < len(s); {
		if i >= next {
			e.tick(strTicks)
			next = i + strStep
		}
		b := s[i]
		var esc string
		size := 1
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			esc = asciiEscapes[b]
		} else {
			var c rune
			c, size = utf8.DecodeRuneInString(s[i:])
			switch {
			case c == utf8.RuneError && size == 1:
				esc = `\ufffd`
			case c == '\u2028':
				esc = `\u2028`
			case c == '\u2029':
				esc = `\u2029`
			default:
				i += size
				continue
			}
		}
		if err := e.put(s[start:i]); err != nil {
			return err
		}
		if err := e.put(esc); err != nil {
			return err
		}
		i += size
		start = i
	}
	if err := e.put(s[start:]); err != nil {
		return err
	}
	return e.put(`"`)
}

// strStep is the bytes of a string str walks between two ticks, which
// count strTicks: about 5 us of decoding runes, a fifth of a jsonTick
// unit's 250 ns each.
const strStep, strTicks = 4 << 10, 20

// asciiEscapes is how encoding/json writes the ASCII bytes it escapes
// when HTML escaping is off.
var asciiEscapes = func() (t [utf8.RuneSelf]string) {
	const hex = "0123456789abcdef"
	for b := range 0x20 {
		t[b] = `\u00` + string(hex[b>>4]) + string(hex[b&0xF])
	}
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = `\b`, `\f`, `\n`, `\r`, `\t`
	t['"'], t['\\'] = `\"`, `\\`
	return t
}()

// sortEntries sorts entries by key, stably, so that of equal keys the
// last written stays last, and ticks as it goes: a merge sort from the
// bottom up, runs of 16 sorted by insertion, then merged in passes that
// double them, into a buffer as large. It returns the sorted slice, which
// is entries or the buffer.
func (e *jsonWriter) sortEntries(entries []jsonEntry) []jsonEntry {
	const run = 16
	n := len(entries)
	for lo := 0; lo < n; lo += run {
		hi := min(lo+run, n)
		for i := lo + 1; i < hi; i++ {
			for j := i; j > lo && e.less(entries[j].key, entries[j-1].key); j-- {
				entries[j], entries[j-1] = entries[j-1], entries[j]
			}
		}
		e.tick(hi - lo)
	}
	if n <= run {
		return entries
	}
	src, dst := entries, make([]jsonEntry, n)
	for width := run; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid, hi := min(lo+width, n), min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				// <= keeps the earlier of equal keys first: stable.
				if !e.less(src[j].key, src[i].key) {
					dst[k] = src[i]
					i++
				} else {
					dst[k] = src[j]
					j++
				}
				k++
			}
			k += copy(dst[k:], src[i:mid])
			copy(dst[k:], src[j:hi])
			e.tick(hi - lo)
		}
		src, dst = dst, src
	}
	return src
}

// less is a < b for sortEntries, ticking for long keys: keys that share a
// long prefix cost a comparison by their length, and 48 keys of 512 KiB
// that differ in their last bytes took 29-53 ms to sort between two ticks
// (attack round 26). A tick unit, 250 ns, compares about 4 KiB.
func (e *jsonWriter) less(a, b string) bool {
	if n := min(len(a), len(b)); n >= 4<<10 {
		e.tick(n >> 12)
	}
	return a < b
}
