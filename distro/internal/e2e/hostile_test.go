// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/wasmcol/wasmcol/internal/guestbuild"
)

// hostileDir holds the hostile guests the wasm processor's unit tests run
// (processors/wasmprocessor/testdata); this test runs some of them in the
// real binary.
var hostileDir = filepath.Join(repoRoot, "processors", "wasmprocessor", "testdata")

// hostileWAT assembles a hostile WAT module with the command on the
// "Build:" line of its header (some need wat2wasm --no-check).
func hostileWAT(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(hostileDir, "wat", "hostile", name+".wat")
	text, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var build []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		if cmd, ok := strings.CutPrefix(sc.Text(), ";; Build: "); ok {
			build = strings.Fields(cmd)
			break
		}
	}
	if len(build) == 0 || build[0] != "wat2wasm" {
		t.Fatalf("%s: no ';; Build: wat2wasm ...' line in the header", src)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name+".wat"), text, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(build[0], build[1:]...)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s (run `make tools` for wat2wasm)", strings.Join(build, " "), err, msg)
	}
	return filepath.Join(dir, name+".wasm")
}

func hostileGo(t *testing.T, name string) string {
	t.Helper()
	return guestbuild.Go(t, filepath.Join(hostileDir, "guests", name))
}

// hostileProc is one wasm processor of the hostile pipeline and the
// failures, by kind, each attack batch must cost it.
type hostileProc struct {
	id       string
	conf     map[string]any
	perBatch map[string]int
	// first, when set, replaces perBatch for the first attack batch.
	first map[string]int
}

