// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// What a guest makes the host hold, outside its own memory, stays within
// host_memory_limit: a replacement batch that decodes into far more than
// its size, and the columns kernels build.

func buildWAT(tb testing.TB, name, src string) []byte {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name+".wat")
	require.NoError(tb, os.WriteFile(path, []byte(src), 0o644))
	return wasmtest.Read(tb, wasmtest.BuildWAT(tb, path))
}

// watData renders b as a WAT data string.
func watData(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "\\%02x", c)
	}
	return sb.String()
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// otlpSetGuest replaces the batch with the payload at 0 of size n (its
// first len(data) bytes from data, the rest written by fill, if any) and
// fails with "refused", kept in the last bytes of memory, when otlp_set
// refuses it.
func otlpSetGuest(signal int, data []byte, fill string, pages, n int) string {
	return fmt.Sprintf(`(module
  (import "wasmcol" "otlp_set" (func $set (param i32 i32) (result i32)))
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (memory (export "memory") %d)
  (data (i32.const 0) "%s")
  (data (i32.const %d) "refused")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const %d))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    %s
    (if (i32.ne (call $set (i32.const 0) (i32.const %d)) (i32.const 0))
      (then (drop (call $fail (i32.const %d) (i32.const 7))) (return (i32.const 1))))
    (i32.const 0)))`, pages, watData(data), pages<<16-8, signal, fill, n, pages<<16-8)
}

// TestOTLPSetPackedVarintsRefused: a payload within the otlp_set cap (a
// quarter of the budget) that is one packed varint array of zeros would
// decode into eight bytes a byte: 16 MiB into 128 MiB of bucket counts.
// It is refused, and the batch passes unchanged.
func TestOTLPSetPackedVarintsRefused(t *testing.T) {
	const budgetMiB = 64
	payload := budgetMiB << 20 / 4
	header := func(n int) []byte { // an exponential histogram point's positive bucket_counts, n bytes
		var hdr []byte
		size := n
		// Buckets.bucket_counts, DataPoint.positive, ExpHistogram.data_points, Metric.exponential_histogram,
		// ScopeMetrics.metrics, ResourceMetrics.scope_metrics, Request.resource_metrics
		for _, f := range []byte{2, 8, 1, 10, 2, 2, 1} {
			h := binary.AppendUvarint([]byte{f<<3 | 2}, uint64(size))
			hdr = append(h, hdr...)
			size += len(h)
		}
		return hdr
	}
	n := payload - len(header(payload)) - 16
	hdr := header(n)
	total := len(hdr) + n
	require.LessOrEqual(t, total, payload, "within the otlp_set cap")
	bin := buildWAT(t, "packed", otlpSetGuest(2, hdr, "", 272, total))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "packed", Module: bin, PoolSize: 1, HostMemoryMiB: budgetMiB})
	require.NoError(t, err)
	defer p.Close(context.Background())

	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	before := liveHeap()
	out, err := p.ProcessMetrics(context.Background(), md)
	require.ErrorContains(t, err, "refused")
	require.Less(t, int64(liveHeap())-int64(before), int64(8<<20), "nothing decoded")
	runtime.KeepAlive(out)
}

// TestOTLPSetDecodedWithinBudget: the most empty spans a payload may hold
// are accepted, and decode into no more than the budget.
func TestOTLPSetDecodedWithinBudget(t *testing.T) {
	const budgetMiB = 64
	for _, tc := range []struct {
		spans    int
		accepted bool
	}{
		{spans: budgetMiB<<20/256 - 8, accepted: true},
		{spans: budgetMiB<<20/256 + 8, accepted: false},
	} {
		spans := strings.Repeat("\x12\x00", tc.spans) // ScopeSpans.spans, empty
		ss := append(binary.AppendUvarint([]byte{0x12}, uint64(len(spans))), spans...)
		rs := append(binary.AppendUvarint([]byte{0x0a}, uint64(len(ss))), ss...)
		hdr := rs[:len(rs)-len(spans)]
		fill := fmt.Sprintf(`(local $i i32)
    (local.set $i (i32.const %d))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const %d)))
      (i32.store16 (local.get $i) (i32.const 0x0012))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $l)))`, len(hdr), len(rs))
		bin := buildWAT(t, "spans", otlpSetGuest(1, hdr, fill, 32, len(rs)))
		p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "spans", Module: bin, PoolSize: 1,
			HostMemoryMiB: budgetMiB, Timeout: 5 * time.Second})
		require.NoError(t, err)
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
		before := liveHeap()
		out, err := p.ProcessTraces(context.Background(), td)
		grown := int64(liveHeap()) - int64(before)
		if !tc.accepted {
			require.ErrorContains(t, err, "refused", "%d spans", tc.spans)
		} else {
			require.NoError(t, err)
			require.Equal(t, tc.spans, out.SpanCount())
			require.Less(t, grown, int64(budgetMiB<<20), "%d spans decoded into %d MiB", tc.spans, grown>>20)
		}
		runtime.KeepAlive(out)
		require.NoError(t, p.Close(context.Background()))
	}
}

// TestKernelColumnsWithinBudget: select on a field it has no fast path
// for builds a column. With a 1 MiB budget, a column of 200,000 events is
// refused to column, and to select as well: sixteen selects on sixteen
// keys must not build sixteen of them, nor keep one after the call.
func TestKernelColumnsWithinBudget(t *testing.T) {
	src := `(module
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "select" (func $select (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "counter_add" (func $count (param i32 i32 i64) (result i32)))
  (memory (export "memory") 8)
  (data (i32.const 0) "k?")
  (data (i32.const 16) "column_rc")
  (data (i32.const 32) "select_rc")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $j i32)
    ;; column(Event, Attr, "k?")
    (drop (call $count (i32.const 16) (i32.const 9)
      (i64.extend_i32_s (call $column (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 2)))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $j) (i32.const 16)))
      (i32.store8 (i32.const 1) (i32.add (i32.const 65) (local.get $j)))
      ;; select(Event, Attr, "kA".."kP", Present, an empty list) into 4096
      (drop (call $count (i32.const 32) (i32.const 9) (i64.extend_i32_s
        (call $select (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 2)
          (i32.const 3) (i32.const 64) (i32.const 4) (i32.const 4096) (i32.const 65536)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l)))
    (i32.const 0)))`
	bin := buildWAT(t, "kcols", src)
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "kcols", Module: bin, PoolSize: 1,
		HostMemoryMiB: 1, Timeout: 5 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	evs := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events()
	for range 200_000 {
		evs.AppendEmpty().SetName("e")
	}
	before := liveHeap()
	_, err = p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	got := map[string]int64{}
	for _, c := range p.Counters() {
		got[c.Name] = c.Value
	}
	require.Equal(t, map[string]int64{"column_rc": -5, "select_rc": 16 * -5}, got, "both refused as too large (ErrTooLarge)")
	require.LessOrEqual(t, p.HostMemoryInUse(), int64(1<<20))
	require.Less(t, int64(liveHeap())-int64(before), int64(2<<20), "the instance keeps no column, nor an index of 200,000 events")
	runtime.KeepAlive(td)
}
