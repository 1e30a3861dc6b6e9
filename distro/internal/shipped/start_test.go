// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// readyLine is what the collector logs once every component has started.
const readyLine = "Everything is ready"

// TestBuiltinFilterConfigsStart starts wasmcol once for every distinct
// built-in filter configuration in the shipped configs and manifests.
//
// `validate` only checks the host side of a wasm processor's config; the
// guest reads its `config` map when it starts, and rejects unknown keys and
// bad values there. So each filter runs alone in a minimal loopback
// pipeline until the collector reports it ready.
func TestBuiltinFilterConfigsStart(t *testing.T) {
	bin := wasmcolBinary(t)

	type use struct {
		where string
		cfg   any
	}
	uses := map[string]use{} // by the processor's config, marshalled
	collect := func(where string, cfg map[string]any) {
		for id, p := range asMap(cfg["processors"]) {
			module, _ := dig(p, "module").(string)
			if typ, _, _ := strings.Cut(id, "/"); typ != "wasm" || !strings.HasPrefix(module, "builtin:") {
				continue
			}
			key, err := yaml.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, seen := uses[string(key)]; !seen {
				uses[string(key)] = use{where: where + "/" + id, cfg: p}
			}
		}
	}
	distroConfig := filepath.Join(distroDir, "config.yaml")
	for _, doc := range readYAMLDocs(t, distroConfig) {
		collect("distro/config.yaml", doc)
	}
	root := filepath.Join(repoRoot, "examples", "kubernetes")
	for _, f := range yamlFiles(t, root) {
		rel, _ := filepath.Rel(root, f)
		for _, doc := range readYAMLDocs(t, f) {
			if cfg, ok := dig(doc, "spec", "config").(map[string]any); ok && doc["kind"] == "OpenTelemetryCollector" {
				collect(rel, cfg)
			}
		}
	}
	// The default config alone uses all four built-ins.
	if len(uses) < 4 {
		t.Fatalf("found %d built-in filter configurations, want at least 4", len(uses))
	}

	keys := make([]string, 0, len(uses))
	for k := range uses {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return uses[keys[i]].where < uses[keys[j]].where })
	for _, k := range keys {
		u := uses[k]
		t.Run(u.where, func(t *testing.T) {
			cfg := map[string]any{
				"receivers": map[string]any{
					"otlp": map[string]any{"protocols": map[string]any{
						"grpc": map[string]any{"endpoint": "127.0.0.1:0"},
					}},
				},
				"processors": map[string]any{"wasm": u.cfg},
				"exporters":  map[string]any{"debug": map[string]any{}},
				"service": map[string]any{
					// No metrics server: nothing else needs a port.
					"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
					"pipelines": map[string]any{"traces": map[string]any{
						"receivers":  []any{"otlp"},
						"processors": []any{"wasm"},
						"exporters":  []any{"debug"},
					}},
				},
			}
			dir := t.TempDir()
			startUntilReady(t, bin, dir, []string{"PATH=" + os.Getenv("PATH")}, writeConfig(t, dir, "filter.yaml", cfg))
		})
	}
}

// startUntilReady runs wasmcol with config until it logs readyLine, and
// fails if it exits or stalls first. It then kills the process: the
// collector logs readyLine before it installs its SIGTERM handler
// (otelcol.Collector.Run), so a SIGTERM sent right away may kill it without
// a graceful shutdown, and shutdown is not what is tested here.
//
// Like runWasmcol, it gives the process only env, so that WASMCOL_*
// variables in the developer's shell cannot change the outcome.
func startUntilReady(t *testing.T, bin, dir string, env []string, config string) {
	t.Helper()
	cmd := exec.Command(bin, "--config", config)
	cmd.Dir = dir
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var (
		mu  sync.Mutex
		log strings.Builder
	)
	output := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
	ready := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			mu.Lock()
			fmt.Fprintln(&log, sc.Text())
			mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), readyLine) {
				signalled = true
				close(ready)
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { <-scanned; exited <- cmd.Wait() }()

	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("wasmcol exited before it was ready (%v):\n%s", err, output())
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("wasmcol was not ready within 90s:\n%s", output())
	}
	_ = cmd.Process.Kill()
	<-exited
}
