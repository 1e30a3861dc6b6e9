// SPDX-License-Identifier: Apache-2.0

package knativehops

import wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"

// nameGroups sorts the spans of a selection by name, so that the filter
// splits each distinct name once and sets its attributes on all the spans
// of that name with one edit each: a batch holds a few names many times
// (broker:default.default, /triggers/<ns>/<trigger>/<uid>), and in a Wasm
// guest splitting a name and staging two edits cost several times the
// lookup here. Names are found by a small hash of their length and a few
// bytes, probed a few slots; past maxGroups names, or a full probe, a span
// is left to the caller one by one, so that a batch of distinct names
// costs little more than not grouping.
type nameGroups struct {
	slot  [groupSlots]uint8 // group+1, 0 for none
	names []string
	sels  []wasmcol.Selection
	rest  []int // the spans no group took
}

const (
	groupSlots  = 128 // a power of two
	maxGroups   = 64
	groupProbes = 4
)

// sort groups sel's spans by name. The names alias the batch's column:
// they are valid until the filter returns.
func (g *nameGroups) sort(t wasmcol.Traces, sel wasmcol.Selection) {
	g.slot = [groupSlots]uint8{}
	g.names, g.sels, g.rest = g.names[:0], g.sels[:0], g.rest[:0]
	for i := range sel.All() {
		name := t.Span(i).Name()
		if k := g.group(name, t); k >= 0 {
			g.sels[k].Add(i)
		} else {
			g.rest = append(g.rest, i)
		}
	}
}

// group is the index of name's group, made if there is room, or -1.
func (g *nameGroups) group(name string, t wasmcol.Traces) int {
	h := uint(len(name)) * 0x9E37
	if len(name) > 0 {
		h += uint(name[0])*31 + uint(name[len(name)-1])*131 + uint(name[len(name)/2])*7
	}
	for p := range uint(groupProbes) {
		s := &g.slot[(h+p)&(groupSlots-1)]
		if *s == 0 {
			if len(g.names) == maxGroups {
				return -1
			}
			g.names = append(g.names, name)
			g.sels = append(g.sels, t.NoSpans())
			*s = uint8(len(g.names))
			return len(g.names) - 1
		}
		if g.names[*s-1] == name {
			return int(*s - 1)
		}
	}
	return -1
}