// TestHostileGuestsInTheBinary runs bin/wasmcol with a pipeline of hostile
// guests, one processor each, all with on_error: pass, between an OTLP
// receiver and the test's OTLP sink, and sends traces with the
// OpenTelemetry SDK. A batch of three or more spans makes every guest
// attack; a one-span batch gets sandbox.ok=true from each of them. While
// it runs, the health check must answer 200 every time it is asked; the
// attack batches must arrive exactly as sent and the good one with the
// guests' mark; the Collector's own Prometheus endpoint must count each
// processor's failures by kind; the process's peak RSS must stay under
// its bound; and SIGTERM, sent while guests are in the middle of an
// attack, must stop it promptly and cleanly.
func TestHostileGuestsInTheBinary(t *testing.T) {
	procs := []hostileProc{
		{id: "wasm/call_tree", conf: map[string]any{"module": hostileWAT(t, "call_tree"), "memory_limit": 16},
			perBatch: map[string]int{"timeout": 1}},
		{id: "wasm/deep_recursion", conf: map[string]any{"module": hostileWAT(t, "deep_recursion"), "memory_limit": 16},
			perBatch: map[string]int{"trap": 1}},
		{id: "wasm/fill_loop", conf: map[string]any{"module": hostileWAT(t, "fill_loop"), "memory_limit": 64},
			perBatch: map[string]int{"timeout": 1}},
		{id: "wasm/fd_write", conf: map[string]any{"module": hostileWAT(t, "fd_write_iovecs"), "memory_limit": 32},
			perBatch: map[string]int{"timeout": 1}},
		// The first attack leaves a poison in the key-value store and
		// traps; the instance that replaces it, inside the next batch,
		// loops in its start section.
		{id: "wasm/start_poisoned", conf: map[string]any{"module": hostileWAT(t, "start_poisoned"), "memory_limit": 16, "config": map[string]any{"p": "s"}},
			first: map[string]int{"trap": 1}, perBatch: map[string]int{"timeout": 1}},
		{id: "wasm/edits", conf: map[string]any{"module": hostileWAT(t, "edits_400k"), "memory_limit": 16, "config": map[string]any{"n": "1"}},
			perBatch: map[string]int{"guest": 1}},
		{id: "wasm/kv", conf: map[string]any{"module": hostileWAT(t, "kv_fill_rewrite"), "memory_limit": 16},
			perBatch: map[string]int{"timeout": 1}},
		{id: "wasm/log_forge", conf: map[string]any{"module": hostileWAT(t, "log_forge"), "memory_limit": 16},
			perBatch: map[string]int{"guest": 1}},
		{id: "wasm/go_sleep", conf: map[string]any{"module": hostileGo(t, "hostilego"), "memory_limit": 32, "config": map[string]any{"attack": "sleep"}},
			perBatch: map[string]int{"timeout": 1}},
		{id: "wasm/otlp_flat", conf: map[string]any{"module": hostileGo(t, "otlpbomb"), "memory_limit": 64, "config": map[string]any{"shape": "flat"},
			"timeout": "3s"}, perBatch: map[string]int{"guest": 1}},
	}
	const attacks = 2

	sink := startOTLPSink(t)
	ports := freePorts(t, 3)
	otlpAddr, healthAddr, metricsAddr := ports[0], ports[1], ports[2]
	processors := map[string]any{}
	var ids []any
	for _, p := range procs {
		conf := map[string]any{"on_error": "pass", "pool_size": 1, "timeout": "300ms", "cache_dir": wasmCacheDir}
		for k, v := range p.conf {
			conf[k] = v
		}
		processors[p.id] = conf
		ids = append(ids, p.id)
	}
	host, port, _ := strings.Cut(metricsAddr, ":")
	config := writeYAML(t, t.TempDir(), "hostile.yaml", map[string]any{
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"grpc": map[string]any{"endpoint": otlpAddr},
		}}},
		"processors": processors,
		"exporters": map[string]any{"otlp_grpc": map[string]any{
			"endpoint": sink.Addr, "tls": map[string]any{"insecure": true},
		}},
		"extensions": map[string]any{"health_check": map[string]any{"endpoint": healthAddr}},
		"service": map[string]any{
			"extensions": []any{"health_check"},
			"telemetry": map[string]any{
				// Every failure is logged once: the log counts them.
				"logs": map[string]any{"sampling": map[string]any{"enabled": false}},
				"metrics": map[string]any{"level": "detailed", "readers": []any{
					map[string]any{"pull": map[string]any{"exporter": map[string]any{"prometheus": map[string]any{
						"host": host, "port": mustAtoi(t, port),
					}}}},
				}},
			},
			"pipelines": map[string]any{"traces": map[string]any{
				"receivers": []any{"otlp"}, "processors": ids, "exporters": []any{"otlp_grpc"},
			}},
		},
	})
	col := startCollector(t, healthAddr, nil, config)
	health := watchHealth(col)

	// The good batch first, then the attack batches, then a good batch
	// again: the guests still work after their faults.
	b := &otlpTrace{base: time.Now().Add(-time.Minute)}
	svc := newOTelService(t, grpcProtocol, otlpAddr, map[string]string{"service.name": "e2e-hostile"})
	good := func(name string) {
		b.add(svc, ospan{name: name, kind: trace.SpanKindServer, dur: 5 * ms,
			attrs: []attribute.KeyValue{attribute.String("http.route", "/good")}, promised: map[string]any{"sandbox.ok": true}})
		flushAll(t, svc)
	}
	var attackSpans []wantSpan
	good("good-before")
	for i := 0; i < attacks; i++ {
		from := len(b.want)
		root := b.add(svc, ospan{name: "attack", kind: trace.SpanKindServer, dur: 20 * ms,
			attrs: []attribute.KeyValue{attribute.String("http.route", "/attack"), attribute.Int("attempt", i)}, absent: []string{"sandbox.ok"}})
		for _, name := range []string{"child-1", "child-2"} {
			b.add(svc, ospan{parent: root, name: name, kind: trace.SpanKindClient, at: ms, dur: 5 * ms,
				attrs: []attribute.KeyValue{attribute.String("peer.service", name)}, absent: []string{"sandbox.ok"}})
		}
		began := time.Now()
		flushAll(t, svc)
		t.Logf("attack batch %d went through the pipeline in %v", i+1, time.Since(began))
		attackSpans = append(attackSpans, b.want[from:]...)
	}
	good("good-after")
	for i := range b.want {
		b.want[i].TraceState = "" // no sampler in this pipeline
	}
	awaitSpans(t, sink, b.want, 30*time.Second)
	checkSpans(t, sink, b.want)
	requireExactAttributes(t, sink, attackSpans)

	// Failures by kind: the totals from the Collector's own metrics
	// endpoint, which does not tell the processors apart (their series
	// carry no component ID), and per processor from the Collector's log,
	// where each failure is a "wasm filter failed" line naming the module.
	want := map[string]map[string]int{}
	total := map[string]int{}
	for _, p := range procs {
		counts := map[string]int{}
		for i := 0; i < attacks; i++ {
			per := p.perBatch
			if i == 0 && p.first != nil {
				per = p.first
			}
			for k, n := range per {
				counts[k] += n
				total[k] += n
			}
		}
		want[p.conf["module"].(string)] = counts
	}
	if got := scrapeFailures(t, "http://"+metricsAddr+"/metrics"); fmt.Sprint(got) != fmt.Sprint(total) {
		t.Errorf("otelcol_processor_wasm_failures by kind: got %v, want %v", got, total)
	}
	if got := loggedFailures(t, col.out.String()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failures logged by module and kind:\n got %v\nwant %v", got, want)
	}

	// The guest's forged text reached the log only escaped.
	requireNoForgedOutput(t, col.out.String())

	// SIGTERM while an attack batch is inside the guests.
	inflight := newOTelService(t, grpcProtocol, otlpAddr, map[string]string{"service.name": "e2e-hostile-inflight"})
	root := b.add(inflight, ospan{name: "attack", kind: trace.SpanKindServer, dur: 20 * ms})
	b.add(inflight, ospan{parent: root, name: "child-1", kind: trace.SpanKindClient, at: ms, dur: 5 * ms})
	b.add(inflight, ospan{parent: root, name: "child-2", kind: trace.SpanKindClient, at: ms, dur: 5 * ms})
	go func() { _ = inflight.tp.ForceFlush(context.Background()) }()
	time.Sleep(signalSettle + 500*time.Millisecond)
	peak := procPeakRSS(t, col.cmd.Process.Pid)
	health.stop(t)
	began := time.Now()
	col.stop()
	took := time.Since(began)
	t.Logf("peak RSS %d MiB; SIGTERM to exit %v", peak>>20, took)
	if took > 10*time.Second {
		t.Errorf("wasmcol took %v to exit after SIGTERM with guests mid-attack, want under 10s", took)
	}
	// Each processor has one instance, whose linear memory may reach its
	// memory_limit; the host gets 256 MiB for itself, the compiled guests,
	// the batches and what the guests cause on its side (the key-value
	// store's 16 MiB, an otlp_set payload's, the edit lists').
	bound := uint64(256)
	for _, p := range procs {
		bound += uint64(p.conf["memory_limit"].(int))
	}
	if peak > bound<<20 {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, bound)
	}
}

