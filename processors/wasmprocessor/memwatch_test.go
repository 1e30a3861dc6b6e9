// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

// memWatch measures what one hostile case costs the process: the peak
// resident set (VmHWM, reset at the start through /proc/self/clear_refs,
// so it catches spikes no sampler would) and the peak Go heap, sampled
// every millisecond, each relative to a baseline taken after a GC.
type memWatch struct {
	baseRSS, baseHeap uint64
	mu                sync.Mutex
	peakHeap          uint64
	stop, done        chan struct{}
}

const mib = 1 << 20

// watchMemory starts measuring. Linux only: it reads /proc/self.
func watchMemory(tb testing.TB) *memWatch {
	tb.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Fatalf("resetting the peak RSS: %v", err)
	}
	w := &memWatch{baseRSS: procStatus(tb, "VmRSS"), baseHeap: heapBytes(),
		stop: make(chan struct{}), done: make(chan struct{})}
	w.peakHeap = w.baseHeap
	go func() {
		defer close(w.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			h := heapBytes()
			w.mu.Lock()
			w.peakHeap = max(w.peakHeap, h)
			w.mu.Unlock()
		}
	}()
	return w
}

// memUse is what a case cost, in bytes above the baseline.
type memUse struct {
	PeakRSS, PeakHeap, HeapAfter uint64
}

func (u memUse) String() string {
	return fmt.Sprintf("peak RSS +%d MiB, peak heap +%d MiB, heap after +%d MiB",
		u.PeakRSS/mib, u.PeakHeap/mib, u.HeapAfter/mib)
}

// end stops the sampler and returns the growth over the baseline; the heap
// after is measured once a GC has run.
func (w *memWatch) end(tb testing.TB) memUse {
	tb.Helper()
	close(w.stop)
	<-w.done
	hwm := procStatus(tb, "VmHWM")
	runtime.GC()
	after := heapBytes()
	w.mu.Lock()
	defer w.mu.Unlock()
	over := func(v, base uint64) uint64 {
		if v < base {
			return 0
		}
		return v - base
	}
	return memUse{PeakRSS: over(hwm, w.baseRSS), PeakHeap: over(w.peakHeap, w.baseHeap), HeapAfter: over(after, w.baseHeap)}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}

// heapBytes is the Go heap in use, without stopping the world. Goroutine
// stacks are not in it; VmHWM catches those.
func heapBytes() uint64 {
	s := make([]metrics.Sample, len(heapSample))
	copy(s, heapSample)
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// procStatus reads a "kB" line of /proc/self/status, in bytes.
func procStatus(tb testing.TB, key string) uint64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatalf("reading /proc/self/status: %v", err)
	}
	v, ok := statusValue(b, key)
	if !ok {
		tb.Fatalf("/proc/self/status has no %s", key)
	}
	return v
}

// statusValue finds "key:   123 kB" in the text of a /proc/<pid>/status.
func statusValue(status []byte, key string) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok || string(k) != key {
			continue
		}
		f := bytes.Fields(v)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false
		}
		n, err := strconv.ParseUint(string(f[0]), 10, 64)
		return n << 10, err == nil
	}
	return 0, false
}
