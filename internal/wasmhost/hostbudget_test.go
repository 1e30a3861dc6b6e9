// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
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
// bucketsHeader is a metrics request up to an exponential histogram
// point's positive bucket_counts of n bytes, which follow it.
func bucketsHeader(n int) []byte {
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

func TestOTLPSetPackedVarintsRefused(t *testing.T) {
	const budgetMiB = 64
	payload := budgetMiB << 20 / 4
	header := bucketsHeader
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
		{spans: budgetMiB<<20/288 - 8, accepted: true},
		{spans: budgetMiB<<20/288 + 8, accepted: false},
	} {
		p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "spans", Module: emptySpansGuest(t, tc.spans), PoolSize: 1,
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

// emptySpansGuest replaces the batch with n empty spans in one scope.
func emptySpansGuest(t *testing.T, n int) []byte {
	spans := strings.Repeat("\x12\x00", n) // ScopeSpans.spans, empty
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
	return buildWAT(t, "spans", otlpSetGuest(1, hdr, fill, 32, len(rs)))
}

// timedSpan runs a batch of one span named name through p, and says how
// long it took.
func timedSpan(p *wasmhost.Plugin, name string) (ptrace.Traces, time.Duration, error) {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName(name)
	began := time.Now()
	out, err := p.ProcessTraces(context.Background(), td)
	return out, time.Since(began), err
}

// TestOTLPSetDecodedWithinTimeout: pdata decodes a replacement after the
// call, where nothing can stop it. Under a 5 ms timeout, 40,000 empty
// spans were decoded in 15-27 ms and the batch succeeded (attack round
// 21); a replacement whose decoding the time left cannot hold now times
// out, and the batch passes unchanged. One that fits is still decoded.
func TestOTLPSetDecodedWithinTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	for _, tc := range []struct {
		spans    int
		accepted bool
	}{{spans: 200_000}, {spans: 100, accepted: true}} {
		p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "spans", Module: emptySpansGuest(t, tc.spans), PoolSize: 1,
			Timeout: timeout})
		require.NoError(t, err)
		for range 3 {
			out, took, err := timedSpan(p, "s")
			if tc.accepted {
				require.NoError(t, err)
				require.Equal(t, tc.spans, out.SpanCount())
				continue
			}
			var fault *wasmhost.Fault
			require.True(t, errors.As(err, &fault), "%d spans decoded in %v, past a %v timeout", tc.spans, took, timeout)
			require.Equal(t, wasmhost.FaultTimeout, fault.Kind, "%v", err)
			require.Equal(t, "s", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name(), "the batch passes unchanged")
			require.Less(t, took, 4*timeout)
		}
		require.NoError(t, p.Close(context.Background()))
	}
}

// TestOTLPSetGroupsWithinTimeout: groups are skipped by the decoder and
// charged nothing, yet 16 MiB of them took 40-110 ms to decode, and the
// walk read them in one loop that never checked the deadline (128 MiB:
// 760-910 ms a batch). Their bytes now count for time, and the walk
// checks the deadline as it goes: a batch of them ends with its timeout.
func TestOTLPSetGroupsWithinTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	const groups = 16<<20 - 64 // with the field after them, within the otlp_set cap of a 64 MiB budget
	// One group, then copies of what is written so far, doubling: the
	// guest's own part takes a few milliseconds.
	fill := fmt.Sprintf(`(local $i i32)
    (i32.store16 (i32.const 0) (i32.const 0x1413))
    (local.set $i (i32.const 2))
    (block $done (loop $l
      (br_if $done (i32.gt_u (i32.mul (local.get $i) (i32.const 2)) (i32.const %[1]d)))
      (memory.copy (local.get $i) (i32.const 0) (local.get $i))
      (local.set $i (i32.mul (local.get $i) (i32.const 2)))
      (br $l)))
    (memory.copy (local.get $i) (i32.const 0) (i32.sub (i32.const %[1]d) (local.get $i)))
    (i32.store16 (i32.const %[1]d) (i32.const 0x0110))`, groups)
	bin := buildWAT(t, "groups", otlpSetGuest(1, nil, fill, 272, groups+2))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "groups", Module: bin, PoolSize: 1,
		HostMemoryMiB: 64, Timeout: timeout})
	require.NoError(t, err)
	defer p.Close(context.Background())
	for range 3 {
		out, took, err := timedSpan(p, "s")
		t.Logf("%v: %v", took, err)
		var fault *wasmhost.Fault
		require.True(t, errors.As(err, &fault), "16 MiB of groups decoded in %v, past a %v timeout", took, timeout)
		require.Equal(t, wasmhost.FaultTimeout, fault.Kind, "%v", err)
		require.Equal(t, "s", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name(), "the batch passes unchanged")
		require.Less(t, took, 3*timeout)
	}
}

