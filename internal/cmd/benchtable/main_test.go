// SPDX-License-Identifier: Apache-2.0

package main

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	in := `goos: linux
BenchmarkCmp_BrokerTag/wasm-2         	    2197	   1122955 ns/op	    890702 items/s	   90759 B/op	     269 allocs/op
BenchmarkCmp_BrokerTag/ottl-2         	    4526	    614521 ns/op	   1628077 items/s	  122184 B/op	    2255 allocs/op
BenchmarkCmp_BrokerTag/native-2       	    9000	    200000 ns/op	   2226756 items/s	  100000 B/op	    2000 allocs/op
BenchmarkNoopCall-2                   	  524226	      5362 ns/op	     806 B/op	      19 allocs/op
BenchmarkCmp_Half/a-2   1  1 ns/op
PASS`
	var out strings.Builder
	if rc := run(strings.NewReader(in), &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	got := out.String()
	for _, want := range []string{
		"BrokerTag: 0.55x (wasm 890.7k/s vs ottl 1.63M/s)",
		"BrokerTagNative: 0.40x (wasm 890.7k/s vs native 2.23M/s)",
		"NoopCall", "5362",
		"Half: incomplete",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestNoInput(t *testing.T) {
	var out strings.Builder
	if run(strings.NewReader("PASS\n"), &out) == 0 {
		t.Fatal("want failure on empty input")
	}
}
