// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"bytes"
	"fmt"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// Host is the set of services the Collector offers a filter beyond the
// batch itself. Get one from Traces.Host, Metrics.Host, Logs.Host or Config.Host.
type Host struct{ h hostcall.Host }

// Level is a log severity for Host.Log.
type Level int32

// Log levels.
const (
	LevelDebug Level = abi.LogDebug
	LevelInfo  Level = abi.LogInfo
	LevelWarn  Level = abi.LogWarn
	LevelError Level = abi.LogError
)

// Log writes msg to the Collector's log, tagged with the processor's ID.
// The host rate-limits guest logs, so a message may be dropped under spam.
func (h Host) Log(level Level, msg string) { h.h.Log(int32(level), msg) }

// Logf formats and logs like fmt.Sprintf.
func (h Host) Logf(level Level, format string, args ...any) {
	h.h.Log(int32(level), fmt.Sprintf(format, args...))
}

// Count adds delta to the filter's counter name, exported with the
// Collector's own metrics. The host bounds how many names a filter may use.
func (h Host) Count(name string, delta int64) error {
	if rc := h.h.CounterAdd(name, delta); rc < 0 {
		return fmt.Errorf("wasmcol: counter %q: %s", name, abi.ErrorText(rc))
	}
	return nil
}

// KV is the processor's shared key-value store: every instance of the same
// processor sees the same entries, and they outlive batches. The host bounds
// the size of keys, values and the whole store.
func (h Host) KV() KV { return KV{h.h} }

// KV is a small key-value store shared by a processor's instances.
type KV struct{ h hostcall.Host }

// Get returns the value stored at key and whether there was one.
func (kv KV) Get(key string) ([]byte, bool, error) {
	v, rc := kv.h.KVGet(key)
	switch {
	case rc == abi.ErrNotFound:
		return nil, false, nil
	case rc < 0:
		return nil, false, fmt.Errorf("wasmcol: kv get %q: %s", key, abi.ErrorText(rc))
	}
	return v, true, nil
}

// Set stores value at key.
func (kv KV) Set(key string, value []byte) error {
	if rc := kv.h.KVSet(key, value); rc < 0 {
		return fmt.Errorf("wasmcol: kv set %q: %s", key, abi.ErrorText(rc))
	}
	return nil
}

// CompareAndSwap stores new at key only if the current value equals old; a
// nil old means "only if key is absent". It reports whether it stored.
func (kv KV) CompareAndSwap(key string, old, new []byte) (bool, error) {
	rc := kv.h.KVCAS(key, old, new)
	if rc < 0 {
		return false, fmt.Errorf("wasmcol: kv compare-and-swap %q: %s", key, abi.ErrorText(rc))
	}
	return rc == 1, nil
}

// Delete removes key, if present.
func (kv KV) Delete(key string) error {
	if rc := kv.h.KVDelete(key); rc < 0 {
		return fmt.Errorf("wasmcol: kv delete %q: %s", key, abi.ErrorText(rc))
	}
	return nil
}
