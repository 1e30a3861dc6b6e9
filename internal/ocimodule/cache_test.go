// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func blob(s string) ([]byte, v1.Hash) {
	sum := sha256.Sum256([]byte(s))
	return []byte(s), v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// The cache stays within its bounds, dropping what was used least
// recently: a read counts as a use, so an entry read again survives newer
// ones that were never read.
func TestCacheDropsTheLeastRecentlyUsed(t *testing.T) {
	c := blobCache{dir: t.TempDir(), limit: 3 * 1000, entries: 100}
	var hashes []v1.Hash
	put := func(i int) {
		b, h := blob(string(rune('a'+i)) + string(make([]byte, 999)))
		require.NoError(t, c.put(h, b))
		hashes = append(hashes, h)
		// Distinct times, on file systems that keep coarse ones.
		old := time.Now().Add(time.Duration(i-100) * time.Second)
		require.NoError(t, os.Chtimes(c.path(h), old, old))
	}
	has := func(i int) bool {
		_, err := os.Stat(c.path(hashes[i]))
		return err == nil
	}
	for i := range 3 {
		put(i)
	}
	_, err := c.get(hashes[0], 1000) // 0 is now the most recently used
	require.NoError(t, err)
	put(3)
	assert.True(t, has(0), "read again: kept")
	assert.False(t, has(1), "the least recently used: dropped")
	assert.True(t, has(2))
	assert.True(t, has(3), "the entry just stored")

	// Bounded by count as well as bytes.
	c.entries = 2
	put(4)
	names, err := os.ReadDir(filepath.Dir(c.path(hashes[4])))
	require.NoError(t, err)
	assert.Len(t, names, 2)
	assert.True(t, has(4))
}

// A temporary file left by a writer that died goes once it is stale; a
// fresh one may be a writer's at work.
func TestCacheDropsStaleTemporaryFiles(t *testing.T) {
	c := blobCache{dir: t.TempDir()}
	b, h := blob("entry")
	require.NoError(t, os.MkdirAll(filepath.Dir(c.path(h)), 0o700))
	stale := filepath.Join(filepath.Dir(c.path(h)), ".tmp-stale")
	fresh := filepath.Join(filepath.Dir(c.path(h)), ".tmp-fresh")
	require.NoError(t, os.WriteFile(stale, []byte("partial"), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte("partial"), 0o600))
	old := time.Now().Add(-2 * staleTemp)
	require.NoError(t, os.Chtimes(stale, old, old))
	require.NoError(t, c.put(h, b))
	assert.NoFileExists(t, stale)
	assert.FileExists(t, fresh)
}

// An entry larger than the whole bound is still stored: the pull that
// stored it can use it, and a later trim drops it once it is no longer
// the newest.
func TestCacheKeepsTheEntryJustStored(t *testing.T) {
	c := blobCache{dir: t.TempDir(), limit: 10}
	b, h := blob("larger than the bound")
	require.NoError(t, c.put(h, b))
	got, err := c.get(h, 100)
	require.NoError(t, err)
	assert.Equal(t, b, got)
}