// healthWatch asks the health check every 25ms until stopped and records
// every answer that was not 200.
type healthWatch struct {
	stopOnce      sync.Once
	done, stopped chan struct{}
	mu            sync.Mutex
	asked         int
	bad           []string
}

func watchHealth(c *collector) *healthWatch {
	w := &healthWatch{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(w.stopped)
		client := &http.Client{Timeout: time.Second}
		t := time.NewTicker(25 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			status, _, err := getHealth(client, c.health)
			w.mu.Lock()
			w.asked++
			if err != nil || status != http.StatusOK {
				w.bad = append(w.bad, fmt.Sprintf("%s: %d %v", time.Now().Format(time.StampMilli), status, err))
			}
			w.mu.Unlock()
		}
	}()
	c.t.Cleanup(w.halt)
	return w
}

func (w *healthWatch) halt() {
	w.stopOnce.Do(func() { close(w.done) })
	<-w.stopped
}

// stop ends the watch and fails the test if any answer was not 200.
func (w *healthWatch) stop(t *testing.T) {
	t.Helper()
	w.halt()
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("health check asked %d times while the guests attacked", w.asked)
	if w.asked < 20 {
		t.Errorf("the health check was asked only %d times", w.asked)
	}
	if len(w.bad) > 0 {
		t.Errorf("the health check did not answer 200 %d times: %s", len(w.bad), strings.Join(w.bad, "; "))
	}
}

// requireExactAttributes checks that each span of want arrived with
// exactly the attributes the client sent: nothing added, nothing lost.
func requireExactAttributes(t *testing.T, sink *otlpSink, want []wantSpan) {
	t.Helper()
	got := spansByID(sink.AllTraces())
	for _, w := range want {
		for _, g := range got[w.SpanID] {
			if g.span.Attributes().Len() != len(w.Attrs) {
				t.Errorf("%s arrived with %d attributes, sent with %d: %v", w, g.span.Attributes().Len(), len(w.Attrs), g.span.Attributes().AsRaw())
			}
		}
	}
}

