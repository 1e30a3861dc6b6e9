// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/binary"
	"math"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// callState is one instance's side of the ABI. An instance runs one call at
// a time, so nothing here is locked; its buffers live as long as the
// instance and are reused, which keeps the per-batch host allocations to
// what pdata itself needs.
type callState struct {
	t         tables
	ed        editor
	result    []byte
	hasResult bool
	edits     []byte
	// expanded is what the records edit_where staged stand for beyond
	// the bytes they take: the staged edits' limit counts the copies.
	expanded int
	otlp     []byte
	hasOTLP  bool
	// otlpCharge is what the staged replacement may decode into, as the
	// walk reckoned it; decoding holds that much of the budget.
	otlpCharge int64
	// deadline is the current call's, kept past the call for the decoding
	// of its replacement batch.
	deadline int64
	failMsg  string
	limits   limits
	shared   *shared
	guard    *guard
	// held is what this instance's buffers count against the plugin's
	// host memory budget.
	held           int64
	stdout, stderr *lineWriter
	// mountsFull reports an open refused for MaxOpenFiles (mounts.go).
	mountsFull bool
	// readLeft is what the current fd_read or fd_pread may still read
	// from a mount (MaxReadBytes a call).
	readLeft int
}

// limits are the per-call caps on host memory a guest causes. Each is a
// share of the plugin's host memory budget (Options.HostMemoryMiB).
type limits struct {
	maxResult int // a column, otlp_get, kv_get or config result
	maxEdits  int // staged edit lists, all together
	maxOTLP   int // an otlp_set payload
	// maxDecoded is what an otlp_set payload may decode into, reckoned
	// as otlpset.go describes: the replacement batch is the batch, not a
	// buffer, but a guest should not make it larger than the budget.
	maxDecoded int
	// keep is the most an idle instance keeps of each buffer.
	keep int
}

func limitsFor(budget int64) limits {
	return limits{maxResult: int(budget / 2), maxEdits: int(budget / 4), maxOTLP: int(budget / 4), maxDecoded: int(budget),
		keep: maxKept}
}

// maxKept is the most an idle instance keeps of each of its buffers for
// its next call.
const maxKept = 4 << 20

// keptFor is what an idle instance of a pool of poolSize keeps of each of
// its buffers (result, edits, replacement, kernel columns): together at
// most half the budget over the pool, so that idle instances cannot hold
// the budget busy ones need (three idle instances of four held 7 of 8
// MiB).
func keptFor(budget int64, poolSize int) int {
	return int(min(max(budget/int64(8*max(poolSize, 1)), 64<<10), maxKept))
}

// hostMemory is the budget every instance of one plugin shares for the
// host-side buffers its guests cause: results, staged edits and
// replacement batches.
type hostMemory struct {
	limit int64
	used  atomic.Int64
}

func (h *hostMemory) take(n int64) bool {
	if h.used.Add(n) > h.limit {
		h.used.Add(-n)
		return false
	}
	return true
}

func (h *hostMemory) give(n int64) { h.used.Add(-n) }

// fits reports whether n more bytes of the budget are free now.
func (st *callState) fits(n int) bool { return st.shared == nil || st.shared.mem.fits(int64(n)) }

// fits reports whether n more bytes are free now: a check before
// allocating, which the take after it confirms.
func (h *hostMemory) fits(n int64) bool { return h.used.Load()+n <= h.limit }

// settle brings held in line with the buffers' capacities. It reports
// false, having taken nothing, when growth would pass the budget.
func (st *callState) settle() bool {
	now := int64(cap(st.result) + cap(st.edits) + cap(st.otlp) + st.t.kernelBytes() + 8*cap(st.ed.whereAt) + st.t.grp.held())
	if d := now - st.held; d > 0 && !st.shared.mem.take(d) {
		return false
	} else if d < 0 {
		st.shared.mem.give(-d)
	}
	st.held = now
	return true
}

// ensure makes room for n more bytes in *buf within limit and the budget.
func (st *callState) ensure(buf *[]byte, n, limit int) bool {
	need := len(*buf) + n
	if need > limit || need < 0 {
		return false
	}
	if need <= cap(*buf) {
		return true
	}
	size := min(limit, max(need, 2*cap(*buf)))
	if !st.fits(size - cap(*buf)) {
		return false // refused before it is allocated
	}
	st.t.reckonBytes(size) // allocated, then copied into, in one step
	grown := make([]byte, len(*buf), size)
	copy(grown, *buf)
	old := *buf
	*buf = grown
	if !st.settle() {
		*buf = old
		return false
	}
	return true
}

// stagedEdits is what the staged edits count against their limit: their
// bytes, with each record counted as the copies it stands for.
func (st *callState) stagedEdits() int { return len(st.edits) + 8*len(st.ed.whereAt) + st.expanded }

// editLimit is the room the staged edits' limit leaves for their bytes.
func (st *callState) editLimit() int { return st.limits.maxEdits - st.expanded - 8*len(st.ed.whereAt) }

