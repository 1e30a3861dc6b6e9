// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// The built-in filters are one module, builtin/builtins.wasm.gz, that runs
// the filter each builtin:<name> names; builtin/names.txt lists the names.

func builtinBundle(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("builtin", "builtins.wasm.gz"))
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	require.NoError(t, err)
	bin, err := io.ReadAll(zr)
	require.NoError(t, err)
	return bin
}

// compiledFiles lists what wazero keeps in a compilation cache directory.
func compiledFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "wazero-") {
			files = append(files, path)
		}
		return err
	}))
	return files
}

// brokerFlip is a broker ingress span (knative-hops tags it) carrying
// coinflip's result event (coinflip copies the result onto it).
func brokerFlip() ptrace.Traces {
	td := spans("broker:default.demo")
	ev := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Events().AppendEmpty()
	ev.SetName("flipped")
	ev.Attributes().PutStr("result", "heads")
	return td
}

// Two processors running two built-ins compile one module, once, hold one
// copy of its code, and each runs its own filter.
func TestBuiltinsShareOneModule(t *testing.T) {
	dir := t.TempDir()
	hops := start(t, map[string]any{"module": "builtin:knative-hops", "cache_dir": dir, "pool_size": 1})
	files := compiledFiles(t, dir)
	require.Len(t, files, 1, "one module compiled into the cache")
	// Forget the compiled copy on disk: a processor that compiled the module
	// again, instead of sharing the first one's, would write it back.
	require.NoError(t, os.Remove(files[0]))
	flip := start(t, map[string]any{"module": "builtin:coinflip", "cache_dir": dir, "pool_size": 1})
	assert.Empty(t, compiledFiles(t, dir), "builtin:coinflip compiled the module again instead of sharing builtin:knative-hops'")

	require.NoError(t, hops.consume(brokerFlip()))
	require.NoError(t, flip.consume(brokerFlip()))
	byHops, byFlip := hops.last(t), flip.last(t)
	assert.Equal(t, "ingress", spanAttr(byHops, 0, "knative.hop"), "knative-hops tags the broker span")
	assert.Empty(t, spanAttr(byHops, 0, "coinflip.result"), "knative-hops does not do coinflip's work")
	assert.Equal(t, "heads", spanAttr(byFlip, 0, "coinflip.result"), "coinflip promotes the result")
	assert.Empty(t, spanAttr(byFlip, 0, "knative.hop"), "coinflip does not do knative-hops' work")
}

// names.txt, which config validation reads, lists exactly what the module
// holds: the module itself says so when asked for a name it lacks.
func TestBuiltinNamesMatchTheModule(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("builtin", "names.txt"))
	require.NoError(t, err)
	names := strings.Fields(string(raw))
	sort.Strings(names)
	require.NotEmpty(t, names)

	_, err = wasmhost.New(context.Background(), wasmhost.Options{Source: "builtins", Module: builtinBundle(t), FilterName: "no-such-filter", PoolSize: 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `holds no filter named "no-such-filter" (it holds `+strings.Join(names, ", ")+")")
}

// sha256 pins the module holding every built-in: one digest for all four,
// and a wrong one refuses to start.
func TestBuiltinSHA256PinsTheModule(t *testing.T) {
	sum := sha256.Sum256(builtinBundle(t))
	digest := hex.EncodeToString(sum[:])
	for _, name := range []string{"builtin:knative-hops", "builtin:coinflip"} {
		start(t, map[string]any{"module": name, "sha256": digest, "pool_size": 1})
	}
	wrong := strings.Repeat("0", 64)
	err := startErr(t, map[string]any{"module": "builtin:kedify", "sha256": wrong, "pool_size": 1})
	assert.Contains(t, err.Error(), `module "builtin:kedify": sha256 is `+digest+", config pins "+wrong)
}
