// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	// startTimeout covers compiling the four built-in filters on a cold
	// cache on a busy two-core machine (about 15 s seen).
	startTimeout = 2 * time.Minute
	// stopTimeout bounds a graceful shutdown, flushes included.
	stopTimeout = time.Minute
	// signalSettle is waited between the health check first answering and
	// SIGTERM: the collector reports ready, then installs its SIGTERM
	// handler (otelcol.Collector.Run), and a signal in between kills it
	// without a graceful shutdown.
	signalSettle = 500 * time.Millisecond
)

// wasmcolBinary returns the absolute path of the binary under test. It never
// builds it: `make distro-test` builds it first with the release flags, and
// building it here with other flags would test a different artifact.
// WASMCOL_BIN points the tests at another build.
func wasmcolBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("WASMCOL_BIN")
	if path == "" {
		path = filepath.Join(repoRoot, "bin", "wasmcol")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("resolving %s: %v", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("the wasmcol binary is missing (%v): run `make distro` (or `make distro-test`, which builds it first), or set WASMCOL_BIN", err)
	}
	return abs
}

// freePorts returns n distinct 127.0.0.1 addresses that were free a moment
// ago; all are held open together so that they differ.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	ls := make([]net.Listener, n)
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserving a loopback port: %v", err)
		}
		ls[i], addrs[i] = l, l.Addr().String()
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return addrs
}

