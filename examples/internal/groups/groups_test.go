// SPDX-License-Identifier: Apache-2.0

package groups

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/spancheck"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// labeller marks every span with its group's key and size, or as left
// over, through the same edits a filter makes.
type labeller struct{ g ByString }

func (l *labeller) ProcessTraces(t wasmcol.Traces) error {
	l.g.Sort(t.SpansWhere(wasmcol.NameHasPrefix("")).All(), func(i int) string { return t.Span(i).Name() }, t.NoSpans)
	for k, key := range l.g.Keys {
		l.g.Items[k].SetAttr("key", wasmcol.Str(key))
		l.g.Items[k].SetAttr("size", wasmcol.Int(int64(l.g.Items[k].Len())))
	}
	for _, i := range l.g.Rest {
		t.Span(i).SetAttr("rest", wasmcol.Bool(true))
	}
	return nil
}

// TestSortGroupsEveryItemOnce: on batches of few to many distinct names,
// each span is in exactly one group, the one of its own name, whose size
// is the number of spans of that name, or else left over; and left over
// only once the groups are full or a name's probes are taken.
func TestSortGroupsEveryItemOnce(t *testing.T) {
	for _, distinct := range []int{1, 5, 40, 200} {
		rnd := rand.New(rand.NewPCG(uint64(distinct), 1))
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		count := map[string]int{}
		for i := range 600 {
			s := spans.AppendEmpty()
			s.SetTraceID([16]byte{1})
			s.SetSpanID([8]byte{0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
			name := fmt.Sprintf("n%d", rnd.IntN(distinct))
			s.SetName(name)
			count[name]++
		}
		raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		_, out := spancheck.Run(t, &labeller{}, "", raw)
		groupsSeen, rest := map[string]bool{}, 0
		for _, s := range out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			key, inGroup := s.Attributes().Get("key")
			_, left := s.Attributes().Get("rest")
			switch {
			case inGroup == left:
				t.Fatalf("%d names: span %q grouped %v, left over %v", distinct, s.Name(), inGroup, left)
			case left:
				rest++
			case key.Str() != s.Name():
				t.Fatalf("%d names: span %q in the group of %q", distinct, s.Name(), key.Str())
			default:
				size, _ := s.Attributes().Get("size")
				if int(size.Int()) != count[s.Name()] {
					// A name's spans all join its group once it has one.
					t.Fatalf("%d names: group %q of %d spans, %d have the name", distinct, s.Name(), size.Int(), count[s.Name()])
				}
				groupsSeen[s.Name()] = true
			}
		}
		if len(groupsSeen) > MaxGroups || (distinct <= 5 && rest > 0) || (distinct > MaxGroups && rest == 0) {
			t.Fatalf("%d names: %d groups, %d spans left over", distinct, len(groupsSeen), rest)
		}
	}
}
