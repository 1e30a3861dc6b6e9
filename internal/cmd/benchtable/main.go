// SPDX-License-Identifier: Apache-2.0

// Command benchtable reads `go test -bench` output on stdin and prints a
// table of every benchmark, then one line per comparison:
//
//	name: R.RRx (a X/s vs b Y/s)
//
// A comparison is a benchmark named BenchmarkCmp_<name> with two or more
// sub-benchmarks, the subject first and the baseline second, each
// reporting an items/s metric; R is the subject's rate over the baseline's.
// Each further sub-benchmark is another baseline for the same subject,
// printed as <name><Sub> (BenchmarkCmp_KnativeHops/native gives
// "KnativeHopsNative: R.RRx (wasm X/s vs native Y/s)").
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

type result struct {
	name    string
	metrics map[string]float64
	order   []string
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader) []result {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		res := result{name: procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), ""), metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res.metrics[f[i+1]] = v
			res.order = append(res.order, f[i+1])
		}
		out = append(out, res)
	}
	return out
}

// human prints a rate with a k/M suffix.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func run(in io.Reader, w io.Writer) int {
	results := parse(in)
	if len(results) == 0 {
		fmt.Fprintln(w, "benchtable: no benchmark results on stdin")
		return 1
	}
	fmt.Fprintf(w, "\n%-48s %14s %14s %12s %10s\n", "benchmark", "ns/op", "items/s", "B/op", "allocs/op")
	for _, r := range results {
		fmt.Fprintf(w, "%-48s %14.0f %14s %12.0f %10.0f", r.name, r.metrics["ns/op"], human(r.metrics["items/s"]), r.metrics["B/op"], r.metrics["allocs/op"])
		for _, unit := range r.order {
			switch unit {
			case "ns/op", "items/s", "B/op", "allocs/op":
			default:
				fmt.Fprintf(w, "  %g %s", r.metrics[unit], unit)
			}
		}
		fmt.Fprintln(w)
	}
	groups := map[string][]result{}
	var names []string
	for _, r := range results {
		base, sub, ok := strings.Cut(r.name, "/")
		if !ok || !strings.HasPrefix(base, "Cmp_") {
			continue
		}
		name := strings.TrimPrefix(base, "Cmp_")
		if _, seen := groups[name]; !seen {
			names = append(names, name)
		}
		r.name = sub
		groups[name] = append(groups[name], r)
	}
	fmt.Fprintln(w)
	for _, name := range names {
		g := groups[name]
		if len(g) < 2 || g[0].metrics["items/s"] == 0 || g[1].metrics["items/s"] == 0 {
			fmt.Fprintf(w, "%s: incomplete (want two sub-benchmarks reporting items/s)\n", name)
			continue
		}
		a := g[0]
		for i, b := range g[1:] {
			label := name
			if i > 0 {
				label += strings.ToUpper(b.name[:1]) + b.name[1:]
			}
			if b.metrics["items/s"] == 0 {
				fmt.Fprintf(w, "%s: incomplete (%s reports no items/s)\n", label, b.name)
				continue
			}
			fmt.Fprintf(w, "%s: %.2fx (%s %s/s vs %s %s/s)\n", label, a.metrics["items/s"]/b.metrics["items/s"],
				a.name, human(a.metrics["items/s"]), b.name, human(b.metrics["items/s"]))
		}
	}
	return 0
}

func main() { os.Exit(run(os.Stdin, os.Stdout)) }