// writeYAML writes v as YAML into dir and returns the file's path.
func writeYAML(t *testing.T, dir, name string, v any) string {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer collects the process's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// collector is one running bin/wasmcol.
type collector struct {
	t       *testing.T
	cmd     *exec.Cmd
	out     *syncBuffer
	health  string // http://host:port/ of the health_check extension
	readyAt time.Time
	done    chan struct{}
	waitErr error // valid once done is closed
}

// processEnv is what every wasmcol gets: PATH and the test's variables
// only, so that WASMCOL_* or OTEL_* variables in the developer's shell
// cannot change the outcome.
func processEnv(env ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH")}, env...)
}

// startCollector runs bin/wasmcol with the given --config files and waits
// until its health check at healthAddr answers 200 (see serving).
// It fails the test if the process exits or stalls first. A cleanup kills
// a process the test did not stop, and prints the end of its output when
// the test failed.
func startCollector(t *testing.T, healthAddr string, env []string, configs ...string) *collector {
	t.Helper()
	bin := wasmcolBinary(t)
	var args []string
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = processEnv(env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	c := &collector{t: t, cmd: cmd, out: out, health: "http://" + healthAddr + "/", done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("last lines of wasmcol's output (%s):\n%s", strings.Join(args, " "), tail(out.String(), 60))
		}
	})

	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: time.Second}
	var last string
	for {
		select {
		case <-c.done:
			t.Fatalf("wasmcol exited before its health check answered (%v):\n%s", c.waitErr, tail(out.String(), 60))
		default:
		}
		status, body, err := getHealth(client, c.health)
		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK:
			if !serving(body) {
				t.Fatalf("health check answered 200 with %v, not a health_check status", body)
			}
			c.readyAt = time.Now()
			return c
		default:
			last = fmt.Sprintf("%d %v", status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("wasmcol's health check at %s did not answer 200 within %v (last: %s):\n%s", c.health, startTimeout, last, tail(out.String(), 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serving reports whether a 200 answer's body is the health_check
// extension's: "Server available" in its legacy mode, and in the
// component-status mode the distro enables, the aggregate status
// ("StatusOK", or "StatusRecoverableError" while an error is younger than
// its recovery_duration, which the extension still counts as healthy).
func serving(body map[string]any) bool {
	switch body["status"] {
	case "Server available", "StatusOK", "StatusRecoverableError":
		return true
	}
	return false
}

// getHealth reads the health_check extension's JSON answer.
func getHealth(client *http.Client, url string) (int, map[string]any, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s: decoding the health check's answer: %w", resp.Status, err)
	}
	return resp.StatusCode, body, nil
}

// stop sends SIGTERM and requires a graceful shutdown: exit status 0 within
// stopTimeout. It returns everything the process printed.
func (c *collector) stop() string {
	c.t.Helper()
	if wait := signalSettle - time.Since(c.readyAt); wait > 0 {
		time.Sleep(wait)
	}
	select {
	case <-c.done:
		c.t.Fatalf("wasmcol exited before it was stopped (%v)", c.waitErr)
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		c.t.Fatalf("wasmcol did not exit within %v of SIGTERM", stopTimeout)
	}
	if c.waitErr != nil {
		c.t.Fatalf("wasmcol did not shut down cleanly after SIGTERM: %v", c.waitErr)
	}
	return c.out.String()
}

// runToExit runs bin/wasmcol with configs and returns its output and exit
// error, for configs that must not start.
func runToExit(t *testing.T, env []string, configs ...string) (string, error) {
	t.Helper()
	bin := wasmcolBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var args []string
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = processEnv(env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wasmcol %s was still running after %v; output:\n%s", strings.Join(args, " "), startTimeout, tail(out.String(), 60))
	}
	return out.String(), err
}

// distroConfig is distro/config.yaml made safe to run in a test.
type distroConfig struct {
	ZipkinAddr   string // Zipkin v2 HTTP, 127.0.0.1:port
	OTLPGRPCAddr string
	OTLPHTTPAddr string
	HealthAddr   string
	// CloudEventsAddr is the cloudevents receiver's, 127.0.0.1:port.
	CloudEventsAddr string
	// Files are the --config arguments, in order: the shipped config, the
	// requested shipped overlays, then the test's loopback overlay.
	Files []string
}

// shippedConfig returns the --config files that run the shipped default
// config, plus the named shipped overlays (export-otlp.yaml, …), with a
// last overlay written for the test that moves every listener to a free
// 127.0.0.1 port, turns off the internal metrics server (a fixed port), and
// gives the wasm processors the suite's compile cache. extra, when not nil,
// is merged into that overlay.
//
// The shipped files are used as they are, so the tests run the pipeline
// users run: the same processors in the same order, the forward connector
// and the export overlays.
func shippedConfig(t *testing.T, extra map[string]any, overlays ...string) distroConfig {
	t.Helper()
	distro, err := filepath.Abs(filepath.Join(repoRoot, "distro"))
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(distro, "config.yaml")
	cfg := readYAML(t, base)
	ports := freePorts(t, 5)
	d := distroConfig{ZipkinAddr: ports[0], OTLPGRPCAddr: ports[1], OTLPHTTPAddr: ports[2], HealthAddr: ports[3], CloudEventsAddr: ports[4]}

	overlay := map[string]any{
		"receivers": map[string]any{
			"otlp": map[string]any{"protocols": map[string]any{
				"grpc": map[string]any{"endpoint": d.OTLPGRPCAddr},
				"http": map[string]any{"endpoint": d.OTLPHTTPAddr},
			}},
			"zipkin":      map[string]any{"endpoint": d.ZipkinAddr},
			"cloudevents": map[string]any{"endpoint": d.CloudEventsAddr},
		},
		"extensions": map[string]any{
			"health_check": map[string]any{"endpoint": d.HealthAddr},
		},
		"processors": withCompileCache(cfg),
		"service": map[string]any{
			"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
		},
	}
	// Anything else in the shipped config that listens would bind 0.0.0.0
	// or a fixed port in the test: refuse rather than do it.
	for _, kind := range []string{"receivers", "extensions"} {
		for _, p := range endpointPaths(cfg[kind], kind) {
			if lookup(overlay, strings.Split(p, "::")...) == nil {
				t.Fatalf("distro/config.yaml sets %s, which this test does not move to loopback: add it to shippedConfig", p)
			}
		}
	}
	if extra != nil {
		mergeMaps(overlay, extra)
	}
	d.Files = []string{base}
	for _, o := range overlays {
		d.Files = append(d.Files, filepath.Join(distro, o))
	}
	d.Files = append(d.Files, writeYAML(t, t.TempDir(), "loopback.yaml", overlay))
	return d
}

// withCompileCache returns processor settings that give every wasm
// processor of cfg the suite's cache_dir. Compiling the four built-in
// filters takes 5 to 15 s on two cores; with the cache, only the suite's
// first start pays it, which keeps the suite within its time budget. The
// first start therefore still runs the uncached path.
func withCompileCache(cfg map[string]any) map[string]any {
	procs := map[string]any{}
	for id := range asMap(cfg["processors"]) {
		if typ, _, _ := strings.Cut(id, "/"); typ == "wasm" {
			procs[id] = map[string]any{"cache_dir": wasmCacheDir}
		}
	}
	return procs
}

// endpointPaths lists, as "kind::id::…::endpoint", every endpoint key under
// v.
func endpointPaths(v any, prefix string) []string {
	var paths []string
	for k, sub := range asMap(v) {
		p := prefix + "::" + k
		if k == "endpoint" {
			paths = append(paths, p)
			continue
		}
		paths = append(paths, endpointPaths(sub, p)...)
	}
	sort.Strings(paths)
	return paths
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// mergeMaps merges src into dst recursively, as the Collector merges
// --config files: maps merge, anything else is replaced.
func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeMaps(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	if m == nil {
		t.Fatalf("%s is empty", path)
	}
	return m
}

// waitFor polls cond every 50ms until it returns nil or timeout passes,
// and returns cond's last error.
func waitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
