// SPDX-License-Identifier: Apache-2.0

// Command guestprofile shows where a filter's time goes when it runs as
// Wasm: the guest's own code against the host functions and the host's work
// around the call, and which functions the guest calls how often. Given
// several modules (the same filter before and after a change), it runs them
// in alternating rounds in one process, so that their figures share the
// machine's conditions. `make guest-profile` runs it; BENCHMARKS.md
// describes the method.
//
//	(cd examples && go run ./internal/guestprofile -filter knative-hops)
//	(cd examples && go run ./internal/guestprofile -filter old.wasm,knative-hops)
//	(cd examples && go run ./internal/guestprofile -filter coinflip -mode counts)
//	(cd examples && go run ./internal/guestprofile -filter knative-hops -mode pprof)
//
// Mode pprof needs no listeners: it samples the process with Go's CPU
// profiler, where compiled guest code, which has no Go frames, shows as
// runtime._ExternalCode. It is the one to trust for the guest's share;
// split mode's listeners cost about as much as the guest takes, and taking
// them out again is only as good as that cost is stable.
//
// Built with -tags perfmap, wazero writes /tmp/perf-<pid>.map, and
// `perf record -e cpu-clock` then attributes samples to guest functions
// (mode run just runs the batches for that).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/internal/guestprof"
	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

func main() {
	filter := flag.String("filter", "knative-hops", "comma-separated built-in examples under examples/ (built first) or .wasm paths")
	config := flag.String("config", "", "guest config as JSON")
	mode := flag.String("mode", "split", "split: guest vs host time per batch; pprof: the same from a CPU profile, without listeners; counts: calls per batch by function; run: just run (for perf)")
	mix := flag.String("mix", "knative", "batch: knative (MixKnative) or all (MixAll)")
	spans := flag.Int("spans", 1000, "spans per batch")
	batches := flag.Int("batches", 500, "batches per module after one warm-up batch (pprof mode: 5000 unless given, for enough samples)")
	rounds := flag.Int("rounds", 10, "rounds the batches are split into, alternating the modules")
	top := flag.Int("top", 40, "functions to list in counts mode, host requests in split mode")
	flag.StringVar(&profileOut, "profile", "", "pprof mode: also write the CPU profile here, for go tool pprof")
	flag.Parse()
	if *mode == "pprof" && !flagGiven("batches") {
		*batches = 5000
	}
	if err := run(strings.Split(*filter, ","), *config, *mode, *mix, *spans, *batches, *rounds, *top); err != nil {
		fmt.Fprintln(os.Stderr, "guestprofile:", err)
		os.Exit(1)
	}
}

// subject is one module under measurement.
type subject struct {
	name   string
	p      *wasmhost.Plugin
	split  *guestprof.Split
	counts *guestprof.Counts
	total  time.Duration
	// best is the least CPU one round took: on a shared machine the
	// quickest round is the steadiest figure for a before/after, where
	// the sum moves with whatever else ran.
	best time.Duration
	// plain runs the same module without listeners, in split mode, to
	// measure what the listeners cost.
	plain      *wasmhost.Plugin
	plainTotal time.Duration
}

