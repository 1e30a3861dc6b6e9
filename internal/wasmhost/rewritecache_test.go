// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// The rewrite cache returns what instrument returns, from disk once
// written, and treats an entry that does not check out as a miss.
func TestRewriteCache(t *testing.T) {
	bin := watModule(t, filter(`(func $attack (loop $l (br $l)))`), false)
	want, err := instrument(bin, testLimits)
	require.NoError(t, err)
	dir := t.TempDir()

	got, fresh, err := instrumentCached(dir, bin, testLimits)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.True(t, fresh, "rewritten")
	file := rewriteFile(dir, bin, testLimits)
	require.FileExists(t, file, "the rewrite is kept")

	got, fresh, err = instrumentCached(dir, bin, testLimits)
	require.NoError(t, err)
	require.Equal(t, want, got, "read back")
	require.False(t, fresh, "read back")

	// A truncated or overwritten entry is rewritten, not trusted.
	entry, err := os.ReadFile(file)
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"truncated":   entry[:len(entry)/2],
		"overwritten": append(slices.Clone(entry[:len(entry)/2]), append([]byte{0xFF}, entry[len(entry)/2+1:]...)...),
		"empty":       nil,
	} {
		require.NoError(t, os.WriteFile(file, bad, 0o600))
		got, fresh, err = instrumentCached(dir, bin, testLimits)
		require.NoError(t, err, name)
		require.True(t, fresh, name)
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
	got, _, err = instrumentCached(filepath.Join(dir, "missing"), bin, testLimits)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// A module the rewriter refuses is refused through the cache too.
	_, _, err = instrumentCached(dir, []byte("\x00asm\x02\x00\x00\x00"), testLimits)
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

// TestDamagedCompiledEntryIsRemoved: wazero allocates what a compiled
// entry's header claims before it reads the rest. A function count of
// 2^32-1 ended the process (a fatal out-of-memory, not a panic); so could
// a code length past the file. NewDiskCache removes such entries, keeps
// sound ones, and the module compiles again.
func TestDamagedCompiledEntryIsRemoved(t *testing.T) {
	bin := watModule(t, filter(`(func $attack)`), false)
	for name, damage := range map[string]func(entry []byte, fixed int){
		"function count": func(e []byte, fixed int) { binary.LittleEndian.PutUint32(e[fixed:], 0xffffffff) },
		"code length": func(e []byte, fixed int) {
			n := int(binary.LittleEndian.Uint32(e[fixed:]))
			binary.LittleEndian.PutUint64(e[fixed+4+8*n:], 1<<40)
		},
	} {
		t.Run(name, func(t *testing.T) {
			// A name with pattern characters: the check once matched the
			// directory as a pattern, found nothing and checked nothing.
			dir := filepath.Join(t.TempDir(), "cache[1]*")
			cache, err := NewDiskCache(dir)
			require.NoError(t, err)
			require.NoError(t, Precompile(context.Background(), cache, bin))
			require.NoError(t, cache.Close(context.Background()))
			entries := compiledEntries(t, dir)
			require.Len(t, entries, 1)
			entry, err := os.ReadFile(entries[0])
			require.NoError(t, err)
			require.True(t, compiledEntryFits(entries[0]), "a sound entry fits")
			damage(entry, 7+int(entry[6]))
			require.NoError(t, os.WriteFile(entries[0], entry, 0o600))

			cache, err = NewDiskCache(dir)
			require.NoError(t, err)
			defer cache.Close(context.Background())
			require.NoFileExists(t, entries[0])
			p, err := New(context.Background(), Options{Source: "f", Module: bin, PoolSize: 1, Cache: cache})
			require.NoError(t, err)
			require.NoError(t, p.Close(context.Background()))
		})
	}
}

// A disk cache stays within its bounds: every version of a module a
// reload or a moved tag brings adds its compiled code, its rewrite and its
// probe's mark, and before the bound a cache kept them all (the 4 MB
// bundle, 21 MiB a version). What goes is what was written or used
// longest ago; what the start writes, and what it uses, stays.
func TestDiskCacheIsBounded(t *testing.T) {
	dir := t.TempDir()
	cache, err := NewDiskCache(dir)
	require.NoError(t, err)
	defer cache.Close(context.Background())
	start := func(src string) {
		t.Helper()
		p, err := New(context.Background(), Options{Source: "version", Module: watModule(t, filter(src), false), PoolSize: 1, Cache: cache})
		require.NoError(t, err)
		require.NoError(t, p.Close(context.Background()))
	}
	entries := func() []string {
		t.Helper()
		var all []string
		for _, pattern := range []string{"wasmcol-*", filepath.Join("wazero-*", "*")} {
			m, err := filepath.Glob(filepath.Join(dir, pattern))
			require.NoError(t, err)
			all = append(all, m...)
		}
		return all
	}
	// Three versions, each dated a day before the next.
	old := time.Now().Add(-72 * time.Hour)
	var versions [][]string
	for i := range 3 {
		before := entries()
		start(fmt.Sprintf(`(func $attack (drop (i32.const %d)))`, i))
		var added []string
		for _, e := range entries() {
			if !slices.Contains(before, e) {
				added = append(added, e)
				at := old.Add(time.Duration(i) * 24 * time.Hour)
				require.NoError(t, os.Chtimes(e, at, at))
			}
		}
		require.Len(t, added, 3, "compiled code, rewrite and probe mark")
		versions = append(versions, added)
	}
	// A stale temporary file of a writer that died, and one being written.
	stale, fresh := filepath.Join(dir, ".wasmcol-rewrite-stale"), filepath.Join(dir, ".wasmcol-rewrite-fresh")
	for _, f := range []string{stale, fresh} {
		require.NoError(t, os.WriteFile(f, []byte("partial"), 0o600))
	}
	require.NoError(t, os.Chtimes(stale, old, old))

	// Starting the oldest version again uses its rewrite and its mark;
	// wazero's code for it stays dated by its writing. A start that finds
	// its rewrite adds nothing.
	start(`(func $attack (drop (i32.const 0)))`)
	require.Len(t, entries(), 9)
	// A bound of five entries: the four oldest go, which are the first
	// version's compiled code and the whole second version.
	trimDiskCache(dir, time.Now(), maxCachedBytes, 5)
	left := entries()
	require.Len(t, left, 5)
	for _, e := range versions[1] {
		require.NotContains(t, left, e, "the version least recently used")
	}
	require.NoFileExists(t, stale)
	require.FileExists(t, fresh)
	for _, e := range versions[0] {
		if strings.Contains(e, "wazero-") {
			require.NotContains(t, left, e, "dated by its writing")
		} else {
			require.Contains(t, left, e, "used by the last start")
			// Older than all but the huge entry below.
			require.NoError(t, os.Chtimes(e, old.Add(time.Hour), old.Add(time.Hour)))
		}
	}
	for _, e := range versions[2] {
		require.Contains(t, left, e)
	}

	// In bytes: an entry of 3 GiB (sparse) goes at the next compilation
	// of a new module.
	huge := filepath.Join(dir, "wasmcol-rewrite-huge")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(3<<30))
	require.NoError(t, f.Close())
	require.NoError(t, os.Chtimes(huge, old, old))
	began := time.Now()
	start(`(func $attack (drop (i32.const 3)))`)
	require.NoFileExists(t, huge)
	require.Len(t, entries(), 8, "the rest is within the bounds")

	// Nothing a compilation wrote goes, even where the cache stays past
	// its bounds without it; an entry dated in the future counts as the
	// oldest; a symlink named as wazero's directory is not followed.
	future := filepath.Join(dir, "wasmcol-probed-future")
	require.NoError(t, os.WriteFile(future, nil, 0o600))
	ahead := time.Now().AddDate(1, 0, 0)
	require.NoError(t, os.Chtimes(future, ahead, ahead))
	outside := t.TempDir()
	elsewhere := filepath.Join(outside, strings.Repeat("ab", sha256.Size))
	require.NoError(t, os.WriteFile(elsewhere, nil, 0o600))
	require.NoError(t, os.Chtimes(elsewhere, old, old))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "wazero-elsewhere")))
	trimDiskCache(dir, began, 0, 0)
	require.NoError(t, os.Remove(filepath.Join(dir, "wazero-elsewhere")))
	left = entries()
	require.Len(t, left, 3, "what the last compilation wrote: %v", left)
	require.NoFileExists(t, future)
	require.FileExists(t, elsewhere)
}

