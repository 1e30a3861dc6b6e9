// SPDX-License-Identifier: Apache-2.0

package coinflip

import (
	"fmt"
	"testing"
)

// TestNameCacheIsAMapThatForgets: a hit is always the value put for that
// exact name, names that differ only in the middle (one hash for all)
// neither mix up nor cost more than probeLimit compares, and the cache
// never holds more than maxCached names.
func TestNameCacheIsAMapThatForgets(t *testing.T) {
	c := &nameCache{}
	want := map[string]string{}
	for i := range 3 * maxCached {
		// Odd names all hash alike: one length, one head, one tail.
		name := fmt.Sprintf("coinflip-%05d-deployment-%06d-pod0", i/64, i)
		if i%2 == 1 {
			name = fmt.Sprintf("coinflip-%06d-deployment-x-pod0", i)
		}
		if _, ok := c.get(name); ok {
			t.Fatalf("%s found before it was put", name)
		}
		svc := fmt.Sprint("svc", i)
		c.put(name, svc)
		want[name] = svc
		if got, ok := c.get(name); !ok || got != svc {
			t.Fatalf("%s: got %q, %v right after putting %q", name, got, ok, svc)
		}
		if c.used > maxCached {
			t.Fatalf("%d names cached, past %d", c.used, maxCached)
		}
	}
	if h := hashName("coinflip-000001-deployment-x-pod0"); h != hashName("coinflip-999999-deployment-x-pod0") {
		t.Fatal("the colliding names do not collide: the test proves less than it says")
	}
	hits := 0
	for name, svc := range want {
		if got, ok := c.get(name); ok {
			hits++
			if got != svc {
				t.Fatalf("%s: got %q, want %q", name, got, svc)
			}
		}
	}
	if hits == 0 {
		t.Fatal("the cache kept nothing")
	}
}