// TestKernelColumnsWithinBudget: select builds a column when its fast
// path cannot answer, as for an attribute some item holds as a map, which
// only the column renders. With a 1 MiB budget, a column of 600,000
// events is refused to column, and to select as well: sixteen selects on
// sixteen keys must not build sixteen of them, nor keep one after the
// call. 600,000 events make every slice of the index larger than an
// instance keeps between calls (keeper), so that what the call
// leaves on the heap is what it should not.
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
          (i32.const 3) (i32.const 64) (i32.const 4) (i32.const 4096) (i32.const 75000)))))
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
	for range 600_000 {
		evs.AppendEmpty().SetName("e")
	}
	for c := 'A'; c <= 'P'; c++ { // the first event's kA..kP: maps
		evs.At(0).Attributes().PutEmptyMap("k" + string(c))
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
	require.Less(t, int64(liveHeap())-int64(before), int64(2<<20), "the instance keeps no column, nor an index of 600,000 events")
	runtime.KeepAlive(td)
}

// replayGuest stages its config, as it is, as its edit list.
const replayGuest = `(module
  (import "wasmcol" "config" (func $config (result i32)))
  (import "wasmcol" "read" (func $read (param i32 i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 400)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 7))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param $s i32) (result i32)
    (local $n i32)
    (local.set $n (call $config))
    (drop (call $read (i32.const 0) (local.get $n)))
    (if (i32.lt_s (call $edit (i32.const 0) (local.get $n)) (i32.const 0)) (then (return (i32.const 1))))
    (i32.const 0)))`

func replaying(t *testing.T, edits []byte) *wasmhost.Plugin {
	return replayingWithin(t, edits, 10*time.Second)
}

