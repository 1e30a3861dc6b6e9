// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wasmcol/wasmcol/internal/ocitest"
)

// versionGuest is the path of a test filter that `make wasm` builds: it
// sets filter.version on every span (1 or 2).
func versionGuest(t *testing.T, v int) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(repoRoot, "processors", "wasmprocessor", "testdata", "guests",
		fmt.Sprintf("reloadv%d", v), fmt.Sprintf("reloadv%d.wasm", v)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the test filter is missing (%v): run `make wasm` (`make distro-test` does)", err)
	}
	return path
}

// wasmcolPush runs `bin/wasmcol push` and returns the module line it
// prints for the config.
func wasmcolPush(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wasmcolBinary(t), append([]string{"push"}, args...)...)
	cmd.Env = processEnv(env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wasmcol push %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	m := regexp.MustCompile(`(?m)^\s+module: (oci://\S+)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("wasmcol push printed no module line:\n%s", out)
	}
	return string(m[1])
}

// ociConfig is a pipeline OTLP in, the oci:// filter, OTLP out to sink.
func ociConfig(t *testing.T, proc map[string]any, sinkAddr string) (otlpAddr, healthAddr, path string) {
	t.Helper()
	ports := freePorts(t, 2)
	otlpAddr, healthAddr = ports[0], ports[1]
	path = writeYAML(t, t.TempDir(), "oci.yaml", map[string]any{
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"grpc": map[string]any{"endpoint": otlpAddr},
		}}},
		"processors": map[string]any{"wasm/mine": proc},
		"exporters": map[string]any{"otlp_grpc": map[string]any{
			"endpoint": sinkAddr, "tls": map[string]any{"insecure": true},
		}},
		"extensions": map[string]any{"health_check": map[string]any{"endpoint": healthAddr}},
		"service": map[string]any{
			"extensions": []any{"health_check"},
			"telemetry":  map[string]any{"metrics": map[string]any{"level": "none"}},
			"pipelines": map[string]any{"traces": map[string]any{
				"receivers": []any{"otlp"}, "processors": []any{"wasm/mine"}, "exporters": []any{"otlp_grpc"},
			}},
		},
	})
	return otlpAddr, healthAddr, path
}

// sendSpan sends one span named name to addr with the OTel Go SDK and
// returns once the collector accepted it.
func sendSpan(t *testing.T, addr, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless()))
	_, span := tp.Tracer("e2e").Start(ctx, name)
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("sending span %q: %v", name, err)
	}
}

// versionOf waits for the span named name at the sink and returns its
// filter.version.
func versionOf(t *testing.T, sink *otlpSink, name string) string {
	t.Helper()
	var got string
	err := waitFor(30*time.Second, func() error {
		for _, td := range sink.AllTraces() {
			rss := td.ResourceSpans()
			for i := 0; i < rss.Len(); i++ {
				sss := rss.At(i).ScopeSpans()
				for j := 0; j < sss.Len(); j++ {
					spans := sss.At(j).Spans()
					for k := 0; k < spans.Len(); k++ {
						if s := spans.At(k); s.Name() == name {
							got = attr(s, "filter.version")
							return nil
						}
					}
				}
			}
		}
		return fmt.Errorf("span %q has not arrived", name)
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func attr(s ptrace.Span, key string) string {
	if v, ok := s.Attributes().Get(key); ok {
		return v.AsString()
	}
	return ""
}

// TestOCIModule is the registry path as a user runs it: `wasmcol push` a
// filter to a private registry, run wasmcol with the credentials in a
// DOCKER_CONFIG directory and the filter as oci://...:tag with reload,
// push a new version to the tag, and restart pinned to a digest with the
// registry down. Wrong credentials stop the start.
func TestOCIModule(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{User: "ci", Password: "e2e-s3cret"})
	creds := []string{"DOCKER_CONFIG=" + ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, "ci", "e2e-s3cret")}
	tag := reg.Host + "/filters/version:live"
	v1Pin := wasmcolPush(t, creds, "--plain-http", versionGuest(t, 1), tag)
	sink := startOTLPSink(t)
	cacheDir := t.TempDir()

	otlpAddr, healthAddr, config := ociConfig(t, map[string]any{
		"module": "oci://" + tag, "plain_http": true, "pool_size": 1,
		"reload": true, "reload_interval": "1s", "cache_dir": cacheDir,
	}, sink.Addr)
	col := startCollector(t, healthAddr, creds, config)
	sendSpan(t, otlpAddr, "first")
	if v := versionOf(t, sink, "first"); v != "1" {
		t.Fatalf("filter.version = %q, want 1", v)
	}
	digest := strings.TrimPrefix(v1Pin[strings.LastIndexByte(v1Pin, '@'):], "@")
	if out := col.out.String(); !strings.Contains(out, "wasm module pulled") || !strings.Contains(out, digest) {
		t.Errorf("the start did not log the digest %s the tag resolved to:\n%s", digest, tail(out, 20))
	}

	// A new version under the same tag is picked up while running.
	wasmcolPush(t, creds, "--plain-http", versionGuest(t, 2), tag)
	if err := waitFor(60*time.Second, func() error {
		if !strings.Contains(col.out.String(), "wasm module reloaded") {
			return fmt.Errorf("no reload logged")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sendSpan(t, otlpAddr, "after-push")
	if v := versionOf(t, sink, "after-push"); v != "2" {
		t.Fatalf("after the tag moved, filter.version = %q, want 2", v)
	}
	col.stop()

	// Wrong credentials: no start, and the message names the module.
	wrong := []string{"DOCKER_CONFIG=" + ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, "ci", "wrong")}
	_, _, badConfig := ociConfig(t, map[string]any{"module": "oci://" + tag, "plain_http": true}, sink.Addr)
	out, err := runToExit(t, wrong, badConfig)
	if err == nil {
		t.Fatalf("wasmcol started with wrong registry credentials:\n%s", tail(out, 20))
	}
	for _, want := range []string{"wasm/mine", `module "oci://` + tag + `"`, "the registry refused the credentials for " + reg.Host} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed start does not say %q:\n%s", want, tail(out, 20))
		}
	}

	// Pinned to the first version's digest, with the registry down, the
	// cache of the first run is enough.
	reg.Close()
	otlpAddr, healthAddr, config = ociConfig(t, map[string]any{
		"module": v1Pin, "plain_http": true, "pool_size": 1, "cache_dir": cacheDir,
	}, sink.Addr)
	col = startCollector(t, healthAddr, creds, config)
	sendSpan(t, otlpAddr, "offline")
	if v := versionOf(t, sink, "offline"); v != "1" {
		t.Fatalf("pinned to version 1 from the cache, filter.version = %q", v)
	}
	if out := col.stop(); !strings.Contains(out, `"from_cache": true`) {
		t.Errorf("the offline start did not log that it used the cache:\n%s", tail(out, 20))
	}

	// And the same pin with the registry down but no cache fails, naming it.
	_, _, uncached := ociConfig(t, map[string]any{"module": v1Pin, "plain_http": true, "cache_dir": t.TempDir()}, sink.Addr)
	out, err = runToExit(t, creds, uncached)
	if err == nil || !strings.Contains(out, `module "`+v1Pin+`"`) || !strings.Contains(out, "connection refused") {
		t.Errorf("registry down, nothing cached: want a failed start naming %s and the refused connection (err %v):\n%s", v1Pin, err, tail(out, 20))
	}
}
