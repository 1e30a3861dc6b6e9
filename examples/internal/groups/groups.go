// SPDX-License-Identifier: Apache-2.0

// Package groups sorts the items of a selection by a string, such as a
// span's name or a resource's service.name, so that a filter does what a
// string calls for once per distinct string and edits all its items with
// one edit each. A batch holds a few such strings many times, and in a
// Wasm guest working out an edit and staging it per item costs several
// times the lookup here.
package groups

import (
	"iter"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// ByString holds the groups of the last Sort, for reuse across batches.
// Strings are found by a small hash of their length and three bytes,
// probed a few slots; past MaxGroups strings, or a full probe, an item is
// left in Rest for the caller to handle on its own, so that a batch of
// distinct strings costs little more than not grouping.
type ByString struct {
	// Keys are the distinct strings, Items the items of each, in order.
	Keys  []string
	Items []wasmcol.Selection
	// Rest is the items no group took, in order.
	Rest []int
	slot [slots]uint8 // group+1, 0 for none
}

const (
	slots = 128 // a power of two
	// MaxGroups is the most groups one Sort makes. Each group is a
	// selection, a bit per item of the table held by the batch: 32 of
	// them cost 4 bytes an item.
	MaxGroups = 32
	probes    = 4
)

// Sort groups items, indexes of one table in order, by key(i); empty
// makes an empty selection of that table. The keys are kept as key
// returns them: a key aliasing a column is valid until the filter
// returns.
func (g *ByString) Sort(items iter.Seq[int], key func(i int) string, empty func() wasmcol.Selection) {
	g.slot = [slots]uint8{}
	g.Keys, g.Items, g.Rest = g.Keys[:0], g.Items[:0], g.Rest[:0]
	for i := range items {
		if k := g.group(key(i), empty); k >= 0 {
			g.Items[k].Add(i)
		} else {
			g.Rest = append(g.Rest, i)
		}
	}
}

// group is the index of s's group, made if there is room, or -1.
func (g *ByString) group(s string, empty func() wasmcol.Selection) int {
	h := uint(len(s)) * 0x9E37
	if len(s) > 0 {
		h += uint(s[0])*31 + uint(s[len(s)-1])*131 + uint(s[len(s)/2])*7
	}
	for p := range uint(probes) {
		at := &g.slot[(h+p)&(slots-1)]
		if *at == 0 {
			if len(g.Keys) == MaxGroups {
				return -1
			}
			g.Keys = append(g.Keys, s)
			g.Items = append(g.Items, empty())
			*at = uint8(len(g.Keys))
			return len(g.Keys) - 1
		}
		if g.Keys[*at-1] == s {
			return int(*at - 1)
		}
	}
	return -1
}
