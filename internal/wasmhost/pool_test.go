// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
)

// TestPoolConcurrent drives one plugin from more callers than it has
// instances. Each caller sends batches with its own span names and checks
// that what comes back is its own batch, edited: a mix-up between
// instances' call states would show as a foreign or unedited span.
func TestPoolConcurrent(t *testing.T) {
	p := newPlugin(t, "tagger", 2)
	const callers, rounds = 6, 60
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				td := ptrace.NewTraces()
				spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
				// Batches long enough that callers overlap: the pool starts
				// one instance and grows only when a caller finds every live
				// one busy.
				for i := 0; i < 500; i++ {
					spans.AppendEmpty().SetName(fmt.Sprintf("broker:c%d.r%d.%d", c, r, i))
				}
				out, err := p.ProcessTraces(context.Background(), td)
				if err != nil {
					errs <- err
					return
				}
				got := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
				for i := 0; i < got.Len(); i++ {
					s := got.At(i)
					v, ok := s.Attributes().Get("x")
					if want := fmt.Sprintf("broker:c%d.r%d.%d", c, r, i); s.Name() != want || !ok || v.Str() != "y" {
						errs <- fmt.Errorf("caller %d round %d span %d: got %q x=%q, want %q tagged", c, r, i, s.Name(), v.Str(), want)
						return
					}
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := p.LiveInstances(); n != 2 {
		t.Errorf("live instances %d, want the pool grown to its size, 2", n)
	}
}

// TestPoolConcurrentLargeBatches mixes batch sizes so that instances'
// reused buffers grow and shrink under concurrent use.
func TestPoolConcurrentLargeBatches(t *testing.T) {
	p := newPlugin(t, "editor", 2)
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for r := 0; r < 10; r++ {
				n := 10 + (c*r*997)%5000
				in := benchdata.RandomTraces(uint64(c*100+r), n)
				want := in.SpanCount() - countEvery8th(in)
				out, err := p.ProcessTraces(context.Background(), in)
				if err != nil {
					t.Error(err)
					return
				}
				if out.SpanCount() != want {
					t.Errorf("caller %d round %d: %d spans out, want %d", c, r, out.SpanCount(), want)
				}
			}
		}(c)
	}
	wg.Wait()
}

// countEvery8th is how many spans the editor drops (index%8 == 5).
func countEvery8th(td ptrace.Traces) int {
	n := td.SpanCount()
	return n/8 + map[bool]int{true: 1, false: 0}[n%8 > 5]
}
