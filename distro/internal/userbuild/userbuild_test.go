// SPDX-License-Identifier: Apache-2.0

// Package userbuild tests the README's "Use wasmcol's components in your
// own distribution": the builder-config.yaml given there, built by ocb from
// a clean clone of the committed tree, as a module download would provide
// it, must give a collector whose built-in filters work.
package userbuild

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.yaml.in/yaml/v3"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/jaegertest"
)

// repoRoot is the repository; `go test` runs in distro/internal/userbuild.
const repoRoot = "../../.."

const (
	// readmeSection is the README heading whose YAML block is tested.
	readmeSection = "## Use wasmcol's components in your own distribution"
	// clonePlaceholder stands for the clone in the README's replaces.
	clonePlaceholder = "/path/to/wasmcol"
	// envOCB names the ocb binary; `make distro-test` sets it.
	envOCB = "WASMCOL_OCB"
)

// TestOCBBuildFromCleanClone builds the README's distribution with ocb
// from a git clone of HEAD, starts it with builtin:knative-hops and the
// jaeger exporter, sends a Knative broker span with the OpenTelemetry SDK,
// and reads it back from a real Jaeger with the filter's tags.
//
// # Notes
//   - It tests what is committed: uncommitted changes are not in the clone.
//   - ocb takes the Collector modules from the Go module cache or proxy,
//     as a user's build does; only wasmcol comes from the clone.
func TestOCBBuildFromCleanClone(t *testing.T) {
	ocb := os.Getenv(envOCB)
	if ocb == "" {
		t.Fatalf("%s is not set: run `make distro-test`, which installs the pinned ocb and sets it", envOCB)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(jaegertest.EnvBinary) == "" {
		// jaegertest looks for bin/all-in-one beside the nearest go.mod,
		// which from here is the distro module's.
		t.Setenv(jaegertest.EnvBinary, filepath.Join(root, "bin", "all-in-one"))
	}
	jaeger := jaegertest.Run(t)

	work := t.TempDir()
	clone := filepath.Join(work, "wasmcol")
	head := strings.TrimSpace(run(t, root, "git", "rev-parse", "HEAD"))
	if dirty := run(t, root, "git", "status", "--porcelain"); strings.TrimSpace(dirty) != "" {
		t.Logf("building the committed HEAD %s; uncommitted changes are not part of it", head)
	}
	run(t, work, "git", "clone", "--quiet", "--no-hardlinks", root, clone)
	run(t, clone, "git", "checkout", "--quiet", "--detach", head)

	cfg := readmeBuilderConfig(t, root)
	checkPinnedVersions(t, root, cfg)
	dist := asMap(cfg["dist"])
	name, _ := dist["name"].(string)
	out := filepath.Join(work, "dist")
	dist["output_path"] = out
	var replaces []any
	for _, r := range asList(cfg["replaces"]) {
		s, _ := r.(string)
		if !strings.Contains(s, clonePlaceholder) {
			t.Fatalf("README replace %q does not point at %s", s, clonePlaceholder)
		}
		replaces = append(replaces, strings.ReplaceAll(s, clonePlaceholder, clone))
	}
	cfg["replaces"] = replaces
	cfgPath := writeYAML(t, work, "builder-config.yaml", cfg)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, ocb, "--config", cfgPath)
	build.Dir = work
	// Static, as `make distro` builds, so that the packages both builds
	// share come from the build cache instead of compiling twice.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if log, err := build.CombinedOutput(); err != nil {
		t.Fatalf("ocb --config %s: %v\n%s", cfgPath, err, tail(string(log), 60))
	}
	t.Logf("ocb built %s in %s", name, time.Since(start).Round(time.Second))

	bin := filepath.Join(out, name)
	otlpAddr := freeAddr(t)
	collectorCfg := writeYAML(t, work, "config.yaml", map[string]any{
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"grpc": map[string]any{"endpoint": otlpAddr},
		}}},
		"processors": map[string]any{
			"wasm/knative": map[string]any{"module": "builtin:knative-hops"},
			"batch":        map[string]any{"timeout": "100ms"},
		},
		"exporters": map[string]any{
			"jaeger": map[string]any{"endpoint": jaeger.CollectorGRPC, "tls": map[string]any{"insecure": true}},
			"debug":  map[string]any{},
		},
		"service": map[string]any{
			// No metrics server: nothing else needs a port.
			"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
			"pipelines": map[string]any{"traces": map[string]any{
				"receivers":  []any{"otlp"},
				"processors": []any{"wasm/knative", "batch"},
				"exporters":  []any{"jaeger", "debug"},
			}},
		},
	})
	startCollector(t, bin, work, collectorCfg)

	traceID := sendBrokerSpan(t, otlpAddr)
	got := awaitTrace(t, jaeger, traceID)
	span, ok := got.SpanByName("broker:default.demo")
	if !ok {
		t.Fatalf("trace %s in Jaeger has no span broker:default.demo: %+v", traceID, got.Spans)
	}
	for key, want := range map[string]string{
		"knative.hop":         "ingress",
		"kn.broker.name":      "default",
		"kn.broker.namespace": "demo",
	} {
		kv, ok := jaegertest.Find(span.Tags, key)
		if !ok || fmt.Sprint(kv.Value) != want {
			t.Errorf("span %s: tag %s = %v (present: %v), want %q from builtin:knative-hops; tags: %+v", span.OperationName, key, kv.Value, ok, want, span.Tags)
		}
	}
	if svc := got.ProcessOf(span).ServiceName; svc != "broker.ingress" {
		t.Errorf("service %q, want broker.ingress", svc)
	}
}