func replayingWithin(t *testing.T, edits []byte, timeout time.Duration) *wasmhost.Plugin {
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "replay", Module: buildWAT(t, "replay", replayGuest),
		Config: edits, PoolSize: 1, Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// TestApplyFitsTheTimeLeft: applying an edit list is not interrupted, so
// validation refuses a list whose cost the call's time left cannot hold.
// This one sets 1,000 keys of 15 bytes on one span, then renames the last
// back and forth until its exact cost is just under MaxApplyWork: it took
// 100-180 ms to apply, and with a 10 ms timeout passed it tenfold
// unnoticed (an attack round). With a 20 ms timeout it is refused as a
// timeout and the span stays as it came; with 10 s it applies.
func TestApplyFitsTheTimeLeft(t *testing.T) {
	const keys = 1000
	key := func(j int) []byte { return fmt.Appendf(nil, "k%014d", j) }
	var storm []byte
	for j := range keys {
		storm = abi.AppendEditHeader(storm, abi.OpSetAttr, abi.TableSpan, 0)
		storm = abi.AppendStrValue(abi.AppendBytes(storm, key(j)), "v")
	}
	// Each rename scans the span's attributes six times.
	for j := range (wasmhost.MaxApplyWork - 3*keys*(keys+1)/2) / (6 * (keys + 1)) {
		from, to := key(keys-1), key(keys+1)
		if j%2 == 1 {
			from, to = to, from
		}
		storm = abi.AppendEditHeader(storm, abi.OpRenameAttr, abi.TableSpan, 0)
		storm = abi.AppendBytes(abi.AppendBytes(storm, from), to)
	}
	for _, tc := range []struct {
		timeout time.Duration
		applies bool
	}{{20 * time.Millisecond, false}, {10 * time.Second, true}} {
		p := replayingWithin(t, storm, tc.timeout)
		td := emptySpans(1)
		out, err := p.ProcessTraces(context.Background(), td)
		if tc.applies {
			require.NoError(t, err)
			require.Equal(t, keys, out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Len())
			continue
		}
		requireTimedOut(t, err, tc.timeout)
		require.Zero(t, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Len(), "the span was edited")
	}
}

// TestApplyFitsTheTimeLeftWithoutComparisons: what applying costs besides
// comparing keys counts against the time left too. 2.5 million drops
// (15 MB of edits) compare no key; applying them took 25-30 ms. With a 50
// ms timeout, after the guest has read and staged them, they are refused
// as a timeout and every span stays; with 10 s they apply.
func TestApplyFitsTheTimeLeftWithoutComparisons(t *testing.T) {
	const spans = 1000
	var drops []byte
	for i := range 2_500_000 {
		drops = abi.AppendEditHeader(drops, abi.OpDrop, abi.TableSpan, uint32(i%spans))
	}
	for _, tc := range []struct {
		timeout time.Duration
		applies bool
	}{{50 * time.Millisecond, false}, {10 * time.Second, true}} {
		p := replayingWithin(t, drops, tc.timeout)
		td := emptySpans(spans)
		out, err := p.ProcessTraces(context.Background(), td)
		if tc.applies {
			require.NoError(t, err)
			require.Zero(t, out.SpanCount())
			continue
		}
		requireTimedOut(t, err, tc.timeout)
		require.Equal(t, spans, td.SpanCount(), "spans were dropped")
	}
}

// requireTimedOut: err is the timeout of a call whose edits could not be
// applied in the time left, or of a call that ran out of time before
// (on a slow machine the guest's own part may take the whole timeout).
func requireTimedOut(t *testing.T, err error, timeout time.Duration) {
	t.Helper()
	var fault *wasmhost.Fault
	require.ErrorAs(t, err, &fault, "timeout %s: the list was applied", timeout)
	require.Equal(t, wasmhost.FaultTimeout, fault.Kind, "%v", fault)
}

func emptySpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range n {
		ss.AppendEmpty().SetName("s")
	}
	return td
}

// TestEditReservationBounded: edits that add nothing (renames of absent
// keys, 16 MiB of them) must not leave the batch much larger: room
// reserved for new keys is batch memory no budget counts. It grew by 96
// MiB before reservations were bounded.
func TestEditReservationBounded(t *testing.T) {
	const spans = 37_000
	var ops []byte
	for i := range spans {
		for range 32 {
			ops = abi.AppendEditHeader(ops, abi.OpRenameAttr, abi.TableSpan, uint32(i))
			ops = abi.AppendBytes(abi.AppendBytes(ops, nil), nil)
		}
	}
	p := replaying(t, ops)
	td := emptySpans(spans)
	before := liveHeap()
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	grown := int64(liveHeap()) - int64(before)
	require.Zero(t, out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Len())
	require.Less(t, grown, int64(16<<20), "the batch grew by %d MiB", grown>>20)
	runtime.KeepAlive(out)
}

