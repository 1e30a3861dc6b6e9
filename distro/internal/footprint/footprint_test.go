// SPDX-License-Identifier: Apache-2.0

// Package footprint measures what bin/wasmcol costs standing still: how long
// it takes from exec to a healthy health check, and its resident memory
// once idle, for configurations with and without Wasm filters, cold (an
// empty compilation cache) and warm, at GOMAXPROCS 2 and 64. `make bench`
// runs it and prints the results with the other benchmarks.
//
// It is a benchmark, not a test: every figure depends on the machine.
package footprint

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// repoRoot is where the benchmark finds bin/ and distro/.
const repoRoot = "../../.."

// idle is how long a started Collector sits before its memory is read:
// long enough for start-up garbage to be collected and returned.
const idle = 5 * time.Second

// noWasm is the Collector without filters: the baseline the default
// config is compared with.
const noWasm = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
processors:
  batch: {}
exporters:
  debug: {}
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`

// oneFilter is noWasm with one Go filter, the built-in knative-hops, in a
// pool of at most poolSize instances (the pool starts with one).
func oneFilter(poolSize int) string {
	return strings.Replace(strings.Replace(noWasm, "  batch: {}\n",
		fmt.Sprintf("  batch: {}\n  wasm:\n    module: builtin:knative-hops\n    pool_size: %d\n", poolSize), 1),
		"processors: [batch]", "processors: [wasm, batch]", 1)
}

// BenchmarkFootprint reports, per configuration, ready-ms (exec to a 200
// from the health check) and rss-MiB (resident memory after idle).
func BenchmarkFootprint(b *testing.B) {
	bin := binary(b)
	noWasmFile := filepath.Join(b.TempDir(), "no-wasm.yaml")
	if err := os.WriteFile(noWasmFile, []byte(noWasm), 0o600); err != nil {
		b.Fatal(err)
	}
	defaultFile, err := filepath.Abs(filepath.Join(repoRoot, "distro", "config.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	oneFile, poolFile := filepath.Join(b.TempDir(), "one.yaml"), filepath.Join(b.TempDir(), "pool8.yaml")
	for file, text := range map[string]string{oneFile: oneFilter(1), poolFile: oneFilter(8)} {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, config string
		procs        int
		warm         bool
	}{
		{"no_wasm/GOMAXPROCS=2", noWasmFile, 2, false},
		{"one_filter/pool_size=1/cold", oneFile, 2, false},
		{"one_filter/pool_size=8/cold", poolFile, 2, false},
		{"default/GOMAXPROCS=2/cold", defaultFile, 2, false},
		{"default/GOMAXPROCS=2/warm", defaultFile, 2, true},
		{"default/GOMAXPROCS=16/cold", defaultFile, 16, false},
		{"default/GOMAXPROCS=64/cold", defaultFile, 64, false},
		{"default/GOMAXPROCS=64/warm", defaultFile, 64, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ready, rss float64
			for i := 0; i < b.N; i++ {
				cache := b.TempDir()
				if c.warm { // a first start fills the cache
					start(b, bin, c.config, c.procs, cache, false)
				}
				r, m := start(b, bin, c.config, c.procs, cache, true)
				ready += r.Seconds() * 1000
				rss += m
			}
			b.ReportMetric(ready/float64(b.N), "ready-ms")
			b.ReportMetric(rss/float64(b.N), "rss-MiB")
		})
	}
}

// start runs bin until its health check answers, optionally waits idle and
// reads its RSS, then stops it. Every listener gets a free loopback port.
func start(b *testing.B, bin, config string, procs int, cache string, measure bool) (time.Duration, float64) {
	b.Helper()
	ports := freePorts(b, 4)
	health := ports[0]
	args := []string{"--config", config,
		"--set=extensions.health_check.endpoint=" + health,
		"--set=receivers.otlp.protocols.grpc.endpoint=" + ports[1],
		"--set=service.telemetry.metrics.level=none",
	}
	if strings.HasSuffix(config, "config.yaml") {
		args = append(args, "--set=receivers.otlp.protocols.http.endpoint="+ports[2],
			"--set=receivers.zipkin.endpoint="+ports[3],
			"--set=receivers.cloudevents.endpoint="+freePorts(b, 1)[0])
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs), "XDG_CACHE_HOME="+cache)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	url := "http://" + health + "/"
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(began) > 2*time.Minute {
			b.Fatalf("not ready after 2 minutes; output:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ready := time.Since(began)
	if !measure {
		return ready, 0
	}
	time.Sleep(idle)
	return ready, rssMiB(b, cmd.Process.Pid)
}

func rssMiB(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func binary(b *testing.B) string {
	path := os.Getenv("WASMCOL_BIN")
	if path == "" {
		path = filepath.Join(repoRoot, "bin", "wasmcol")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		b.Skipf("no wasmcol binary (%v): run `make distro`, or set WASMCOL_BIN", err)
	}
	return abs
}

func freePorts(b *testing.B, n int) []string {
	addrs := make([]string, n)
	ls := make([]net.Listener, n)
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ls[i], addrs[i] = l, l.Addr().String()
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return addrs
}