// scrapeFailures reads otelcol_processor_wasm_failures from the
// Collector's Prometheus endpoint, summed by kind.
func scrapeFailures(t *testing.T, url string) map[string]int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scraping the Collector's metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping the Collector's metrics: %s %v", resp.Status, err)
	}
	line := regexp.MustCompile(`^otelcol_processor_wasm_failures(?:_total)?\{([^}]*)\} (\S+)`)
	kind := regexp.MustCompile(`\bkind="([^"]*)"`)
	out := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		k := kind.FindStringSubmatch(m[1])
		n, err := strconv.ParseFloat(m[2], 64)
		if k == nil || err != nil {
			t.Fatalf("metric line %q: no kind, or %v", sc.Text(), err)
		}
		out[k[1]] += int(n)
	}
	if len(out) == 0 {
		t.Fatalf("no otelcol_processor_wasm_failures in the Collector's metrics:\n%s", tail(string(body), 40))
	}
	return out
}

// loggedFailures counts the Collector's "wasm filter failed" log lines by
// their module and kind fields.
func loggedFailures(t *testing.T, out string) map[string]map[string]int {
	t.Helper()
	got := map[string]map[string]int{}
	for _, l := range strings.Split(out, "\n") {
		_, fields, ok := strings.Cut(l, "\twasm filter failed\t")
		if !ok {
			continue
		}
		var f struct {
			Module string `json:"module"`
			Kind   string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(fields), &f); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if got[f.Module] == nil {
			got[f.Module] = map[string]int{}
		}
		got[f.Module][f.Kind]++
	}
	return got
}

// requireNoForgedOutput checks everything the process printed: each line
// is one the Collector's logger wrote (its timestamp, a level, or the
// lines of the stack trace it adds to an error), and no raw control
// character of a guest's is in it.
func requireNoForgedOutput(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, "1999-12-31T23:59:59.999Z") {
		t.Fatalf("the guest's forged text is not in the output at all, escaped or not: the check would prove nothing")
	}
	stamp := regexp.MustCompile(`^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(debug|info|warn|error)\t`)
	// A Go stack frame: a qualified function name (it has a dot, which no
	// forged word alone has), or its file and line.
	frame := regexp.MustCompile(`^([\w\-./@]+/)?[\w\-]+(@[\w.\-]+)?\.[\w.*()\[\]{},\-]+$|^\t/?[\w\-./@]+\.go:\d+$`)
	// The one line the Collector writes outside its logger: the error it
	// exits with, on one line, the guest's text escaped inside it.
	exitErr := regexp.MustCompile(`^Error: cannot start pipelines: `)
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !stamp.MatchString(l) && !frame.MatchString(l) && !exitErr.MatchString(l) {
			t.Errorf("output line %d is not one the Collector's logger wrote: %q", i+1, l)
		}
	}
	for _, c := range []string{"\x1b", "\r"} {
		if strings.Contains(out, c) {
			t.Errorf("a raw %q reached the Collector's output", c)
		}
	}
}

// procPeakRSS is the peak resident set of process pid so far (VmHWM).
func procPeakRSS(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the process's status: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			f := strings.Fields(v)
			n, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil || len(f) != 2 || f[1] != "kB" {
				t.Fatalf("VmHWM line %q", sc.Text())
			}
			return n << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostileModulesRefusedAtStart starts bin/wasmcol with one hostile
// module that must not start: it must exit non-zero before reporting
// ready, with a message that names the processor and the problem, and
// print nothing of the guest's raw.
func TestHostileModulesRefusedAtStart(t *testing.T) {
	cases := []struct {
		name   string
		module string
		want   []string
		// forged: the guest's text is in the output; check it is escaped.
		forged  bool
		escapes string
	}{
		// The start section never returns: only a deadline on
		// instantiation stops it (10 s at start).
		{name: "start section loops", module: "start_loop", want: []string{"wasm/hostile", "start did not finish within 10s"}},
		// Code naming a global the module does not declare, where the
		// host's fuel counter would be after the rewrite.
		{name: "global past the module's", module: "index_global", want: []string{"wasm/hostile", "global 1 does not exist"}},
		// The init fails with a message built to look like log lines.
		{name: "forged text in the init's failure", module: "init_forge", want: []string{"wasm/hostile", "init failed"}, forged: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.escapes != "" && os.Getenv("WASMCOL_SANDBOX_RUN_ESCAPES") == "" {
				t.Skip("escapes: " + tc.escapes)
			}
			config := writeYAML(t, t.TempDir(), "refused.yaml", map[string]any{
				"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
					"grpc": map[string]any{"endpoint": freePorts(t, 1)[0]},
				}}},
				"processors": map[string]any{"wasm/hostile": map[string]any{
					"module": hostileWAT(t, tc.module), "timeout": "100ms", "cache_dir": wasmCacheDir,
				}},
				"exporters": map[string]any{"debug": map[string]any{}},
				"service": map[string]any{
					"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
					"pipelines": map[string]any{"traces": map[string]any{
						"receivers": []any{"otlp"}, "processors": []any{"wasm/hostile"}, "exporters": []any{"debug"},
					}},
				},
			})
			began := time.Now()
			out, err := runToExit(t, nil, config)
			t.Logf("exited after %v: %v", time.Since(began), err)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("wasmcol ended with %v, want a non-zero exit status; output:\n%s", err, tail(out, 30))
			}
			if strings.Contains(out, "Everything is ready") {
				t.Errorf("wasmcol reported ready with a hostile module")
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, tail(out, 30))
				}
			}
			if tc.forged {
				requireNoForgedOutput(t, out)
			}
		})
	}
}