// TestExactWorkBounded: a list whose quick cost estimate is too high is
// recounted exactly, with maps by item and key; a list of 1.5 million
// distinct (item, key) pairs made the recount allocate 165 MiB (270 MiB
// for the call, 105 MiB without the recount). The recount now keeps a
// hash for each pair, a million at most: past that the list is refused.
func TestExactWorkBounded(t *testing.T) {
	const spans = 100_000
	var ops []byte
	for range 8200 { // one key set 8,200 times on span 0: past the quick estimate
		ops = abi.AppendEditHeader(ops, abi.OpSetAttr, abi.TableSpan, 0)
		ops = abi.AppendIntValue(abi.AppendBytes(ops, []byte("k")), 1)
	}
	for i := 1; i < spans; i++ {
		for j := range 15 {
			ops = abi.AppendEditHeader(ops, abi.OpDeleteAttr, abi.TableSpan, uint32(i))
			ops = abi.AppendBytes(ops, []byte{byte('a' + j)})
		}
	}
	p := replaying(t, ops)
	td := emptySpans(spans)
	liveHeap()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	_, err := p.ProcessTraces(context.Background(), td)
	runtime.ReadMemStats(&b)
	require.ErrorContains(t, err, "attribute comparisons")
	require.Less(t, b.TotalAlloc-a.TotalAlloc, uint64(150<<20), "allocated during the call")
}

// TestOTLPSetHiddenDepthRefused: a log body nested a thousand deep behind a
// group, which pdata ends at its first field and so decodes the body after
// it, is refused by otlp_set; the batch passes unchanged.
func TestOTLPSetHiddenDepthRefused(t *testing.T) {
	lenField := func(field int, body []byte) []byte {
		b := binary.AppendUvarint([]byte{byte(field<<3 | 2)}, uint64(len(body)))
		return append(b, body...)
	}
	body := []byte{}
	for range 1000 {
		body = lenField(5, lenField(1, body)) // AnyValue.array_value { values { ... } }
	}
	record := append([]byte{15<<3 | 3, 15 << 3, 0}, lenField(5, body)...) // a group, a varint, LogRecord.body
	record = append(record, 15<<3|4)
	payload := lenField(1, lenField(2, lenField(2, record)))
	bin := buildWAT(t, "hidden", otlpSetGuest(4, payload, "", 1, len(payload)))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "hidden", Module: bin, PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("kept")
	out, err := p.ProcessLogs(context.Background(), ld)
	require.ErrorContains(t, err, "refused")
	require.Equal(t, "kept", out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())
}

// TestColumnOfDeepOrHugeValues: a log body nested a million deep, as a
// client may send one, and an array holding 8 MiB of control characters,
// whose JSON text is six times that, are refused to column (ErrTooLarge)
// without building the text: the first would overflow the host's stack,
// the second allocate several times the budget. A body of ordinary size
// still crosses.
func TestColumnOfDeepOrHugeValues(t *testing.T) {
	src := logColumnGuest(abi.FieldValue)
	const budgetMiB = 64
	bin := buildWAT(t, "bodycol", src)
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "bodycol", Module: bin, PoolSize: 1,
		HostMemoryMiB: budgetMiB, Timeout: 10 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	rc := func(body func(pcommon.Value)) (int64, uint64) {
		ld := plog.NewLogs()
		body(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body())
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		before0 := p.Counters()
		_, err := p.ProcessLogs(context.Background(), ld)
		require.NoError(t, err)
		runtime.ReadMemStats(&after)
		var sum int64
		for _, c := range p.Counters() {
			sum += c.Value
		}
		for _, c := range before0 {
			sum -= c.Value
		}
		return sum, after.TotalAlloc - before.TotalAlloc
	}
	got, _ := rc(func(v pcommon.Value) {
		for range 1_000_000 {
			v = v.SetEmptySlice().AppendEmpty()
		}
	})
	require.Equal(t, int64(abi.ErrTooLarge), got, "nested a million deep")
	got, allocated := rc(func(v pcommon.Value) {
		v.SetEmptySlice().AppendEmpty().SetStr(strings.Repeat("\x01", 8<<20))
	})
	require.Equal(t, int64(abi.ErrTooLarge), got, "48 MiB of text")
	require.Less(t, allocated, uint64(budgetMiB<<20), "the text was not built")
	got, _ = rc(func(v pcommon.Value) { v.SetEmptyMap().PutStr("k", "v") })
	require.Equal(t, int64(len(`{"k":"v"}`)+abi.EntrySize), got, "an ordinary body crosses")
}

