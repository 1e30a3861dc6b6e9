// SPDX-License-Identifier: Apache-2.0

// Command kvcount counts spans across batches and instances in the shared
// key-value store: read the total, add the batch, compare-and-swap, retry
// on a conflict. Every span gets the attribute kv.total, the total after
// its batch. It also adds to the counters spans_seen and cas_retries.
//
// A batch with a span named "probe" instead tries each limit of the shared
// services and reports what the host answered, as probe.* attributes.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o kvcount.wasm .
package main

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type kvcount struct{}

const key = "spans"

func (kvcount) ProcessTraces(t wasmcol.Traces) error {
	h := t.Host()
	for s := range t.Spans() {
		if s.Name() == "probe" {
			return probe(t, h)
		}
	}
	n := uint64(t.Len())
	kv := h.KV()
	var total uint64
	for {
		old, ok, err := kv.Get(key)
		if err != nil {
			return err
		}
		var prev []byte // nil: only if still absent
		if ok {
			prev = old
			total = binary.LittleEndian.Uint64(old)
		}
		// Yield between the read and the swap so that concurrent callers
		// really do interleave and the retry path runs.
		time.Sleep(50 * time.Microsecond)
		total += n
		swapped, err := kv.CompareAndSwap(key, prev, binary.LittleEndian.AppendUint64(nil, total))
		if err != nil {
			return err
		}
		if swapped {
			break
		}
		if err := h.Count("cas_retries", 1); err != nil {
			return err
		}
	}
	if err := h.Count("spans_seen", int64(n)); err != nil {
		return err
	}
	for s := range t.Spans() {
		s.SetAttr("kv.total", wasmcol.Int(int64(total)))
	}
	return nil
}

// probe reports the host's answer at each limit: the first counter name
// refused (names are bounded in number), a malformed counter name, a value
// one byte over the limit and a key one byte over the limit.
func probe(t wasmcol.Traces, h wasmcol.Host) error {
	report := map[string]string{}
	for i := 0; i < 1000; i++ {
		if err := h.Count(fmt.Sprintf("probe_%d", i), 1); err != nil {
			report["probe.counters"] = fmt.Sprintf("refused name %d: %v", i, err)
			break
		}
	}
	report["probe.bad_name"] = errText(h.Count("Not A Valid Name!", 1))
	report["probe.big_value"] = errText(h.KV().Set("big", make([]byte, 64<<10+1)))
	report["probe.max_value"] = errText(h.KV().Set("max", make([]byte, 64<<10)))
	report["probe.big_key"] = errText(h.KV().Set(strings.Repeat("k", 257), []byte("v")))
	for s := range t.Spans() {
		for k, v := range report {
			s.SetAttr(k, wasmcol.Str(v))
		}
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func init() { wasmcol.Register(kvcount{}) }

func main() {}