// TestHostileEscapesInTheBinary runs in bin/wasmcol the escapes of the
// unit tests (processors/wasmprocessor/sandbox_test.go) that cost more
// than a batch: with each, the Collector must stay up and healthy, and
// the attack batch must arrive as sent.
func TestHostileEscapesInTheBinary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proc    map[string]any
		escapes string
	}{
		{name: "otlp_set nested a million deep behind a group",
			proc: map[string]any{"module": hostileGo(t, "otlpbomb"), "config": map[string]any{"shape": "deep_groups"}}},
		{name: "otlp_set of 8M spans behind a group",
			proc: map[string]any{"module": hostileGo(t, "otlpbomb"), "config": map[string]any{"shape": "groups"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if os.Getenv("WASMCOL_SANDBOX_RUN_ESCAPES") == "" {
				t.Skip("escapes: " + tc.escapes)
			}
			sink := startOTLPSink(t)
			ports := freePorts(t, 2)
			proc := map[string]any{"on_error": "pass", "pool_size": 1, "timeout": "3s", "memory_limit": 64, "cache_dir": wasmCacheDir}
			for k, v := range tc.proc {
				proc[k] = v
			}
			config := writeYAML(t, t.TempDir(), "escape.yaml", map[string]any{
				"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
					"grpc": map[string]any{"endpoint": ports[0]},
				}}},
				"processors": map[string]any{"wasm/hostile": proc},
				"exporters": map[string]any{"otlp_grpc": map[string]any{
					"endpoint": sink.Addr, "tls": map[string]any{"insecure": true},
				}},
				"extensions": map[string]any{"health_check": map[string]any{"endpoint": ports[1]}},
				"service": map[string]any{
					"extensions": []any{"health_check"},
					"telemetry":  map[string]any{"metrics": map[string]any{"level": "none"}},
					"pipelines": map[string]any{"traces": map[string]any{
						"receivers": []any{"otlp"}, "processors": []any{"wasm/hostile"}, "exporters": []any{"otlp_grpc"},
					}},
				},
			})
			col := startCollector(t, ports[1], nil, config)
			health := watchHealth(col)
			b := &otlpTrace{base: time.Now().Add(-time.Minute)}
			svc := newOTelService(t, grpcProtocol, ports[0], map[string]string{"service.name": "e2e-escape"})
			root := b.add(svc, ospan{name: "attack", kind: trace.SpanKindServer, dur: 20 * ms, absent: []string{"sandbox.ok"}})
			b.add(svc, ospan{parent: root, name: "child-1", kind: trace.SpanKindClient, at: ms, dur: 5 * ms, absent: []string{"sandbox.ok"}})
			b.add(svc, ospan{parent: root, name: "child-2", kind: trace.SpanKindClient, at: ms, dur: 5 * ms, absent: []string{"sandbox.ok"}})
			for i := range b.want {
				b.want[i].TraceState = ""
			}
			flushAll(t, svc)
			awaitSpans(t, sink, b.want, 30*time.Second)
			checkSpans(t, sink, b.want)
			if n := sink.SpanCount(); n != len(b.want) {
				t.Errorf("%d spans arrived for the %d sent", n, len(b.want))
			}
			peak := procPeakRSS(t, col.cmd.Process.Pid)
			health.stop(t)
			col.stop()
			t.Logf("peak RSS %d MiB", peak>>20)
			if peak > (64+256)<<20 {
				t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, 64+256)
			}
		})
	}
}
