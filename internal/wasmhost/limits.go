// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"sync"
	"unsafe"

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
	// guard is the instance's: what a grow faults in stops at its
	// deadline (see populate).
	guard *guard
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
	if m.buf != nil && size > uint64(len(m.buf)) && !m.populate(uint64(len(m.buf)), size) {
		return nil // memory.grow returns -1; a guest that dies of it is reported as a timeout
	}
	m.region.used = max(m.region.used, size)
	m.buf = m.region.mem[:size:size]
	return m.buf
}

// populate faults in the region's bytes [from, to) before the guest gets
// them, populateStep at a time, and reports false, the guard marked
// stopped, once the deadline has passed or a step would pass it. A
// guest's first store to a page the system has not backed costs a fault,
// 10-20 us for 4 KiB on the virtual machines here, that no instruction
// count sees: a guest that grew 512 MiB and stored a byte a page, about
// six instructions a store, took 857-921 ms in one call under a 5 ms
// timeout (attack round 28b). Faulted in here, the time is the host's,
// reckoned before each step from what mincore says is not backed yet (at
// freshNsPerByte), and checked after it. A page already backed, as the
// pages of a reused region are, costs little. The bytes are zero whichever
// way, so what a memory's initial size brings is faulted in the same way,
// once the module is instantiated (instantiate).
func (m *cappedMemory) populate(from, to uint64) bool {
	if !populating {
		return true
	}
	g := m.guard
	base := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(m.region.mem))))
	for from < to {
		// Steps end on the system's huge page boundaries: a huge page is
		// backed whole, so a step reckons the whole of any it touches
		// (freshBytes).
		end := min(to, (base+from)/populateStep*populateStep+populateStep-base)
		step := m.region.mem[from:end]
		if g != nil {
			if d := g.deadline.Load(); d != 0 && now()+int64(freshBytes(step))*freshNsPerByte > d {
				g.stopped = stopReckoned
				return false
			}
		}
		faultIn(step)
		from = end
		if from < to && g != nil && g.expired() {
			g.stopped = stopDeadline
			if g.closing.Load() {
				g.stopped = stopInterrupt
			}
			return false
		}
	}
	return true
}

// populating is off only in tests that need a memory of gigabytes with
// nothing in it, or one grown in a batch of a few milliseconds.
var populating = true

// WithoutPopulatingForTest turns populate off until the function it
// returns runs, for the tests of other packages whose guests need a memory
// of gigabytes with nothing in it. A Collector never calls it.
func WithoutPopulatingForTest() (restore func()) {
	populating = false
	return func() { populating = true }
}

// populateStep is what populate faults in between checks of the deadline,
// at most: one huge page, 4-10 ms in 4 KiB pages on a fresh virtual
// machine.
const populateStep = 2 << 20

// touchPages writes a zero every 4 KiB of mem, zeroes already: it backs
// its pages where MADV_POPULATE_WRITE cannot.
func touchPages(mem []byte) {
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 0
	}
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

// regionPool keeps the freed regions of a plugin for the next instances,
// so that replacing an instance after a fault or a recycle does not pay
// again for touching fresh memory, which on some virtual machines costs
// more than the guest's work (a 100,000-span batch: over a second).
//
// It keeps at most max regions, handed out and spare together: the pool
// size, the most instances a generation has live. A region put back past
// that, which only the instances of a generation a reload retired bring,
// is unmapped off the batch's path (freeLater). Kept to one spare, the
// pool unmapped the region of the next instance discarded in the batch
// that discarded it, where no deadline applies: 760 MiB touched took 33-68
// ms under a 5 ms timeout without huge pages (attack round 28b), and after
// a reload the old guest's memory stayed resident as the spare until
// Close, pool_size 1 then holding twice memory_limit.
type regionPool struct {
	mu     sync.Mutex
	spares []*region
	out    int // regions handed out and not yet put back
	max    int
	closed bool // a region put back now is unmapped, for no one would
	// freeing counts the goroutines freeLater started, which close waits
	// for: a closed plugin has given all its memory back.
	freeing sync.WaitGroup
}

// get returns a spare region, cleared, or a new one. Clearing happens
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
	var r *region
	var stale []*region // of another size: no use to anyone now
	p.mu.Lock()
	for len(p.spares) > 0 && r == nil {
		s := p.spares[len(p.spares)-1]
		p.spares = p.spares[:len(p.spares)-1]
		if uint64(len(s.mem)) == size {
			r = s
		} else {
			stale = append(stale, s)
		}
	}
	p.out++
	p.mu.Unlock()
	p.freeLater(stale)
	if r == nil {
		r, err := reserveRegion(size)
		if err != nil {
			p.mu.Lock()
			p.out--
			p.mu.Unlock()
		}
		return r, err
	}
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

// clearStep is what get clears between checks of its deadline: a multiple
// of wasm's 64 KiB page, so every step starts on a system page, and about
// 0.06 ms of writing zeroes here when every page is resident in huge pages,
// 0.3-4 ms in 4 KiB pages.
const clearStep = 4 << 20

// errClearLate: the deadline passed before the spare region was clear.
var errClearLate = errors.New("clearing the memory the last instance left took the whole timeout; the next start goes on with it")

// clearRegion is clearTouched; tests make it slow, as clearing gigabytes
// is.
var clearRegion = clearTouched

// reserveRegion is newRegion; tests make it fail as a system refusing
// the reservation would.
var reserveRegion = newRegion

// put takes back a region get handed out. release: give it back to the
// system now rather than keep it (idle instances retiring, on the
// watchdog's goroutine).
func (p *regionPool) put(r *region, release bool) {
	p.mu.Lock()
	p.out--
	keep := !release && !p.closed && p.out+len(p.spares) < p.max
	if keep {
		p.spares = append(p.spares, r)
	}
	later := !keep && !release && !p.closed
	p.mu.Unlock()
	switch {
	case keep:
	case later:
		p.freeLater([]*region{r})
	default:
		r.free()
	}
}

// freeLater unmaps regions on a goroutine of its own: unmapping what a
// guest touched takes time no deadline can split (3 GiB of 4 KiB pages:
// 402 ms here). Only regions past the pool's size come here, a pool's
// worth at most for each reload, so these goroutines cannot pile up.
func (p *regionPool) freeLater(rs []*region) {
	if len(rs) == 0 {
		return
	}
	p.freeing.Go(func() {
		for _, r := range rs {
			r.free()
		}
	})
}

// close gives the spare regions back, and any put later.
func (p *regionPool) close() {
	p.mu.Lock()
	spares := p.spares
	p.spares = nil
	p.closed = true
	p.mu.Unlock()
	for _, r := range spares {
		r.free()
	}
	p.freeing.Wait()
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
