// SPDX-License-Identifier: Apache-2.0

package abi

import (
	"math"
	"testing"
)

func TestColumnRoundTrip(t *testing.T) {
	w := NewColumnWriter([]byte("prefix"), 7)
	w.Str("ünïcødé")
	w.Empty()
	w.Int(-42)
	w.Double(math.Pi)
	w.Bool(true)
	w.List(2)
	w.Key("a")
	w.Str("")
	w.Key("b")
	w.BytesValue([]byte{0, 255})
	w.List(0)
	c := Column(w.Bytes()[len("prefix"):])

	check := func(i int, wantTag uint8) uint64 {
		t.Helper()
		tag, bits := c.Entry(i)
		if tag != wantTag {
			t.Fatalf("item %d: tag %d, want %d", i, tag, wantTag)
		}
		return bits
	}
	if got := string(c.Data(check(0, TagStr))); got != "ünïcødé" {
		t.Errorf("item 0: %q", got)
	}
	check(1, TagEmpty)
	if got := int64(check(2, TagInt)); got != -42 {
		t.Errorf("item 2: %d", got)
	}
	if got := math.Float64frombits(check(3, TagDouble)); got != math.Pi {
		t.Errorf("item 3: %v", got)
	}
	if got := check(4, TagBool); got != 1 {
		t.Errorf("item 4: %d", got)
	}
	list := check(5, TagList)
	if ListLen(list) != 2 {
		t.Fatalf("list length %d", ListLen(list))
	}
	k, tag, bits := c.ListEntry(list, 0)
	if string(k) != "a" || tag != TagStr || len(c.Data(bits)) != 0 {
		t.Errorf("list entry 0: %q %d %q", k, tag, c.Data(bits))
	}
	k, tag, bits = c.ListEntry(list, 1)
	if string(k) != "b" || tag != TagBytes || string(c.Data(bits)) != "\x00\xff" {
		t.Errorf("list entry 1: %q %d %q", k, tag, c.Data(bits))
	}
	if ListLen(check(6, TagList)) != 0 {
		t.Error("empty list")
	}
}

func TestDecoderRejectsTruncation(t *testing.T) {
	full := AppendStrValue(AppendEditHeader(nil, OpSetAttr, TableSpan, 3), "value")
	for n := 0; n < len(full); n++ {
		d := NewDecoder(full[:n])
		d.U8()
		d.U8()
		d.U32()
		d.Value()
		if n < len(full) && d.Err() == nil {
			t.Fatalf("a list cut to %d of %d bytes decoded without error", n, len(full))
		}
	}
	d := NewDecoder(full)
	op, table, idx := d.U8(), d.U8(), d.U32()
	v := d.Value()
	if d.Err() != nil || !d.Done() || op != OpSetAttr || table != TableSpan || idx != 3 || string(v.Raw) != "value" {
		t.Fatalf("decode: %v %d %d %d %q", d.Err(), op, table, idx, v.Raw)
	}
}

func TestDecoderRejectsBadTagsAndBools(t *testing.T) {
	for _, b := range [][]byte{{99}, {TagBool, 2}, {TagStr, 0xFF, 0xFF, 0xFF, 0xFF}} {
		d := NewDecoder(b)
		d.Value()
		if d.Err() == nil {
			t.Errorf("%x decoded without error", b)
		}
	}
}

// TestColumnWriterEntry: a value written by Entry reads back as the
// tag, bits and data it was written with.
func TestColumnWriterEntry(t *testing.T) {
	type entry struct {
		tag  uint8
		bits uint64
		data string
	}
	in := []entry{{TagStr, 0, "a"}, {TagBytes, 0, "\x00b"}, {TagOther, 0, `{"k":1}`}, {TagInt, 1<<63 | 5, ""},
		{TagDouble, 0x7ff8000000000001, ""}, {TagBool, 1, ""}, {TagEmpty, 0, ""}, {TagStr, 0, ""}}
	w := NewColumnWriter(nil, len(in))
	for _, e := range in {
		w.Entry(e.tag, e.bits, e.data)
	}
	c := Column(w.Bytes())
	for i, want := range in {
		tag, bits := c.Entry(i)
		got := entry{tag: tag}
		if tag == TagStr || tag == TagBytes || tag == TagOther {
			got.data = string(c.Data(bits))
		} else {
			got.bits = bits
		}
		if got != want {
			t.Errorf("entry %d: %+v, want %+v", i, got, want)
		}
	}
}
