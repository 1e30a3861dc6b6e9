// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/experimental"
)

// cappedMemory backs one instance's linear memory and enforces the memory
// limit itself, instead of wazero's WithMemoryLimitPages. wazero refuses a
// memory.grow past its limit without telling anyone, so the host could only
// guess, from the memory size at the time of a trap, that the guest died of
// exhaustion; a Go guest growing one large slice fails with its memory far
// below the limit and was reported as a plain trap. Here the refusal is
// seen and remembered, so the fault is classified from what happened.
type cappedMemory struct {
	buf   []byte
	limit uint64
	// refused is set when a grow past the limit was refused during the
	// current call. Only the goroutine running the guest touches it.
	refused bool
}

// Reallocate implements experimental.LinearMemory. Memory only grows;
// like wazero's own allocation it relies on append zeroing the new bytes.
func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil // memory.grow returns -1 to the guest
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
	} else {
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	}
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *cappedMemory) Free() { m.buf = nil }

// withMemory makes the instance that ctx instantiates use m.
func withMemory(ctx context.Context, m *cappedMemory) context.Context {
	return experimental.WithMemoryAllocator(ctx,
		experimental.MemoryAllocatorFunc(func(_, _ uint64) experimental.LinearMemory { return m }))
}

// initialMemoryPages is the initial size of the memory the module defines,
// in 64 KiB pages (0 when it defines none). wazero allocates it before
// anything else runs, so a module asking for more than the limit must be
// refused before instantiation. bin has already been compiled, so it is
// well formed; this walks the sections to the memory section only.
func initialMemoryPages(bin []byte) (uint64, error) {
	off := 8 // magic and version
	for off < len(bin) {
		id := bin[off]
		size, n := uleb(bin[off+1:])
		if n == 0 || off+1+n+int(size) > len(bin) {
			return 0, errBadBinary
		}
		body := bin[off+1+n : off+1+n+int(size)]
		off += 1 + n + int(size)
		if id != 5 { // the memory section
			continue
		}
		count, n := uleb(body)
		body = body[n:]
		var most uint64
		for ; count > 0; count-- {
			if len(body) == 0 {
				return 0, errBadBinary
			}
			flags := body[0]
			min, n := uleb(body[1:])
			if n == 0 {
				return 0, errBadBinary
			}
			body = body[1+n:]
			if flags&0x01 != 0 { // a declared maximum follows
				if _, n = uleb(body); n == 0 {
					return 0, errBadBinary
				}
				body = body[n:]
			}
			most = max(most, min)
		}
		return most, nil
	}
	return 0, nil
}

var errBadBinary = errors.New("malformed WebAssembly binary")

// uleb decodes an unsigned LEB128 and its length in bytes, 0 if malformed.
func uleb(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7F) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// sleeper is an instance's clock sleep, which is how time.Sleep and WASI
// poll_oneoff timeouts reach the host. wazero's own sleeps the whole
// duration inside the host function, where no deadline check runs, so a
// guest parked in time.Sleep would hold its instance, and the batch, long
// past the timeout. This one also wakes when the instance's deadline
// fires; the guest then meets the deadline check at its next loop.
type sleeper struct {
	expired chan struct{}
	once    sync.Once
}

func newSleeper() *sleeper { return &sleeper{expired: make(chan struct{})} }

func (s *sleeper) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.expired:
	}
}

// wake ends every sleep of the instance, now and later: an expired
// instance is never reused.
func (s *sleeper) wake() { s.once.Do(func() { close(s.expired) }) }
