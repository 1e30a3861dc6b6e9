// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// cappedMemory backs one instance's linear memory and enforces the memory
// limit itself, instead of wazero's WithMemoryLimitPages. wazero refuses a
// memory.grow past its limit without telling anyone, so the host could only
// guess, from the memory size at the time of a trap, that the guest died of
// exhaustion; a Go guest growing one large slice fails with its memory far
// below the limit and was reported as a plain trap. Here the refusal is
// seen and remembered, so the fault is classified from what happened.
//
// The bytes live in a region reserved once at the limit's size (see
// regions), so growing never copies, and a region outlives its instance
// for the next one: memory a guest has touched stays touched.
type cappedMemory struct {
	buf    []byte
	limit  uint64
	region *region
	pool   *regionPool
	// refused is set when a grow past the limit was refused during the
	// current call. Only the goroutine running the guest touches it.
	refused bool
	// release: when freed, give the region back to the system rather
	// than keep it for the next instance (idle instances retiring).
	release bool
}

// Reallocate implements experimental.LinearMemory. Memory only grows, and
// new bytes are zero: fresh from the system, or cleared when the region
// was last freed.
func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil // memory.grow returns -1 to the guest
	}
	if m.region == nil {
		r, err := m.pool.get(m.limit, 0)
		if err != nil {
			m.refused = true
			return nil
		}
		m.region = r
	}
	m.region.used = max(m.region.used, size)
	m.buf = m.region.mem[:size:size]
	return m.buf
}

// reserve takes the instance's region, before wazero asks for memory,
// clearing what the last instance left in it until deadline (see get).
func (m *cappedMemory) reserve(deadline int64) error {
	if m.region != nil {
		return nil
	}
	r, err := m.pool.get(m.limit, deadline)
	if err != nil {
		return err
	}
	m.region = r
	return nil
}

// Free implements experimental.LinearMemory.
func (m *cappedMemory) Free() {
	if m.region != nil {
		m.pool.put(m.region, m.release)
	}
	m.region, m.buf = nil, nil
}

// regionPool keeps one freed region of a plugin for the next instance, so
// that replacing an instance after a fault or a recycle does not pay again
// for touching fresh memory, which on some virtual machines costs more
// than the guest's work (a 100,000-span batch: over a second).
type regionPool struct {
	mu     sync.Mutex
	spare  *region
	closed bool // a region put back now is unmapped, for no one would
}

// get returns the spare region, cleared, or a new one. Clearing happens
// here, as the next instance starts, rather than when the last one was
// discarded, after its call's deadline.
//
// A region is cleared from its top down, clearStep at a time, and a
// deadline (a now() value; 0 for none) is checked between steps. Clearing
// in one step was the one part of a start no deadline could stop: a guest
// that touched all its memory and trapped had every next start clear up to
// memory_limit, about 200 ms at 4096 MiB, whatever the timeout. Once the
// deadline has passed, the region goes back to the pool with what is left
// to clear, and get fails with errClearLate: the next start goes on where
// this one stopped, so every batch makes progress and none overruns by
// more than a step.
func (p *regionPool) get(size uint64, deadline int64) (*region, error) {
	p.mu.Lock()
	r := p.spare
	if r != nil && uint64(len(r.mem)) == size {
		p.spare = nil
		p.mu.Unlock()
		for r.used > 0 {
			lo := r.used - min(r.used, clearStep)
			clearRegion(r.mem[lo:r.used])
			r.used = lo
			if r.used > 0 && deadline != 0 && now() > deadline {
				p.put(r, false)
				return nil, errClearLate
			}
		}
		return r, nil
	}
	p.mu.Unlock()
	return reserveRegion(size)
}

// clearStep is what get clears between checks of its deadline: a multiple
// of wasm's 64 KiB page, so every step starts on a system page, and about
// 0.2-0.5 ms of writing zeroes here when every page is resident.
const clearStep = 4 << 20

// errClearLate: the deadline passed before the spare region was clear.
var errClearLate = errors.New("clearing the memory the last instance left took the whole timeout; the next start goes on with it")

// clearRegion is clearTouched; tests make it slow, as clearing gigabytes
// is.
var clearRegion = clearTouched

// reserveRegion is newRegion; tests make it fail as a system refusing
// the reservation would.
var reserveRegion = newRegion

func (p *regionPool) put(r *region, release bool) {
	if !release {
		p.mu.Lock()
		if p.spare == nil && !p.closed {
			p.spare = r
			r = nil
		}
		p.mu.Unlock()
	}
	if r != nil {
		r.free()
	}
}

// close gives the spare region back, and any put later.
func (p *regionPool) close() {
	p.mu.Lock()
	r := p.spare
	p.spare = nil
	p.closed = true
	p.mu.Unlock()
	if r != nil {
		r.free()
	}
}

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
		// Compared before any conversion: a crafted 10-byte size would
		// turn negative as an int and pass a sum-based check.
		if n == 0 || size > uint64(len(bin)-off-1-n) {
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
