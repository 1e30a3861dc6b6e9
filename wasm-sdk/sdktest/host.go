// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"strings"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// The host's limits, which a filter should meet under test as it must in
// the Collector.
const (
	maxKVKey      = 256
	maxKVValue    = 64 << 10
	maxKVEntries  = 10_000
	maxCounters   = 64
	maxCounterLen = 64
	maxLogLine    = 2 << 10   // longer log lines are cut
	maxFail       = 4 << 10   // longer failure messages are cut
	maxEdits      = 256 << 20 // bytes of staged edits per call
)

// callHost serves the ABI for one call of a filter: Init (t is nil) or one
// batch. State that outlives the call lives in the Emulator.
type callHost struct {
	e      *Emulator
	t      *tables
	name   string   // what FilterName answers: "" but in Registered
	edits  [][]byte // staged; applied after the filter returns success
	staged int      // bytes in edits
	otlp   []byte   // a staged replacement batch, or nil
	// served lists the column buffers the filter was given, which expire
	// when the call returns.
	served [][]byte
}

var _ hostcall.Host = (*callHost)(nil)

func (h *callHost) Len(table int32) int32 {
	if h.t == nil {
		return abi.ErrState
	}
	return h.t.length(table)
}

func (h *callHost) Column(table, field int32, key string, dst []byte) ([]byte, int32) {
	if h.t == nil {
		return dst[:0], abi.ErrState
	}
	col, rc := h.t.column(table, field, key)
	if rc < 0 {
		return dst[:0], rc
	}
	dst = append(dst[:0], col...)
	h.served = append(h.served, dst)
	return dst, 0
}

// stale is what expired column memory reads as.
const stale = "<stale: a string read from a column is valid only until the filter returns; strings.Clone what you keep> "

// expire overwrites every column buffer of the call. In a Wasm module the
// SDK reads the next batch's columns into the same memory, so a string a
// filter kept from an earlier batch changes under it; the emulator makes
// that happen at once, so that such a filter fails its tests too.
func (h *callHost) expire() {
	for _, b := range h.served {
		for i := range b {
			b[i] = stale[i%len(stale)]
		}
	}
	h.served = nil
}

func (h *callHost) Edit(ops []byte) int32 {
	if h.t == nil {
		return abi.ErrState
	}
	if h.staged+len(ops) > maxEdits {
		return abi.ErrTooLarge
	}
	h.staged += len(ops)
	h.edits = append(h.edits, bytes.Clone(ops))
	return 0
}

func (h *callHost) Config() []byte { return bytes.Clone(h.e.config) }

func (h *callHost) FilterName() string { return h.name }

var levelNames = map[int32]string{
	abi.LogDebug: "debug", abi.LogInfo: "info", abi.LogWarn: "warn", abi.LogError: "error",
}

// Log records a line as the host logs it: cut to 2 KiB, without trailing
// newlines, and at info level when the level is unknown.
func (h *callHost) Log(level int32, msg string) {
	name, ok := levelNames[level]
	if !ok {
		name = "info"
	}
	msg = strings.TrimRight(truncate(msg, maxLogLine), "\n")
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	h.e.logs = append(h.e.logs, name+": "+msg)
}

// Fail is how a Wasm guest reports its error; the SDK under go test
// returns the error instead, so this only records a stray call.
func (h *callHost) Fail(msg string) {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	h.e.logs = append(h.e.logs, "fail: "+truncate(msg, maxFail))
}

// truncate cuts s to n bytes, as the host does, even inside a rune.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// OTLPGet is the batch as it arrived, as an OTLP Export*ServiceRequest.
func (h *callHost) OTLPGet() ([]byte, int32) {
	if h.t == nil {
		return nil, abi.ErrState
	}
	switch {
	case h.t.tracesDoc != nil:
		return marshalTraces(h.t.tracesDoc), 0
	case h.t.metricsDoc != nil:
		return marshalMetrics(h.t.metricsDoc), 0
	}
	return marshalLogs(h.t.logsDoc), 0
}

// OTLPSet stages a replacement batch; like the host, it decodes it only
// once the filter has returned success.
func (h *callHost) OTLPSet(payload []byte) int32 {
	if h.t == nil {
		return abi.ErrState
	}
	h.otlp = bytes.Clone(payload)
	if h.otlp == nil {
		h.otlp = []byte{} // an empty payload is an empty batch, not "none"
	}
	return 0
}

func (h *callHost) KVGet(key string) ([]byte, int32) {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	v, ok := h.e.kv[key]
	if !ok {
		return nil, abi.ErrNotFound
	}
	return bytes.Clone(v), 0
}

func (h *callHost) KVSet(key string, value []byte) int32 {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	return h.e.kvPut(key, value)
}

// KVCAS compares before it checks limits, as the host does: a swap that
// would not happen reports 0 even for an oversized key or value.
func (h *callHost) KVCAS(key string, old, new []byte) int32 {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	cur, ok := h.e.kv[key]
	if old == nil && ok || old != nil && (!ok || !bytes.Equal(cur, old)) {
		return 0
	}
	if rc := h.e.kvPut(key, new); rc < 0 {
		return rc
	}
	return 1
}

func (h *callHost) KVDelete(key string) int32 {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	delete(h.e.kv, key)
	return 0
}

// kvPut stores a copy of value within the host's limits, which also
// refuse an empty key; the caller holds e.mu.
func (e *Emulator) kvPut(key string, value []byte) int32 {
	if len(key) == 0 || len(key) > maxKVKey || len(value) > maxKVValue {
		return abi.ErrTooLarge
	}
	if _, ok := e.kv[key]; !ok && len(e.kv) >= maxKVEntries {
		return abi.ErrTooLarge
	}
	e.kv[key] = append([]byte{}, value...) // non-nil, so a stored empty value is present
	return 0
}

func (h *callHost) CounterAdd(name string, delta int64) int32 {
	if !validCounter(name) {
		return abi.ErrArgument
	}
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	if _, ok := h.e.counters[name]; !ok && len(h.e.counters) >= maxCounters {
		return abi.ErrTooLarge
	}
	h.e.counters[name] += delta
	return 0
}

// validCounter is the host's rule for counter names: 1 to 64 bytes of
// [a-z0-9_.], so every name is a valid metric name suffix.
func validCounter(name string) bool {
	if len(name) == 0 || len(name) > maxCounterLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
