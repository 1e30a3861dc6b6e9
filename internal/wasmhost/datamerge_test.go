// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// applyData is what instantiation does with a data section body of
// active segments at constant offsets: copies each into memory, in order.
func applyData(t *testing.T, body []byte) (mem []byte, segments uint32) {
	t.Helper()
	r := reader{b: body}
	n := r.u32()
	for range n {
		require.Equal(t, byte(0), r.byte(), "flags")
		start := r.off
		require.Equal(t, byte(opI32Const), r.byte())
		r.leb(5)
		require.Equal(t, byte(opEnd), r.byte())
		off, ok := constI32(r.b[start:r.off])
		require.True(t, ok)
		init := r.bytes(int(r.u32()))
		require.NoError(t, r.err)
		if end := int(off) + len(init); end > len(mem) {
			mem = append(mem, make([]byte, end-len(mem))...)
		}
		copy(mem[off:], init)
	}
	require.True(t, r.done())
	return bytes.TrimRight(mem, "\x00"), n
}

// dataBody encodes active segments at the given offsets.
func dataBody(segs []dataSegmentForTest) []byte {
	body := appendU32(nil, uint32(len(segs)))
	for _, s := range segs {
		body = appendI32Const(append(body, 0), int32(s.off))
		body = append(appendU32(append(body, opEnd), uint32(len(s.init))), s.init...)
	}
	return body
}

type dataSegmentForTest struct {
	off  uint32
	init []byte
}

// TestMergeDataKeepsMemory: joining segments must leave memory exactly as
// the segments as written would: random segment lists in several
// ascending runs, with gaps, overlaps and segments that rewrite what an
// earlier one wrote.
func TestMergeDataKeepsMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	merged := 0
	for range 2000 {
		var segs []dataSegmentForTest
		for range 1 + rng.IntN(4) { // runs
			off := uint32(rng.IntN(4096))
			for range rng.IntN(40) {
				init := make([]byte, rng.IntN(40))
				for i := range init {
					init[i] = byte(1 + rng.IntN(255))
				}
				segs = append(segs, dataSegmentForTest{off, init})
				off += uint32(len(init)) + uint32(rng.IntN(300))
			}
		}
		body := dataBody(segs)
		want, n := applyData(t, body)
		r := reader{b: body}
		r.u32()
		out, ok := mergeData(body[r.off:], n)
		if !ok {
			continue
		}
		merged++
		got, m := applyData(t, out)
		require.Equal(t, want, got, "segments %v", segs)
		require.LessOrEqual(t, m, n)
	}
	require.Greater(t, merged, 1000)
}

// TestMergeDataOnTheBundle: the built-in bundle's 43,410 segments become a
// handful, holding the same memory image.
func TestMergeDataOnTheBundle(t *testing.T) {
	bin := builtinBundle(t)
	out, err := instrument(bin, testLimits)
	require.NoError(t, err)
	before, after := dataSection(t, bin), dataSection(t, out)
	want, n := applyData(t, before)
	got, m := applyData(t, after)
	require.Equal(t, want, got)
	t.Logf("%d segments, %d bytes -> %d segments, %d bytes", n, len(before), m, len(after))
	require.Less(t, m, uint32(100))
}

// TestMergeDataGivesUp: segments it may not join are kept as they are.
func TestMergeDataGivesUp(t *testing.T) {
	runs := make([]dataSegmentForTest, 0, maxDataRuns+1)
	for i := range maxDataRuns + 1 { // each below the one before: a run each
		runs = append(runs, dataSegmentForTest{uint32(1000 - 10*i), []byte{1}})
	}
	_, ok := mergeData(dataBody(runs)[1:], uint32(len(runs)))
	require.False(t, ok, "too many runs")

	passive := append(appendU32(nil, 1), 1, 1, 7) // one passive segment of one byte
	_, ok = mergeData(passive[1:], 1)
	require.False(t, ok, "a passive segment")
}

// dataSection is the body of a module's data section.
func dataSection(t *testing.T, bin []byte) []byte {
	t.Helper()
	r := reader{b: bin, off: 8}
	for !r.done() {
		id, body := r.byte(), r.bytes(int(r.u32()))
		if id == secData {
			return body
		}
	}
	t.Fatal("no data section")
	return nil
}

// builtinBundle is the built-in filters' module as the binary embeds it,
// decompressed.
func builtinBundle(t *testing.T) []byte {
	t.Helper()
	gz, err := os.ReadFile(filepath.Join(builtinDir, "builtins.wasm.gz"))
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	bin, err := io.ReadAll(zr)
	require.NoError(t, err)
	return bin
}
