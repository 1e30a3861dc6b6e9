// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigExitsNonZero starts wasmcol (not `validate`: a guest reads
// its config only when it starts) with one broken wasm processor each, and
// requires a non-zero exit, before it ever reports ready, with a message
// that names the processor and the problem.
func TestBadConfigExitsNonZero(t *testing.T) {
	missingModule := filepath.Join(t.TempDir(), "no-such-filter.wasm")
	cases := []struct {
		name string
		proc map[string]any
		want []string // all must appear in the output
	}{
		{
			name: "unknown builtin",
			proc: map[string]any{"module": "builtin:knative-hop"},
			want: []string{"wasm/bad", `module: unknown built-in "knative-hop"`,
				// the message lists what is built in
				"coinflip, kedify, knative-hops, sampler"},
		},
		{
			name: "missing module file",
			proc: map[string]any{"module": missingModule},
			want: []string{"wasm/bad", missingModule, "no such file or directory"},
		},
		{
			name: "bad on_error",
			proc: map[string]any{"module": "builtin:kedify", "on_error": "retry"},
			want: []string{"wasm/bad", `on_error: must be pass, drop or error, got "retry"`},
		},
		{
			name: "guest rejects its config",
			proc: map[string]any{"module": "builtin:kedify", "config": map[string]any{"cold_start_threshold": "soon"}},
			// the kedify filter's own init error, passed through
			want: []string{"wasm/bad", "builtin:kedify", `cold_start_threshold: time: invalid duration "soon"`},
		},
		{
			name: "guest rejects an unknown key",
			proc: map[string]any{"module": "builtin:sampler", "config": map[string]any{
				"rules": []any{map[string]any{"name": "all", "percentage": 100}},
				"ruels": []any{},
			}},
			want: []string{"wasm/bad", "builtin:sampler", `unknown field "ruels"`},
		},
		{
			name: "guest reports every config error",
			proc: map[string]any{"module": "builtin:sampler", "config": map[string]any{
				"rule_scope": "everywhere",
				"rules":      []any{map[string]any{"percentage": 100}},
			}},
			want: []string{"wasm/bad", "builtin:sampler", `rule_scope: "everywhere"`, "rules[0]: name is required"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proc := tc.proc
			proc["cache_dir"] = wasmCacheDir
			config := writeYAML(t, t.TempDir(), "bad.yaml", map[string]any{
				"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
					"grpc": map[string]any{"endpoint": freePorts(t, 1)[0]},
				}}},
				"processors": map[string]any{"wasm/bad": proc},
				"exporters":  map[string]any{"debug": map[string]any{}},
				"service": map[string]any{
					"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
					"pipelines": map[string]any{"traces": map[string]any{
						"receivers": []any{"otlp"}, "processors": []any{"wasm/bad"}, "exporters": []any{"debug"},
					}},
				},
			})
			out, err := runToExit(t, nil, config)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("wasmcol ended with %v, want a non-zero exit status; output:\n%s", err, tail(out, 30))
			}
			if strings.Contains(out, "Everything is ready") {
				t.Errorf("wasmcol reported ready with a broken processor")
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, tail(out, 30))
				}
			}
		})
	}
}