// readmeBuilderConfig returns the YAML block of the README section.
func readmeBuilderConfig(t *testing.T, root string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+readmeSection+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", readmeSection)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatalf("README.md section %q has no ```yaml block", readmeSection)
	}
	block, _, _ = strings.Cut(block, "```")
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(block), &cfg); err != nil {
		t.Fatalf("README.md's builder config: %v", err)
	}
	return cfg
}

// checkPinnedVersions: the README must give every module at the version
// builder-config.yaml pins, and list the components the section promises.
func checkPinnedVersions(t *testing.T, root string, cfg map[string]any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pinnedCfg map[string]any
	if err := yaml.Unmarshal(data, &pinnedCfg); err != nil {
		t.Fatal(err)
	}
	pinned := map[string]string{}
	for _, m := range gomods(pinnedCfg) {
		path, version, _ := strings.Cut(m[0], " ")
		pinned[path] = version
	}
	imports := map[string]bool{}
	for _, m := range gomods(cfg) {
		path, version, _ := strings.Cut(m[0], " ")
		want, ok := pinned[path]
		switch {
		case !ok:
			t.Errorf("README's builder config uses %s, which builder-config.yaml does not pin", path)
		case version != want:
			t.Errorf("README's builder config has %s %s, builder-config.yaml pins %s", path, version, want)
		}
		imports[m[1]] = true
	}
	for _, want := range []string{
		"go.opentelemetry.io/collector/receiver/otlpreceiver",
		"go.opentelemetry.io/collector/processor/batchprocessor",
		"go.opentelemetry.io/collector/exporter/debugexporter",
		"github.com/wasmcol/wasmcol/processors/wasmprocessor",
		"github.com/wasmcol/wasmcol/exporters/jaegerexporter",
	} {
		if !imports[want] {
			t.Errorf("README's builder config lacks %s", want)
		}
	}
}

// gomods returns [gomod, import path] of every component and provider.
func gomods(cfg map[string]any) [][2]string {
	var out [][2]string
	for _, kind := range []string{"receivers", "processors", "exporters", "connectors", "extensions", "providers"} {
		for _, c := range asList(cfg[kind]) {
			mod, _ := asMap(c)["gomod"].(string)
			imp, _ := asMap(c)["import"].(string)
			if imp == "" {
				imp, _, _ = strings.Cut(mod, " ")
			}
			out = append(out, [2]string{mod, imp})
		}
	}
	return out
}

// startCollector runs bin until it logs that it is ready; it is killed at
// the end of the test.
func startCollector(t *testing.T, bin, dir, config string) {
	t.Helper()
	cmd := exec.Command(bin, "--config", config)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
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
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			mu.Lock()
			fmt.Fprintln(&log, sc.Text())
			mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), "Everything is ready") {
				signalled = true
				close(ready)
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("collector output:\n%s", tail(output(), 40))
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("the built collector exited before it was ready (%v):\n%s", err, tail(output(), 40))
	case <-time.After(90 * time.Second):
		t.Fatalf("the built collector was not ready within 90s:\n%s", tail(output(), 40))
	}
}

// sendBrokerSpan exports, with the OpenTelemetry SDK over OTLP gRPC, the
// span Knative 1.19+'s broker ingress reports for broker "default" in
// namespace "demo", and returns its trace ID.
func sendBrokerSpan(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "broker.ingress"))),
		sdktrace.WithSpanProcessor(rec),
	)
	_, span := tp.Tracer("userbuild").Start(ctx, "broker:default.demo", trace.WithSpanKind(trace.SpanKindInternal))
	span.End()
	if err := exp.ExportSpans(ctx, rec.Ended()); err != nil {
		t.Fatalf("exporting to the built collector at %s: %v", addr, err)
	}
	return span.SpanContext().TraceID().String()
}

// awaitTrace polls Jaeger until it has the trace.
func awaitTrace(t *testing.T, j *jaegertest.Jaeger, traceID string) jaegertest.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		tr, err := j.Trace(ctx, traceID)
		if err == nil {
			return tr
		}
		if !errors.Is(err, jaegertest.ErrNotFound) && ctx.Err() == nil {
			t.Logf("querying Jaeger: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("trace %s never reached Jaeger through the built collector's jaeger exporter (last error: %v)", traceID, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

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

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
