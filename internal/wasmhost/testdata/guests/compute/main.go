// SPDX-License-Identifier: Apache-2.0

// Command compute is a filter that does nothing to batches but exports
// `compute`, a stretch of the kind of Go a filter runs (string tests, a
// map, a sort, small calls), so that BenchmarkMeterOverhead can time guest
// code alone, with and without the host's metering.
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o compute.wasm .
package main

import (
	"sort"
	"strconv"
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type noop struct{}

func (noop) ProcessTraces(wasmcol.Traces) error { return nil }

func init() { wasmcol.Register(noop{}) }

func main() {}

var names = func() []string {
	var out []string
	for i := 0; i < 1000; i++ {
		switch i % 4 {
		case 0:
			out = append(out, "broker:b"+strconv.Itoa(i)+".default")
		case 1:
			out = append(out, "trigger:t"+strconv.Itoa(i)+".ns")
		case 2:
			out = append(out, "/triggers/ns/t/"+strconv.Itoa(i))
		default:
			out = append(out, "GET")
		}
	}
	return out
}()

// split is a small function the compiler does not inline away.
//
//go:noinline
func split(s string) (string, string) {
	if dot := strings.LastIndexByte(s, '.'); dot > 0 {
		return s[:dot], s[dot+1:]
	}
	return s, ""
}

//go:wasmexport compute
func compute() int32 {
	seen := map[string]int{}
	n := 0
	for _, s := range names {
		switch {
		case strings.HasPrefix(s, "broker:"), strings.HasPrefix(s, "trigger:"):
			name, ns := split(s[strings.IndexByte(s, ':')+1:])
			seen[ns]++
			n += len(name)
		case strings.HasPrefix(s, "/triggers/"):
			n += len(strings.Split(s, "/"))
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return int32(n + len(keys))
}
