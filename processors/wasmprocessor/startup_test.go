// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
	"github.com/wasmcol/wasmcol/processors/wasmprocessor/internal/metadata"
)

// A module that cannot run fails the Collector's start with an error that
// names the file and the problem.
func TestStartupErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return path
	}
	wasm, err := os.ReadFile(guest(t, "badconfig"))
	require.NoError(t, err)
	gz := gzipped(t, wasm)
	// A 6 GiB file that takes no disk: reading it whole ended the process
	// with a fatal out-of-memory, which no recover catches.
	sparse := func(name string) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		require.NoError(t, err)
		require.NoError(t, f.Truncate(6<<30))
		require.NoError(t, f.Close())
		return path
	}
	devZero := filepath.Join(dir, "zero.wasm")
	require.NoError(t, os.Symlink(os.DevNull, devZero))
	// /proc says 0 bytes of its files, and /proc/self/pagemap then gives
	// hundreds of MiB: read at every poll, it took 1.2-1.6 cores.
	pagemap := filepath.Join(dir, "pagemap.wasm")
	require.NoError(t, os.Symlink("/proc/self/pagemap", pagemap))

	for _, tc := range []struct {
		name string
		conf map[string]any
		want []string
	}{
		{
			name: "wrong ABI marker",
			conf: map[string]any{"module": wat(t, "bad_abi")},
			want: []string{"wasm guest: ", "bad_abi.wasm", "guest speaks wasmcol ABI v2, this host speaks v1"},
		},
		{
			name: "missing export",
			conf: map[string]any{"module": wat(t, "missing_export")},
			want: []string{"missing_export.wasm", `missing export "wasmcol_process"`},
		},
		{
			name: "initial memory over the limit",
			conf: map[string]any{"module": wat(t, "big_memory"), "memory_limit": 64},
			want: []string{"big_memory.wasm", "initial memory is 128 MiB, over the memory limit of 64 MiB"},
		},
		{
			name: "guest rejects an unknown config key",
			conf: map[string]any{"module": guest(t, "badconfig"), "config": map[string]any{"ratoi": 0.5}},
			want: []string{"wasm guest: ", "badconfig.wasm", "init failed", `json: unknown field "ratoi"`},
		},
		{
			name: "guest rejects a config value",
			conf: map[string]any{"module": guest(t, "badconfig"), "config": map[string]any{"ratio": 2}},
			want: []string{"wasm guest: ", "badconfig.wasm", "init failed", "badconfig: ratio must be within [0, 1], got 2"},
		},
		{
			name: "not Wasm",
			conf: map[string]any{"module": write("notes.wasm", []byte("these are not the bytes you are looking for"))},
			want: []string{"notes.wasm", "not a valid Wasm module"},
		},
		{
			name: "missing file",
			conf: map[string]any{"module": filepath.Join(dir, "absent.wasm")},
			want: []string{"absent.wasm", "no such file or directory"},
		},
		{
			name: "a 6 GiB file",
			conf: map[string]any{"module": sparse("huge.wasm")},
			want: []string{"huge.wasm", "6442450944 bytes, larger than 64 MiB"},
		},
		{
			name: "a 6 GiB gzip file",
			conf: map[string]any{"module": sparse("huge.wasm.gz")},
			want: []string{"huge.wasm.gz", "larger than 64 MiB"},
		},
		{
			name: "a file of /proc",
			conf: map[string]any{"module": pagemap},
			want: []string{"pagemap.wasm", "empty: a module has at least its 8-byte header"},
		},
		{
			name: "a device",
			conf: map[string]any{"module": devZero},
			want: []string{"zero.wasm", "not a regular file"},
		},
		{
			name: "not gzip",
			conf: map[string]any{"module": write("plain.wasm.gz", wasm)},
			want: []string{"plain.wasm.gz", "not gzip"},
		},
		{
			name: "corrupt gzip",
			conf: map[string]any{"module": write("truncated.wasm.gz", gz[:len(gz)/2])},
			want: []string{"truncated.wasm.gz", "corrupt gzip"},
		},
		{
			name: "sha256 mismatch",
			conf: map[string]any{"module": guest(t, "badconfig"), "sha256": sha256Hex(append([]byte("x"), wasm...))},
			want: []string{"badconfig.wasm", "sha256 is " + sha256Hex(wasm) + ", config pins " + sha256Hex(append([]byte("x"), wasm...))},
		},
		{
			name: "sha256 mismatch of a gzip module",
			conf: map[string]any{"module": write("pinned.wasm.gz", gz), "sha256": sha256Hex(gz)},
			want: []string{"pinned.wasm.gz", "sha256 is " + sha256Hex(wasm)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := startErr(t, tc.conf)
			t.Logf("start error: %v", err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}

	t.Run("gzip module with sha256 pin works", func(t *testing.T) {
		// The pin is the digest of the Wasm inside, so the same pin holds
		// whether the module ships compressed or not.
		h := start(t, map[string]any{
			"module": write("good.wasm.gz", gz), "sha256": sha256Hex(wasm), "pool_size": 1,
		})
		in := spans("a")
		require.NoError(t, h.consume(in))
		assert.Equal(t, 1, h.sink.SpanCount())
	})
}

// A module that does not process the pipeline's signal fails the start.
func TestStartupWrongSignal(t *testing.T) {
	factory := wasmprocessor.NewFactory()
	cfg := factory.CreateDefaultConfig().(*wasmprocessor.Config)
	cfg.Module = guest(t, "badconfig") // traces only
	cfg.CacheDir = sharedCacheDir
	p, err := factory.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, new(consumertest.LogsSink))
	require.NoError(t, err)
	err = p.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not process logs (it processes [traces])")
	require.NoError(t, p.Shutdown(context.Background()))
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