func run(filters []string, config, mode, mix string, spans, batches, rounds, top int) error {
	m := fixtures.MixKnative
	if mix == "all" {
		m = fixtures.MixAll
	}
	td := fixtures.Batch(spans, m)
	var cfg []byte
	if config != "" {
		if !json.Valid([]byte(config)) {
			return fmt.Errorf("config is not JSON: %s", config)
		}
		cfg = []byte(config)
	}
	var subjects []*subject
	for _, f := range filters {
		bin, err := module(f)
		if err != nil {
			return err
		}
		s := &subject{name: f}
		ctx := context.Background()
		switch mode {
		case "split":
			ctx, s.split = guestprof.WithSplit(ctx)
		case "counts":
			ctx, s.counts = guestprof.WithCounts(ctx)
		case "run", "pprof":
		default:
			return fmt.Errorf("unknown mode %q", mode)
		}
		// A fresh cache: listeners are compiled into the code.
		s.p, err = wasmhost.New(ctx, wasmhost.Options{Source: f, Module: bin, Config: cfg, PoolSize: 1, Cache: wazero.NewCompilationCache()})
		if err != nil {
			return err
		}
		defer s.p.Close(ctx)
		if err := measured(s.p, copies(td, 1)); err != nil { // warm-up: the first batch grows memory
			return err
		}
		if s.split != nil {
			s.plain, err = wasmhost.New(context.Background(), wasmhost.Options{Source: f, Module: bin, Config: cfg, PoolSize: 1})
			if err != nil {
				return err
			}
			defer s.plain.Close(ctx)
			if err := measured(s.plain, copies(td, 1)); err != nil {
				return err
			}
		}
		if s.split != nil {
			s.split.Reset()
		}
		if s.counts != nil {
			s.counts.Reset()
		}
		subjects = append(subjects, s)
	}
	if mode == "pprof" {
		for _, s := range subjects {
			if err := profiled(s, td, batches); err != nil {
				return err
			}
		}
		return nil
	}
	// CPU time of this thread, not wall time: other work on a shared
	// machine then hardly moves the figures.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	per := max(batches/rounds, 1)
	for range rounds {
		for _, s := range subjects {
			in := copies(td, per)
			start := guestprof.ThreadCPU()
			if err := measured(s.p, in); err != nil {
				return err
			}
			took := guestprof.ThreadCPU() - start
			s.total += took
			if s.best == 0 || took < s.best {
				s.best = took
			}
			if s.plain != nil {
				in := copies(td, per)
				start := guestprof.ThreadCPU()
				if err := measured(s.plain, in); err != nil {
					return err
				}
				s.plainTotal += guestprof.ThreadCPU() - start
			}
		}
	}
	n := float64(per * rounds)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / n }
	for _, s := range subjects {
		fmt.Printf("%s: %d batches of %d spans, %.1f us of CPU per batch (%.1f in the quickest of %d rounds)\n",
			s.name, per*rounds, spans, us(s.total), float64(s.best.Nanoseconds())/1e3/float64(per), rounds)
		pct := func(d time.Duration) float64 { return 100 * d.Seconds() / s.total.Seconds() }
		switch {
		case s.split != nil:
			// The listeners' own cost falls into the guest's share: take
			// it out, as measured on the same module without them.
			over := s.total - s.plainTotal
			g, h, a := s.split.Guest()-over, s.split.Host(), s.total-s.split.Process()
			fmt.Printf("  without listeners %.1f us of CPU per batch; their cost, %.1f us, is left out of the guest's share\n", us(s.plainTotal), us(over))
			pct = func(d time.Duration) float64 { return 100 * d.Seconds() / s.plainTotal.Seconds() }
			fmt.Printf("  guest code      %8.1f us  %3.0f%%\n", us(g), pct(g))
			fmt.Printf("  host functions  %8.1f us  %3.0f%%  (%.1f calls)\n", us(h), pct(h), float64(s.split.HostCalls())/n)
			for _, ht := range s.split.HostTimes() {
				fmt.Printf("    %-28s %8.1f us  (%.1f calls)\n", ht.Name, us(ht.Time), float64(ht.Calls)/n)
			}
			fmt.Printf("  host functions by request, the %d longest:\n", top)
			for _, r := range s.split.Requests()[:min(top, len(s.split.Requests()))] {
				fmt.Printf("    %8.1f us  %5.1f calls  %s\n", us(r.Time), float64(r.Calls)/n, r.Name)
			}
			fmt.Printf("  around the call %8.1f us  %3.0f%%  (pool, call state, applying the edits)\n", us(a), pct(a))
		case s.counts != nil:
			fmt.Printf("  calls per batch (listeners slow the guest down: the time above means nothing)\n")
			for _, c := range s.counts.Top(top) {
				where := "guest"
				if c.Host {
					where = "host"
				}
				fmt.Printf("  %10.1f  %-5s %s\n", float64(c.Calls)/n, where, c.Name)
			}
		}
	}
	if len(subjects) > 1 {
		for _, s := range subjects[1:] {
			fmt.Printf("%s / %s: %.2fx the time per batch (%.2fx in the quickest rounds)", s.name, subjects[0].name,
				s.total.Seconds()/subjects[0].total.Seconds(), s.best.Seconds()/subjects[0].best.Seconds())
			if s.split != nil {
				guest := func(s *subject) float64 { return (s.split.Guest() - (s.total - s.plainTotal)).Seconds() }
				fmt.Printf(" (%.2fx without listeners), %.2fx the guest code", s.plainTotal.Seconds()/subjects[0].plainTotal.Seconds(), guest(s)/guest(subjects[0]))
			}
			fmt.Println()
		}
	}
	return nil
}

func copies(td ptrace.Traces, n int) []ptrace.Traces {
	out := make([]ptrace.Traces, n)
	for i := range out {
		out[i] = ptrace.NewTraces()
		td.CopyTo(out[i])
	}
	return out
}

// measured runs the batches; it is kept out of line so that a profiler can
// single it out.
//
//go:noinline
func measured(p *wasmhost.Plugin, batches []ptrace.Traces) error {
	for _, td := range batches {
		if _, err := p.ProcessTraces(context.Background(), td); err != nil {
			return err
		}
	}
	return nil
}

// module returns the Wasm bytes of a built-in example, built now with the
// Makefile's command, or of a .wasm file.
func module(filter string) ([]byte, error) {
	if filepath.Ext(filter) == ".wasm" {
		return os.ReadFile(filter)
	}
	dir := filter // examples/ is its own module: this runs from there
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		return nil, fmt.Errorf("no filter at examples/%s (run from examples/, or with make guest-profile): %w", dir, err)
	}
	out := filepath.Join(os.TempDir(), "guestprofile-"+filter+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir, cmd.Stderr = dir, os.Stderr
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building %s: %w", dir, err)
	}
	return os.ReadFile(out)
}
