// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/google/pprof/profile"
)

// TestShare: external code is the guest's wherever it is sampled, samples
// under measured are the host's by their innermost host function, and
// anything else (the GC's workers, the harness) is neither.
func TestShare(t *testing.T) {
	fns := map[string]*profile.Function{}
	loc := func(names ...string) []*profile.Location { // innermost first
		var out []*profile.Location
		for _, n := range names {
			if fns[n] == nil {
				fns[n] = &profile.Function{Name: n}
			}
			out = append(out, &profile.Location{Line: []profile.Line{{Function: fns[n]}}})
		}
		return out
	}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Value: []int64{1, 30}, Location: loc(externalCode, "runtime._System")},
			{Value: []int64{1, 10}, Location: loc("runtime.memmove", hostPkg+"(*editor).commit", hostPkg+"(*Plugin).call", measuredFn, "main.main")},
			{Value: []int64{1, 5}, Location: loc(hostPkg+"hostSelect", measuredFn)},
			{Value: []int64{1, 2}, Location: loc("runtime.mallocgc", measuredFn)},
			{Value: []int64{1, 99}, Location: loc("runtime.gcBgMarkWorker")},
		},
	}
	sh := share(p)
	if sh.guest != 30 || sh.host != 17 || sh.samples != 4 {
		t.Fatalf("guest %d host %d samples %d, want 30, 17 and 4", sh.guest, sh.host, sh.samples)
	}
	want := map[string]int64{"(*editor).commit": 10, "hostSelect": 5, "(outside the host package)": 2}
	for name, ns := range want {
		if sh.byFn[name] != ns {
			t.Errorf("%s: %d ns, want %d (all: %v)", name, sh.byFn[name], ns, sh.byFn)
		}
	}
	if top := sh.top(1); len(top) != 1 || top[0].name != "(*editor).commit" {
		t.Errorf("top(1) = %v, want the commit", top)
	}
}