// TestOTLPSetDecodeHoldsTheBudget: decoding a replacement batch holds what
// the walk reckoned it may cost of host_memory_limit, so that the pool's
// instances cannot all decode the budget's worth at once; with too little
// of it free, the batch passes unchanged.
func TestOTLPSetDecodeHoldsTheBudget(t *testing.T) {
	const budgetMiB = 64
	const counts = 400_000 // zero bytes: as many bucket counts, reckoned 56 bytes each
	hdr := bucketsHeader(counts)
	bin := buildWAT(t, "buckets", otlpSetGuest(2, hdr, "", 8, len(hdr)+counts))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "buckets", Module: bin, PoolSize: 1, HostMemoryMiB: budgetMiB})
	require.NoError(t, err)
	defer p.Close(context.Background())
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetName("kept")

	release := p.HoldHostMemory(48 << 20)
	out, err := p.ProcessMetrics(context.Background(), md)
	require.ErrorContains(t, err, "more than host_memory_limit has free now")
	require.Equal(t, "kept", out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name())
	release()

	held := p.HostMemoryInUse()
	out, err = p.ProcessMetrics(context.Background(), md)
	require.NoError(t, err)
	got := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).ExponentialHistogram().DataPoints().At(0)
	require.Equal(t, counts, got.Positive().BucketCounts().Len())
	require.Equal(t, held, p.HostMemoryInUse(), "given back after decoding")
}

// TestColumnRefusedPastItsLimit: through the real host, a column past half
// of host_memory_limit is refused (ErrTooLarge), and what the instance
// keeps of it for the next call stays within that half: 50,000 spans of
// four attributes each make a 5.8 MB attribute column, against 2 MiB. TestColumnLimitHoldsAsBuilt measures
// what building it cost.
func TestColumnRefusedPastItsLimit(t *testing.T) {
	src := columnGuest(abi.SignalTraces, abi.TableSpan, abi.FieldAttrs)
	const budgetMiB = 4
	bin := buildWAT(t, "attrscol", src)
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "attrscol", Module: bin, PoolSize: 1,
		HostMemoryMiB: budgetMiB, Timeout: 10 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	_, err = p.ProcessTraces(context.Background(), spansWithAttrs(50_000))
	require.NoError(t, err)
	require.Equal(t, []wasmhost.CounterValue{{Name: "column_rc", Value: abi.ErrTooLarge}}, p.Counters())
	require.LessOrEqual(t, p.HostMemoryInUse(), int64(budgetMiB<<20/2))
}

func spansWithAttrs(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range n {
		a := spans.AppendEmpty().Attributes()
		for _, k := range []string{"a", "b", "c", "d"} {
			a.PutEmpty(k)
		}
	}
	return td
}

// columnGuest reads column(table, field) on every batch of signal and
// counts what it returned under "column_rc".
func columnGuest(signal, table, field int) string {
	return fmt.Sprintf(`(module
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "counter_add" (func $count (param i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "column_rc")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const %d))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $count (i32.const 16) (i32.const 9)
      (i64.extend_i32_s (call $column (i32.const %d) (i32.const %d) (i32.const 0) (i32.const 0)))))
    (i32.const 0)))`, signal, table, field)
}

func logColumnGuest(field int) string { return columnGuest(abi.SignalLogs, abi.TableLog, field) }

