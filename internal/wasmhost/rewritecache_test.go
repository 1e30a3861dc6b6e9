// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The rewrite cache returns what instrument returns, from disk once
// written, and treats an entry that does not check out as a miss.
func TestRewriteCache(t *testing.T) {
	bin := watModule(t, filter(`(func $attack (loop $l (br $l)))`), false)
	want, err := instrument(bin, testLimits)
	require.NoError(t, err)
	dir := t.TempDir()

	got, err := instrumentCached(dir, bin, testLimits)
	require.NoError(t, err)
	require.Equal(t, want, got)
	file := rewriteFile(dir, bin, testLimits)
	require.FileExists(t, file, "the rewrite is kept")

	got, err = instrumentCached(dir, bin, testLimits)
	require.NoError(t, err)
	require.Equal(t, want, got, "read back")

	// A truncated or overwritten entry is rewritten, not trusted.
	entry, err := os.ReadFile(file)
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"truncated":   entry[:len(entry)/2],
		"overwritten": append([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, entry[8:]...),
		"empty":       nil,
	} {
		require.NoError(t, os.WriteFile(file, bad, 0o600))
		got, err = instrumentCached(dir, bin, testLimits)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
		fixed, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, entry, fixed, "%s: the entry is written again", name)
	}

	// Other limits, another entry.
	other := testLimits
	other.StackBytes /= 2
	require.NotEqual(t, file, rewriteFile(dir, bin, other))

	// A directory that cannot be written only means rewriting.
	got, err = instrumentCached(filepath.Join(dir, "missing"), bin, testLimits)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// A module the rewriter refuses is refused through the cache too.
	_, err = instrumentCached(dir, []byte("\x00asm\x02\x00\x00\x00"), testLimits)
	require.Error(t, err)
}

// A disk cache made by NewDiskCache keeps the rewrite beside the compiled
// code, so the next start skips both.
func TestPrecompileKeepsTheRewrite(t *testing.T) {
	bin := watModule(t, filter(`(func $attack)`), false)
	dir := t.TempDir()
	cache, err := NewDiskCache(dir)
	require.NoError(t, err)
	require.NoError(t, Precompile(context.Background(), cache, bin))
	require.FileExists(t, rewriteFile(dir, bin, meterLimits{StackBytes: StackLimit, TableElems: TableLimit}))
}

// A module that fails to compile with a disk cache is compiled again
// without it; when that fails too, the start fails and lets go of the
// in-memory runtime it took for the second try.
func TestFailedStartReleasesTheFallbackRuntime(t *testing.T) {
	cache, err := NewDiskCache(t.TempDir())
	require.NoError(t, err)
	refs := func() int {
		engines.Lock()
		defer engines.Unlock()
		if e := engines.m[defaultCache]; e != nil {
			return e.refs
		}
		return 0
	}
	before := refs()
	bad := watModule(t, `(module (import "env" "m" (memory 1)))`, false) // refused by the rewrite
	for range 3 {
		_, err := New(context.Background(), Options{Source: "bad", Module: bad, PoolSize: 1, Cache: cache})
		require.Error(t, err)
	}
	require.Equal(t, before, refs(), "failed starts still hold the in-memory runtime")
}
