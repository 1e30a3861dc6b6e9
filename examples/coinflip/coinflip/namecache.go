// SPDX-License-Identifier: Apache-2.0

package coinflip

// nameCache maps service names to what they become, as a Go map would,
// but cheaper in a Wasm guest: Go's map hashes strings byte by byte there
// (Wasm has no AES instructions for its usual hash), which was 43% of the
// filter's guest time. Its hash reads a name's length and its first and
// last eight bytes, the part of a pod name that tells pods apart, and a
// lookup compares the whole name. A name probes at most probeLimit slots,
// so that names a client makes collide cost a few compares each, not a
// scan; past the limit, or once full, entries are replaced, which only
// costs the regexp again.
type nameCache struct {
	slots [cacheSlots]cacheEntry
	used  int
}

type cacheEntry struct {
	name, svc string
	set       bool
}

const (
	cacheSlots = 1 << 13 // a power of two
	maxCached  = cacheSlots / 2
	probeLimit = 8
)

func (c *nameCache) get(name string) (string, bool) {
	for i, h := 0, hashName(name); i < probeLimit; i++ {
		e := &c.slots[(h+uint64(i))&(cacheSlots-1)]
		if !e.set {
			return "", false
		}
		if e.name == name {
			return e.svc, true
		}
	}
	return "", false
}

// put keeps name's svc; name must not be in the cache.
func (c *nameCache) put(name, svc string) {
	if c.used >= maxCached {
		*c = nameCache{}
	}
	h := hashName(name)
	for i := 0; i < probeLimit; i++ {
		if e := &c.slots[(h+uint64(i))&(cacheSlots-1)]; !e.set {
			*e = cacheEntry{name, svc, true}
			c.used++
			return
		}
	}
	c.slots[h&(cacheSlots-1)] = cacheEntry{name, svc, true} // replaced
}

func hashName(s string) uint64 {
	var head, tail uint64
	for i := 0; i < 8 && i < len(s); i++ {
		head |= uint64(s[i]) << (8 * i)
		tail |= uint64(s[len(s)-1-i]) << (8 * i)
	}
	h := head*0x9E3779B97F4A7C15 ^ tail*0xC2B2AE3D27D4EB4F ^ uint64(len(s))
	return h ^ h>>29
}