// TestAttrsColumnWithADeepValue: a value refused in the middle of an item's
// attributes (here, nested 70 deep) abandons the column, which the guest
// is refused (ErrTooLarge); the writer is not left half way through a list
// for the next item, which made the host panic.
func TestAttrsColumnWithADeepValue(t *testing.T) {
	bin := buildWAT(t, "attrsdeep", logColumnGuest(abi.FieldAttrs))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "attrsdeep", Module: bin, PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	first := recs.AppendEmpty().Attributes()
	v := first.PutEmpty("a")
	for range 70 {
		v = v.SetEmptySlice().AppendEmpty()
	}
	first.PutInt("b", 1)
	recs.AppendEmpty().Attributes().PutInt("c", 2)
	_, err = p.ProcessLogs(context.Background(), ld)
	require.NoError(t, err)
	require.Equal(t, []wasmhost.CounterValue{{Name: "column_rc", Value: abi.ErrTooLarge}}, p.Counters())
}

// TestColumnTakesTheBudgetAsItGrows: a column's growth is taken from the
// budget the pool's instances share while it is built, not once it is
// whole: with 8 of 64 MiB free, a body whose JSON text is 30 MiB (under
// the 32 MiB column limit) is refused having allocated about what was
// free, not 30 MiB and more.
func TestColumnTakesTheBudgetAsItGrows(t *testing.T) {
	const budgetMiB = 64
	bin := buildWAT(t, "bodycol", logColumnGuest(abi.FieldValue))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "bodycol", Module: bin, PoolSize: 1,
		HostMemoryMiB: budgetMiB, Timeout: 10 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().
		SetEmptySlice().AppendEmpty().SetStr(strings.Repeat("\x01", 5<<20))
	release := p.HoldHostMemory((budgetMiB - 8) << 20)
	defer release()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = p.ProcessLogs(context.Background(), ld)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Equal(t, []wasmhost.CounterValue{{Name: "column_rc", Value: abi.ErrTooLarge}}, p.Counters())
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20))
}

// TestOTLPSetEmpty: an empty payload is an empty batch, as in the
// emulator: a filter that drops everything stages one, and the batch it
// meant to drop must not pass unchanged.
func TestOTLPSetEmpty(t *testing.T) {
	bin := buildWAT(t, "emptyset", otlpSetGuest(1, nil, "", 1, 0))
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "emptyset", Module: bin, PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(context.Background())
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("secret")
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	require.Zero(t, out.SpanCount())
}

// TestOTLPSetRefusedKeepsTheEarlierOne: an otlp_set refused for want of
// host memory stages nothing, and the payload staged earlier in the call
// stays whole (it was emptied, and the batch with it).
func TestOTLPSetRefusedKeepsTheEarlierOne(t *testing.T) {
	src := `(module
  (import "wasmcol" "otlp_set" (func $set (param i32 i32) (result i32)))
  (import "wasmcol" "counter_add" (func $count (param i32 i32 i64) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 16) "a_rc")
  (data (i32.const 32) "b_rc")
  ;; A: a span named "A". B at 65536: a resource_spans of 100,000 zero bytes.
  (data (i32.const 128) "\0a\07\12\05\12\03\2a\01\41")
  (data (i32.const 65536) "\0a\a0\8d\06")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $count (i32.const 16) (i32.const 4) (i64.extend_i32_s (call $set (i32.const 128) (i32.const 9)))))
    (drop (call $count (i32.const 32) (i32.const 4) (i64.extend_i32_s (call $set (i32.const 65536) (i32.const 100004)))))
    (i32.const 0)))`
	const budgetMiB = 4
	bin := buildWAT(t, "twoset", src)
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "twoset", Module: bin, PoolSize: 1, HostMemoryMiB: budgetMiB})
	require.NoError(t, err)
	defer p.Close(context.Background())
	release := p.HoldHostMemory(budgetMiB<<20 - 64<<10) // room for A, not for B
	defer release()
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("original")
	out, err := p.ProcessTraces(context.Background(), td)
	require.NoError(t, err)
	require.ElementsMatch(t, []wasmhost.CounterValue{{Name: "a_rc", Value: 0}, {Name: "b_rc", Value: abi.ErrTooLarge}}, p.Counters())
	require.Equal(t, 1, out.SpanCount())
	require.Equal(t, "A", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
}

