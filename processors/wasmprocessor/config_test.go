// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected *Config
		errs     []string // every one must appear in the error
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: &Config{Module: "./testdata/filter.wasm", MemoryLimit: 128, HostMemoryLimit: 64, Timeout: time.Second, OnError: OnErrorPass},
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			expected: &Config{
				Module: "/modules/knative-hops.wasm.gz",
				SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				Config: map[string]any{
					"mark_replies": true,
					"rules":        []any{map[string]any{"name": "heartbeats", "ratio": 0.1}},
				},
				PoolSize: 4, MemoryLimit: 64, Timeout: 250 * time.Millisecond, MaxCallsPerInstance: 10000, HostMemoryLimit: 32,
				OnError: OnErrorDrop, Env: []string{"CLUSTER_NAME"},
				Mounts:   []MountConfig{{HostPath: "/etc/wasmcol/data", GuestPath: "/data"}},
				CacheDir: "/var/cache/wasmcol", Reload: true,
			},
		},
		{id: component.NewIDWithName(metadata.Type, "missing_module"), errs: []string{"module: required"}},
		{id: component.NewIDWithName(metadata.Type, "bad_limits"), errs: []string{
			"pool_size: must be between", "memory_limit: must be between", "timeout: must be positive",
			"max_calls_per_instance: must be 0", "host_memory_limit: must be between 1 and 4096 MiB, got 0",
		}},
		{id: component.NewIDWithName(metadata.Type, "bad_policy"), errs: []string{`on_error: must be pass, drop or error, got "retry"`}},
		{id: component.NewIDWithName(metadata.Type, "bad_sha"), errs: []string{"sha256: want 64 hexadecimal digits"}},
		{id: component.NewIDWithName(metadata.Type, "bad_env_mount"), errs: []string{
			`env[0]: "A=B" is not an environment variable name`, "mounts[0].host_path: required",
			"mounts[0].guest_path: must be an absolute path",
			`mounts[1].guest_path: must be a clean path, "/data" rather than "/data/."`,
			`mounts[3].guest_path: "/data" is mounts[2]'s too`, // "/data/": the same

		}},
		{id: component.NewIDWithName(metadata.Type, "unknown_builtin"), errs: []string{`module: unknown built-in "nope" (built in: coinflip, kedify, knative-hops, sampler)`}},
		{id: component.NewIDWithName(metadata.Type, "zero_memory"), errs: []string{"memory_limit: must be between 1 and 4096 MiB, got 0"}},
		{
			id: component.NewIDWithName(metadata.Type, "oci"),
			expected: &Config{
				Module: "oci://registry.example.com/filters/mine:1.0",
				SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				Reload: true, ReloadInterval: 5 * time.Minute,
				MemoryLimit: 128, HostMemoryLimit: 64, Timeout: time.Second, OnError: OnErrorPass,
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "oci_pinned"),
			expected: &Config{
				Module:    "oci://registry.example.com:5000/filters/mine@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				PlainHTTP: true, MemoryLimit: 128, HostMemoryLimit: 64, Timeout: time.Second, OnError: OnErrorPass,
			},
		},
		{id: component.NewIDWithName(metadata.Type, "bad_oci"), errs: []string{`module: "mine:1.0" is not registry/repository:tag`}},
		{id: component.NewIDWithName(metadata.Type, "oci_no_tag"), errs: []string{`module: "registry.example.com/filters/mine" is not registry/repository:tag`}},
		{id: component.NewIDWithName(metadata.Type, "oci_pinned_reload"), errs: []string{"reload: the module is pinned by digest"}},
		{id: component.NewIDWithName(metadata.Type, "oci_fast_reload"), errs: []string{"reload_interval: must be at least 1s for an oci:// module"}},
		{id: component.NewIDWithName(metadata.Type, "bad_reload_interval"), errs: []string{
			"reload_interval: set, but reload is false", "plain_http: applies only to an oci:// module",
		}},
		// A number without a unit is nanoseconds: reload_interval: 1 spun a
		// core, timeout: 1000 failed every batch.
		{id: component.NewIDWithName(metadata.Type, "numbers_without_units"), errs: []string{
			"timeout: must be at least 1ms, got 1µs", "reload_interval: must be at least 100ms, got 1ns",
		}},
		// Read as 32 bits, these wrapped to 128 and 0 MiB.
		{id: component.NewIDWithName(metadata.Type, "wrapping_sizes"), errs: []string{
			"memory_limit: must be between 1 and 4096 MiB, got 4294967424", "host_memory_limit: must be between 1 and 4096 MiB, got 4294967296",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if len(tt.errs) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.expected, cfg)
				return
			}
			require.Error(t, err)
			for _, want := range tt.errs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}