// Compiled code and rewrites are run as found, so a cache is used only
// where no one but the Collector's user (or root) can have written it.
// Another user who could write a shared cache_dir replaced a rewrite with
// the module unmetered, and its endless loop froze the Collector for good.
func TestCacheMustBeTheCollectors(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not say who may write")
	}
	loop := watModule(t, filter(`(func $attack (loop $l (br $l)))`), false)
	limits := meterLimits{StackBytes: StackLimit, TableElems: TableLimit}
	plant := func(dir string) {
		sum := sha256.Sum256(loop)
		file := rewriteFile(dir, loop, limits)
		_ = os.Remove(file)
		require.NoError(t, os.WriteFile(file, append(slices.Clone(loop), sum[:]...), 0o600))
		require.NoError(t, os.Chmod(file, 0o666)) // as a shared umask leaves it
	}
	// The loop must be stopped at its deadline: run unmetered, it never
	// returns.
	runsMetered := func(cache wazero.CompilationCache) {
		t.Helper()
		p, err := New(context.Background(), Options{Source: "loop", Module: loop, PoolSize: 1, Cache: cache, Timeout: 100 * time.Millisecond})
		require.NoError(t, err)
		defer p.Close(context.Background())
		done := make(chan error, 1)
		go func() { _, err := p.ProcessTraces(context.Background(), oneSpan()); done <- err }()
		select {
		case err := <-done:
			var fault *Fault
			require.ErrorAs(t, err, &fault)
			require.Equal(t, FaultTimeout, fault.Kind)
		case <-time.After(10 * time.Second):
			t.Fatal("the planted, unmetered rewrite ran")
		}
	}

	t.Run("a directory others may write", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o777))
		plant(dir)
		cache, err := NewDiskCache(dir)
		require.NoError(t, err)
		defer cache.Close(context.Background())
		private := filepath.Join(dir, fmt.Sprintf("wasmcol-%d", os.Geteuid()))
		require.Equal(t, private, rewriteDir(cache))
		info, err := os.Stat(private)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), info.Mode().Perm())
		runsMetered(cache)
	})

	t.Run("group-writable, by the Collector's own group", func(t *testing.T) {
		// umask 002 makes home directories 0775; a kubelet's fsGroup pass
		// makes a volume's directories group-writable at every pod start.
		// Neither is another user's way in, and neither loses the cache.
		parent := t.TempDir()
		require.NoError(t, os.Chmod(parent, 0o775))
		dir := filepath.Join(parent, "cache")
		require.NoError(t, os.Mkdir(dir, 0o777))
		require.NoError(t, os.Chmod(dir, 0o777))
		cache, err := NewDiskCache(dir)
		require.NoError(t, err)
		require.NoError(t, cache.Close(context.Background()))
		private := filepath.Join(dir, fmt.Sprintf("wasmcol-%d", os.Geteuid()))
		require.NoError(t, os.Chmod(private, 0o2770))
		cache, err = NewDiskCache(dir)
		require.NoError(t, err)
		require.NoError(t, cache.Close(context.Background()))
		// Opened to everyone since: closed again, not refused.
		require.NoError(t, os.Chmod(private, 0o777))
		cache, err = NewDiskCache(dir)
		require.NoError(t, err)
		defer cache.Close(context.Background())
		info, err := os.Stat(private)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "closed again")
		runsMetered(cache)
	})

	t.Run("its private directory made by someone else", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o777))
		elsewhere := t.TempDir()
		require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, fmt.Sprintf("wasmcol-%d", os.Geteuid()))))
		_, err := NewDiskCache(dir)
		require.ErrorContains(t, err, "cannot be trusted")
	})

	t.Run("a cache_dir that is a symlink", func(t *testing.T) {
		// The link is followed once: repointed afterwards, it changes
		// nothing the cache reads.
		real, other := t.TempDir(), t.TempDir()
		link := filepath.Join(t.TempDir(), "cache")
		require.NoError(t, os.Symlink(real, link))
		cache, err := NewDiskCache(link)
		require.NoError(t, err)
		defer cache.Close(context.Background())
		resolved, err := filepath.EvalSymlinks(real)
		require.NoError(t, err)
		require.Equal(t, resolved, rewriteDir(cache))
		require.NoError(t, os.Remove(link))
		require.NoError(t, os.Symlink(other, link))
		plant(other)
		runsMetered(cache)
	})

	t.Run("a cache_dir that cannot be resolved", func(t *testing.T) {
		// Links followed one by one open, where the whole resolved path,
		// past PATH_MAX, does not resolve: such a path was used unchecked.
		// Made one directory at a time, relative: the whole path is too
		// long for a system call.
		base := t.TempDir()
		name := strings.Repeat("a", 250)
		rel := filepath.Join(slices.Repeat([]string{name}, 15)...)
		script := fmt.Sprintf(`set -e; cd -P %q; for i in $(seq 30); do mkdir %s; cd -P %s; done; mkdir c
			cd -P %q; ln -s %s x1; cd -P %s; ln -s %s x2`, base, name, name, base, rel, rel, rel)
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		require.NoError(t, err, "%s", out)
		link := filepath.Join(t.TempDir(), "cache")
		require.NoError(t, os.Symlink(filepath.Join(base, "x1", "x2", "c"), link))
		_, err = os.Stat(link)
		require.NoError(t, err, "the kernel follows the links")
		_, err = NewDiskCache(link)
		require.ErrorContains(t, err, "cannot be resolved")
	})

	t.Run("a directory on the way others may write, not sticky", func(t *testing.T) {
		shared := t.TempDir()
		require.NoError(t, os.Chmod(shared, 0o777))
		_, err := NewDiskCache(filepath.Join(shared, "cache"))
		require.ErrorContains(t, err, "is not sticky")
		require.NoError(t, os.Chmod(shared, 0o777|os.ModeSticky))
		cache, err := NewDiskCache(filepath.Join(shared, "cache"))
		require.NoError(t, err)
		require.NoError(t, cache.Close(context.Background()))
	})

	t.Run("entries others may write, or not plain files", func(t *testing.T) {
		dir := t.TempDir()
		cache, err := NewDiskCache(dir)
		require.NoError(t, err)
		require.NoError(t, Precompile(context.Background(), cache, loop))
		require.NoError(t, cache.Close(context.Background()))
		plant(dir) // mode 0666, in place of the real rewrite
		compiled := compiledEntries(t, dir)
		require.Len(t, compiled, 1)
		damaged := filepath.Join(t.TempDir(), "damaged")
		require.NoError(t, os.WriteFile(damaged, nil, 0o600))
		require.NoError(t, os.Remove(compiled[0]))
		require.NoError(t, os.Symlink(damaged, compiled[0]))

		cache, err = NewDiskCache(dir)
		require.NoError(t, err)
		defer cache.Close(context.Background())
		require.NoFileExists(t, rewriteFile(dir, loop, limits))
		_, err = os.Lstat(compiled[0])
		require.ErrorIs(t, err, fs.ErrNotExist)
		runsMetered(cache)
		// One put there after the cache opened is not read either.
		plant(dir)
		runsMetered(cache)
	})

	if os.Geteuid() != 0 {
		return // only root can make a file another user's
	}
	t.Run("a directory on the way of another user", func(t *testing.T) {
		theirs := t.TempDir()
		require.NoError(t, os.Chown(theirs, 1001, 1001))
		_, err := NewDiskCache(filepath.Join(theirs, "cache"))
		require.ErrorContains(t, err, "owned by user 1001")
	})
	t.Run("a directory of another user", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Chown(dir, 1001, 1001))
		_, err := NewDiskCache(dir)
		require.ErrorContains(t, err, "owned by user 1001")
	})
	t.Run("an entry of another user", func(t *testing.T) {
		dir := t.TempDir()
		plant(dir)
		require.NoError(t, os.Chmod(rewriteFile(dir, loop, limits), 0o644))
		require.NoError(t, os.Chown(rewriteFile(dir, loop, limits), 1001, 1001))
		cache, err := NewDiskCache(dir)
		require.NoError(t, err)
		defer cache.Close(context.Background())
		require.NoFileExists(t, rewriteFile(dir, loop, limits))
		runsMetered(cache)
	})
}

// compiledEntries lists the files of wazero's compiled code in dir.
func compiledEntries(t *testing.T, dir string) []string {
	t.Helper()
	var entries []string
	for _, sub := range compiledDirs(dir) {
		names, err := os.ReadDir(sub)
		require.NoError(t, err)
		for _, n := range names {
			entries = append(entries, filepath.Join(sub, n.Name()))
		}
	}
	return entries
}