// TestIdleInstancesKeepLittle: an instance keeps its buffers for its next
// call only within its share of the budget (an eighth over the pool each),
// so that idle instances leave the budget to busy ones: after four
// instances each read a 1 MB column at once, under an 8 MiB budget, three
// idle ones kept 7 of the 8 MiB and the next concurrent call was refused.
func TestIdleInstancesKeepLittle(t *testing.T) {
	const budgetMiB = 8
	// column(Log, Attrs), then a barrier in the shared key-value store, so
	// that the four calls overlap however the machine schedules them: each
	// claims the first free key of s0..s3, then waits until all four are
	// claimed.
	src := fmt.Sprintf(`(module
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "counter_add" (func $count (param i32 i32 i64) (result i32)))
  (import "wasmcol" "kv_cas" (func $cas (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "kv_get" (func $get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "column_rc")
  (data (i32.const 32) "s0s1s2s3")
  (data (i32.const 48) "x")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const %d))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func $key (param $j i32) (result i32) (i32.add (i32.const 32) (i32.shl (local.get $j) (i32.const 1))))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $j i32) (local $n i32)
    (drop (call $count (i32.const 16) (i32.const 9)
      (i64.extend_i32_s (call $column (i32.const %d) (i32.const %d) (i32.const 0) (i32.const 0)))))
    (block $claimed (loop $claim
      (br_if $claimed (call $cas (call $key (local.get $j)) (i32.const 2) (i32.const 0) (i32.const -1) (i32.const 48) (i32.const 1)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $claim)))
    (block $all (loop $wait
      (local.set $n (i32.const 0))
      (local.set $j (i32.const 0))
      (block $counted (loop $c
        (br_if $counted (i32.eq (local.get $j) (i32.const 4)))
        (if (i32.ge_s (call $get (call $key (local.get $j)) (i32.const 2)) (i32.const 0))
          (then (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $c)))
      (br_if $all (i32.eq (local.get $n) (i32.const 4)))
      (br $wait)))
    (i32.const 0)))`, abi.SignalLogs, abi.TableLog, abi.FieldAttrs)
	bin := buildWAT(t, "attrs", src)
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "attrs", Module: bin, PoolSize: 4, HostMemoryMiB: budgetMiB,
		Timeout: 10 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	batch := func() plog.Logs {
		ld := plog.NewLogs()
		recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for range 3000 {
			recs.AppendEmpty().Attributes().PutStr("k", strings.Repeat("v", 300))
		}
		return ld
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.ProcessLogs(context.Background(), batch())
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	for _, c := range p.Counters() {
		require.Positive(t, c.Value, "every column served")
	}
	require.EqualValues(t, 4, p.LiveInstances())
	require.LessOrEqual(t, p.HostMemoryInUse(), int64(budgetMiB<<20/2))
}

// TestOTLPGetRefusedBeforeMarshaling: otlp_get knows the batch's size
// before it marshals it, and refuses one over the result cap having
// built nothing (a 40 MiB batch cost 80 MiB a refused call).
func TestOTLPGetRefusedBeforeMarshaling(t *testing.T) {
	src := `(module
  (import "wasmcol" "otlp_get" (func $get (result i32)))
  (import "wasmcol" "counter_add" (func $count (param i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "get_rc")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 4))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $count (i32.const 16) (i32.const 6) (i64.extend_i32_s (call $get))))
    (i32.const 0)))`
	const budgetMiB = 4 // results up to 2 MiB
	bin := buildWAT(t, "get", src)
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "get", Module: bin, PoolSize: 1, HostMemoryMiB: budgetMiB})
	require.NoError(t, err)
	defer p.Close(context.Background())
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("x", 3<<20))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = p.ProcessLogs(context.Background(), ld)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Equal(t, []wasmhost.CounterValue{{Name: "get_rc", Value: abi.ErrTooLarge}}, p.Counters())
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