// stageRecord stages op on the items sel selects as one record, two
// length-prefixed fields, which the editor expands as it walks the list
// (editor.walkRecord): copies is what the copies would have taken, and
// the record with its offset must take less. The record's offset goes to
// the editor's own list, so that only the host can stage one. It reports
// false, having staged nothing, when the limit or the budget cannot hold
// the record; the caller then stages the copies.
func (st *callState) stageRecord(op, sel []byte, copies int) bool {
	size := 8 + len(op) + len(sel)
	at, marks, expanded := len(st.edits), st.ed.whereAt, st.expanded
	st.expanded += copies - size - 8
	if len(marks) == cap(marks) {
		// Grown here rather than by append: by no more than the limit
		// has room for, and the budget asked before the memory is taken.
		room := st.limits.maxEdits - cap(st.edits) - 8*len(marks) - st.expanded
		grown := min(2*cap(marks)+8, len(marks)+room/8)
		if grown <= len(marks) || !st.fits(8*(grown-cap(marks))) {
			st.expanded = expanded
			return false
		}
		st.ed.whereAt = append(make([]int, 0, grown), marks...)
	}
	if !st.ensure(&st.edits, size, st.editLimit()) || !st.settle() {
		st.edits, st.ed.whereAt, st.expanded = st.edits[:at], marks, expanded
		st.settle()
		return false
	}
	st.edits = binary.LittleEndian.AppendUint32(st.edits, uint32(len(op)))
	st.edits = append(st.edits, op...)
	st.edits = binary.LittleEndian.AppendUint32(st.edits, uint32(len(sel)))
	st.edits = append(st.edits, sel...)
	st.ed.whereAt = append(st.ed.whereAt, at)
	return true
}

// setResult makes st.result the answer of a result function, unless it
// passes the per-call cap or the budget: then it is dropped.
func (st *callState) setResult() int32 {
	if len(st.result) > min(st.limits.maxResult, math.MaxInt32) || !st.settle() {
		st.result = nil
		st.settle()
		return abi.ErrTooLarge
	}
	st.hasResult = true
	return int32(len(st.result))
}

func (st *callState) begin(signal int32) {
	st.t.reset(signal)
	st.t.maxColumn = st.limits.maxResult
	st.t.keep = st.limits.keep
	st.t.guard = st.guard
	if st.shared != nil {
		st.t.mem = st.shared.mem
	}
	st.ed.t = &st.t
	st.ed.guard = st.guard
	st.ed.reset()
	st.hasResult = false
	st.result = st.result[:0]
	st.edits = st.edits[:0]
	st.expanded = 0
	st.otlp = st.otlp[:0]
	st.hasOTLP = false
	st.failMsg = ""
}

// end forgets the batch. Large buffers are dropped rather than kept, so one
// huge batch does not pin its memory to the instance forever.
func (st *callState) end() {
	keep := st.limits.keep
	k := keeper{left: keep}
	st.t.release(&k)
	if cap(st.result) > keep {
		st.result = nil
	}
	if cap(st.edits) > keep {
		st.edits = nil
	}
	// The records' offsets share the edits' part of what an idle
	// instance keeps.
	if cap(st.edits)+8*cap(st.ed.whereAt) > keep {
		st.ed.whereAt = nil
	}
	if cap(st.otlp) > keep {
		st.otlp = nil
	}
	// The editor's counts per item go as the index does.
	st.ed.strs.trim()
	for i := range st.ed.attrOps {
		st.ed.attrOps[i], st.ed.adds[i] = kept(&k, st.ed.attrOps[i]), kept(&k, st.ed.adds[i])
		st.ed.costs[i], st.ed.dropped[i] = kept(&k, st.ed.costs[i]), kept(&k, st.ed.dropped[i])
	}
	st.settle()
}

// release gives back everything the instance held; it is being discarded.
func (st *callState) release() {
	st.result, st.edits, st.otlp, st.ed.whereAt = nil, nil, nil, nil
	st.t.dropKernelColumns()
	st.t.grp = grouping{} // its kept buffers count against the budget
	st.settle()
}

func (st *callState) marshal() ([]byte, error) {
	switch st.t.signal {
	case abi.SignalTraces:
		return (&ptrace.ProtoMarshaler{}).MarshalTraces(st.t.traces)
	case abi.SignalMetrics:
		return (&pmetric.ProtoMarshaler{}).MarshalMetrics(st.t.metrics)
	default:
		return (&plog.ProtoMarshaler{}).MarshalLogs(st.t.logs)
	}
}

// marshalSize is the size of what marshal would return, computed without
// building it.
func (st *callState) marshalSize() int {
	switch st.t.signal {
	case abi.SignalTraces:
		return (&ptrace.ProtoMarshaler{}).TracesSize(st.t.traces)
	case abi.SignalMetrics:
		return (&pmetric.ProtoMarshaler{}).MetricsSize(st.t.metrics)
	default:
		return (&plog.ProtoMarshaler{}).LogsSize(st.t.logs)
	}
}
