// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// stagingHost records the edits a batch sends, expanding edit_where's
// into the copies a host stages, so that the order can be checked.
type stagingHost struct {
	hostcall.Host
	staged      []byte
	kernelCalls int
}

func (h *stagingHost) Len(int32) int32 { return 200 }

func (h *stagingHost) Edit(ops []byte) int32 {
	h.staged = append(h.staged, ops...)
	return 0
}

func (h *stagingHost) EditWhere(op, sel []byte) int32 {
	h.kernelCalls++
	k := int32(0)
	for i := range 8 * len(sel) {
		if sel[i/8]&(1<<(i%8)) != 0 {
			at := len(h.staged)
			h.staged = append(h.staged, op...)
			binary.LittleEndian.PutUint32(h.staged[at+2:], uint32(i))
			k++
		}
	}
	return k
}

// TestSmallSelectionsStageInTheGuest: an edit on a selection of one or two
// items is staged as its copies in the guest, without a host call, and
// every edit still reaches the host in the order the filter made it.
func TestSmallSelectionsStageInTheGuest(t *testing.T) {
	h := &stagingHost{}
	b := &batch{}
	b.reset(h, abi.SignalTraces)
	sel := func(items ...int) Selection {
		s := b.selection(abi.TableSpan)
		for _, i := range items {
			s.Add(i)
		}
		return s
	}
	set := func(i uint32, k, v string) []byte {
		return appendSetStr(nil, abi.TableSpan, i, k, v)
	}
	var want []byte
	sel(7).SetAttr("a", Str("1"))
	want = append(want, set(7, "a", "1")...)
	Span{item{b, abi.TableSpan, 9}}.SetAttr("b", Str("2"))
	want = append(want, set(9, "b", "2")...)
	sel(3, 150, 199).SetAttr("c", Str("3")) // three: the host stages them
	want = append(append(append(want, set(3, "c", "3")...), set(150, "c", "3")...), set(199, "c", "3")...)
	sel(4, 5).DeleteAttr("d")
	for _, i := range []uint32{4, 5} {
		want = abi.AppendStr(abi.AppendEditHeader(want, abi.OpDeleteAttr, abi.TableSpan, i), "d")
	}
	sel().SetAttr("e", Str("nothing"))
	if err := b.finish(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.staged, want) {
		t.Errorf("staged:\n%x\nwant:\n%x", h.staged, want)
	}
	if h.kernelCalls != 1 {
		t.Errorf("%d edit_where calls, want 1 (the selection of three)", h.kernelCalls)
	}
}

// TestAddIgnoresIndexesOutOfRange: Add takes only the table's items.
func TestAddIgnoresIndexesOutOfRange(t *testing.T) {
	b := &batch{}
	b.reset(&stagingHost{}, abi.SignalTraces) // 200 spans
	s := b.selection(abi.TableSpan)
	for _, i := range []int{-1, -64, 200, 255, 1 << 20} {
		s.Add(i)
	}
	if s.Len() != 0 {
		t.Fatalf("%d items after adding only indexes out of range", s.Len())
	}
	s.Add(0)
	s.Add(199)
	if s.Len() != 2 || !s.Has(0) || !s.Has(199) {
		t.Fatalf("items 0 and 199: Len %d", s.Len())
	}
	var zero Selection
	zero.Add(3) // no batch: ignored, no panic
}

// TestLongEditsStageInTheGuest: an edit longer than edit_where takes is
// staged as its copies whatever the selection, as an item's edit would be.
func TestLongEditsStageInTheGuest(t *testing.T) {
	h := &stagingHost{}
	b := &batch{}
	b.reset(h, abi.SignalTraces)
	s := b.selection(abi.TableSpan)
	for _, i := range []int{1, 2, 3} {
		s.Add(i)
	}
	long := string(make([]byte, abi.MaxKernelList))
	s.SetAttr("k", Str(long))
	if err := b.finish(); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, i := range []uint32{1, 2, 3} {
		want = appendSetStr(want, abi.TableSpan, i, "k", long)
	}
	if h.kernelCalls != 0 || !bytes.Equal(h.staged, want) {
		t.Errorf("%d edit_where calls, %d bytes staged, want none and %d", h.kernelCalls, len(h.staged), len(want))
	}
}

// byteCountingHost counts the bytes a batch hands the host to stage:
// edit lists, and edit_where's operation and bitmap.
type byteCountingHost struct {
	hostcall.Host
	n, bytes int
}

func (h *byteCountingHost) Len(int32) int32       { return int32(h.n) }
func (h *byteCountingHost) Edit(ops []byte) int32 { h.bytes += len(ops); return 0 }
func (h *byteCountingHost) EditWhere(op, sel []byte) int32 {
	h.bytes += len(op) + len(sel)
	return 0
}

// TestManyGroupsStageLinearBytes: editing many small groups of a large
// batch, as a loop over ByName does on a batch of mostly distinct names,
// stages bytes in proportion to the items edited, not a bitmap of the
// whole table per group (here 5,000 bytes each, 66 MB for 13,333 groups
// of three, past the staged edits' limit).
func TestManyGroupsStageLinearBytes(t *testing.T) {
	h := &byteCountingHost{n: 40000}
	b := &batch{}
	b.reset(h, abi.SignalTraces)
	g := b.selection(abi.TableSpan)
	for lo := 0; lo+3 <= h.n; lo += 3 {
		clear(g.words)
		g.Add(lo)
		g.Add(lo + 1)
		g.Add(lo + 2)
		g.SetAttr("kn.broker.name", Str("a-broker-name"))
	}
	if err := b.finish(); err != nil {
		t.Fatal(err)
	}
	op := len(appendSetStr(nil, abi.TableSpan, 0, "kn.broker.name", "a-broker-name"))
	if max := 2 * op * h.n; h.bytes > max {
		t.Errorf("staged %d bytes for %d items, more than %d", h.bytes, h.n, max)
	}
}