// scratchGuest touches every slice of one entry an item the host keeps
// between calls: the index of tables 1-5 (len), the editor's counts (a
// DeleteAttr of an absent key on the last item of each table), the span
// and event name views (select Present on names) and group's slices
// (spans by kind). The edits change nothing.
const scratchGuest = `(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "select" (func $select (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "group" (func $group (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 64)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (local $t i32) (local $n i32) (local $sl i32)
    (local.set $t (i32.const 1))
    (block $d (loop $l
      (br_if $d (i32.gt_u (local.get $t) (i32.const 5)))
      (local.set $n (call $len (local.get $t)))
      (if (i32.gt_s (local.get $n) (i32.const 0)) (then
        ;; DeleteAttr "x" on item n-1: op 2, table t, index, key length 1, 'x'
        (i32.store8 (i32.const 64) (i32.const 2))
        (i32.store8 (i32.const 65) (local.get $t))
        (i32.store (i32.const 66) (i32.sub (local.get $n) (i32.const 1)))
        (i32.store (i32.const 70) (i32.const 1))
        (i32.store8 (i32.const 74) (i32.const 120))
        (drop (call $edit (i32.const 64) (i32.const 11)))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $l)))
    (i32.store (i32.const 0) (i32.const 0)) ;; an empty list
    (local.set $n (call $len (i32.const 3)))
    (local.set $sl (i32.shr_u (i32.add (local.get $n) (i32.const 7)) (i32.const 3)))
    (drop (call $select (i32.const 3) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 4)
      (i32.const 1024) (local.get $sl)))
    (local.set $n (call $len (i32.const 4)))
    (drop (call $select (i32.const 4) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 4)
      (i32.const 1024) (i32.shr_u (i32.add (local.get $n) (i32.const 7)) (i32.const 3))))
    (memory.fill (i32.const 1024) (i32.const 255) (local.get $sl))
    (drop (call $group (i32.const 3) (i32.const 9) (i32.const 0) (i32.const 0)
      (i32.const 1024) (local.get $sl) (i32.add (i32.const 1024) (local.get $sl)) (local.get $sl)))
    (i32.const 0)))`

// spansWithEvents is a batch of n spans of 100 names, each with an event
// and a link.
func spansWithEvents(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	for i := range n {
		s := spans.AppendEmpty()
		s.SetName("span-" + strconv.Itoa(i%100))
		s.Events().AppendEmpty().SetName("ev")
		s.Links().AppendEmpty()
	}
	return td
}

// TestIdleInstanceKeepsLittleScratch: what an idle instance keeps of its
// slices of one entry an item is bounded in all, not slice by slice. Each
// kept up to 4 MiB on its own, an attacking guest left 30 MiB in every
// instance after a batch of 230,000 spans, and 42 MiB after two batches
// of different shapes, outside the host memory budget. Now the slices
// share one buffer's keep (4 MiB at a pool of 1), and with them the
// result, edit and kernel buffers, which this guest leaves small.
func TestIdleInstanceKeepsLittleScratch(t *testing.T) {
	bin := buildWAT(t, "scratch", scratchGuest)
	p, err := wasmhost.New(context.Background(), wasmhost.Options{Source: "scratch", Module: bin, PoolSize: 1, Timeout: 20 * time.Second})
	require.NoError(t, err)
	defer p.Close(context.Background())
	before := liveHeap()
	flat := ptrace.NewTraces()
	spans := flat.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range 1_000_000 {
		spans.AppendEmpty().SetName("s")
	}
	_, err = p.ProcessTraces(context.Background(), flat)
	require.NoError(t, err)
	flat = ptrace.Traces{}
	_, err = p.ProcessTraces(context.Background(), spansWithEvents(230_000))
	require.NoError(t, err)
	kept := int64(liveHeap()) - int64(before)
	t.Logf("kept %.1f MiB", float64(kept)/(1<<20))
	require.Less(t, kept, int64(6<<20))
}
