// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const (
	// externalCode is where Go's profiler puts a sample whose PC is
	// outside Go's text: in this process, code wazero compiled.
	externalCode = "runtime._ExternalCode"
	// measuredFn marks the samples of the batches themselves.
	measuredFn = "main.measured"
	hostPkg    = "github.com/wasmcol/wasmcol/internal/wasmhost."
)

func flagGiven(name string) (given bool) {
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// profileOut is where -profile writes the raw CPU profile, if anywhere.
var profileOut string

// chunk is how many batches are copied at once: few enough to stay in
// memory the process has touched before.
const chunk = 64

// profiled runs batches through s's plugin under Go's CPU profiler and
// prints the guest's share of the Wasm side, and the Go side by the
// innermost host function each sample is in.
func profiled(s *subject, td ptrace.Traces, batches int) error {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return err
	}
	// The batches are copied a chunk at a time, outside measured, whose
	// samples alone count: copies of all of them at once held gigabytes
	// live, so that every allocation the edits made touched fresh pages,
	// and a page fault on a new VM costs more than the edit (editable
	// measured 1.2 ms a batch that way against under 0.3).
	var err error
	for left := batches; left > 0 && err == nil; left -= chunk {
		err = measured(s.p, copies(td, min(left, chunk)))
	}
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if profileOut != "" {
		if err := os.WriteFile(profileOut, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	prof, err := profile.Parse(&buf)
	if err != nil {
		return err
	}
	sh := share(prof)
	total := sh.guest + sh.host
	if total == 0 {
		return fmt.Errorf("%s: the profile holds no samples of the batches", s.name)
	}
	us := func(n int64) float64 { return float64(n) / 1e3 / float64(batches) }
	pct := func(n int64) float64 { return 100 * float64(n) / float64(total) }
	fmt.Printf("%s: %d batches of %d spans, %.1f us of CPU per batch on the Wasm side (%d samples)\n",
		s.name, batches, td.SpanCount(), us(total), sh.samples)
	fmt.Printf("  guest code      %8.1f us  %3.0f%%\n", us(sh.guest), pct(sh.guest))
	fmt.Printf("  host (Go)       %8.1f us  %3.0f%%, by the innermost host function:\n", us(sh.host), pct(sh.host))
	for _, f := range sh.top(15) {
		fmt.Printf("    %-40s %8.1f us  %3.0f%%\n", f.name, us(f.ns), pct(f.ns))
	}
	return nil
}

// shares is a profile's CPU time, in ns, on each side of the guest boundary.
type shares struct {
	guest, host int64
	samples     int
	byFn        map[string]int64
}

type fnTime struct {
	name string
	ns   int64
}

// share splits the samples: external code is the guest's (the profiler
// keeps no Go frames above it, so it cannot be tied to a call; in this
// process nothing else runs outside Go), and the samples under measured
// are the host's, each put under the innermost wasmhost function on its
// stack, or "(outside the host package)".
func share(p *profile.Profile) shares {
	sh := shares{byFn: map[string]int64{}}
	cpu := len(p.SampleType) - 1 // the last value is CPU ns
	for _, smp := range p.Sample {
		ns := smp.Value[cpu]
		var names []string
		for _, loc := range smp.Location {
			for _, ln := range loc.Line { // innermost first
				if ln.Function != nil {
					names = append(names, ln.Function.Name)
				}
			}
		}
		if len(names) > 0 && names[0] == externalCode {
			sh.guest += ns
			sh.samples++
			continue
		}
		in := false
		for _, n := range names {
			in = in || n == measuredFn
		}
		if !in {
			continue
		}
		sh.host += ns
		sh.samples++
		where := "(outside the host package)"
		for _, n := range names {
			if strings.HasPrefix(n, hostPkg) {
				where = strings.TrimPrefix(n, hostPkg)
				break
			}
		}
		sh.byFn[where] += ns
	}
	return sh
}

func (sh shares) top(n int) []fnTime {
	var out []fnTime
	for name, ns := range sh.byFn {
		out = append(out, fnTime{name, ns})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ns > out[j].ns })
	return out[:min(n, len(out))]
}
