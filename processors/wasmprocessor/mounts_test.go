// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// An instance's files go with it: a replaced instance gives its places
// back, and so does one whose start traps after opening files, which
// wazero closes nothing of.
func TestMountFilesGoWithTheirInstance(t *testing.T) {
	t.Run("replaced", func(t *testing.T) {
		h := start(t, map[string]any{
			"module": hostileWAT(t, "mount_open_loop"), "pool_size": 1, "max_calls_per_instance": 1,
			"mounts": []any{map[string]any{"host_path": mountedDir(t), "guest_path": "/data"}},
		})
		for range 3 {
			require.NoError(t, h.consume(attackBatch()))
			assert.Equal(t, "64", spanAttr(h.last(t), 0, "mount.opened"))
		}
	})
	t.Run("start trapped", func(t *testing.T) {
		dir := mountedDir(t)
		h := start(t, map[string]any{
			"module": hostileWAT(t, "mount_start_trap"), "pool_size": 1, "max_calls_per_instance": 1,
			"mounts": []any{map[string]any{"host_path": dir, "guest_path": "/data"}},
		})
		trap := filepath.Join(dir, "trap")
		require.NoError(t, os.WriteFile(trap, nil, 0o644))
		// Each start opens a file, then traps: more failed starts than
		// there are places.
		for range wasmhost.MaxOpenFiles + 6 {
			_ = h.consume(goodBatch())
		}
		require.Positive(t, h.failures(t, "trap"), "the starts trapped")
		require.NoError(t, os.Remove(trap))
		require.NoError(t, h.consume(attackBatch()))
		// The instance's own start holds one.
		assert.Equal(t, "63", spanAttr(h.last(t), 0, "mount.opened"))
	})
}

// Files wazero loses go with their instance too: rewinding a directory
// that has become a file since reopens it and returns an error without
// closing what it opened.
func TestMountFilesWazeroLosesAreClosed(t *testing.T) {
	dir := mountedDir(t)
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	h, err := newHarness(t, map[string]any{
		"module": hostileWAT(t, "mount_rewind_lost"), "pool_size": 1,
		"mounts": []any{map[string]any{"host_path": dir, "guest_path": "/data"}},
	})
	require.NoError(t, err)
	before := openDescriptors(t)
	require.NoError(t, h.consume(attackBatch()))
	require.Equal(t, "0", spanAttr(h.last(t), 0, "m.rd"), "sub opened")
	require.NoError(t, os.Remove(sub))
	require.NoError(t, os.WriteFile(sub, []byte("now a file"), 0o644))
	require.NoError(t, h.consume(attackBatch()))
	lost := openDescriptors(t) - before
	require.GreaterOrEqual(t, lost, wasmhost.MaxOpenFiles-2, "the rewinds lost files, and the instance holds them")
	require.NoError(t, h.proc.Shutdown(context.Background()))
	assert.LessOrEqual(t, openDescriptors(t)-before, 1, "descriptors left after Shutdown, of %d", lost)
}

// fd_renumber to a far descriptor is refused (badf): wazero grows the
// descriptor table up to it, and 2^31-1 asked for 16 GiB.
func TestMountRenumberIsBounded(t *testing.T) {
	h := start(t, map[string]any{
		"module": hostileWAT(t, "mount_renumber"), "pool_size": 1,
		"mounts": []any{map[string]any{"host_path": mountedDir(t), "guest_path": "/data"}},
	})
	require.NoError(t, h.consume(attackBatch()))
	assert.Equal(t, "8", spanAttr(h.last(t), 0, "mount.far"), "WASI badf")
	assert.Equal(t, "0", spanAttr(h.last(t), 0, "mount.near"), "a descriptor under MaxDescriptor")
	h.requireOnlyFailures(t, nil)
}

// fd_readdir fills at most MaxReaddirBytes a call, whatever buffer the
// guest offers: wazero reads as many entries as the buffer could hold in
// one call, where no deadline reaches.
func TestMountReaddirIsBounded(t *testing.T) {
	dir := mountedDir(t)
	long := strings.Repeat("n", 100)
	for i := range 2000 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%04d", long, i)), nil, 0o644))
	}
	h := start(t, map[string]any{
		"module": hostileWAT(t, "mount_readdir"), "pool_size": 1,
		"mounts": []any{map[string]any{"host_path": dir, "guest_path": "/data"}},
	})
	require.NoError(t, h.consume(attackBatch()))
	assert.Equal(t, "0", spanAttr(h.last(t), 0, "mount.errno"))
	assert.Equal(t, strconv.Itoa(wasmhost.MaxReaddirBytes), spanAttr(h.last(t), 0, "mount.bufused"),
		"2,000 entries of 105 bytes fill the bounded buffer")
}

// fd_read and fd_pread read at most MaxReadBytes a call, whatever iovecs
// the guest names: wazero reads them all in one call, where no deadline
// reaches, and 64 iovecs of 1 MiB over one buffer read 64 MiB of a large
// mounted file in one call.
func TestMountReadsAreBounded(t *testing.T) {
	dir := mountedDir(t)
	big, err := os.Create(filepath.Join(dir, "big"))
	require.NoError(t, err)
	require.NoError(t, big.Truncate(64<<20)) // sparse: 64 MiB of zeros
	require.NoError(t, big.Close())
	h := start(t, map[string]any{
		"module": hostileWAT(t, "mount_read_huge"), "pool_size": 1,
		"mounts": []any{map[string]any{"host_path": dir, "guest_path": "/data"}},
	})
	require.NoError(t, h.consume(attackBatch()))
	out := h.last(t)
	assert.Equal(t, "0", spanAttr(out, 0, "mount.errno"))
	assert.Equal(t, strconv.Itoa(wasmhost.MaxReadBytes), spanAttr(out, 0, "mount.nread"), "fd_read")
	assert.Equal(t, strconv.Itoa(wasmhost.MaxReadBytes), spanAttr(out, 0, "mount.npread"), "fd_pread")
	h.requireOnlyFailures(t, nil)
}

// A symlink in a mount opens only where it stays in the mount: one that
// leads out, to a file never granted or to the Collector's environment in
// /proc, is refused (acces).
func TestMountSymlinksStayInside(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("not granted"), 0o644))
	for _, target := range []string{secret, "/proc/self/environ"} {
		dir := mountedDir(t)
		require.NoError(t, os.Symlink(target, filepath.Join(dir, "esc")))
		require.NoError(t, os.Symlink("data.txt", filepath.Join(dir, "inside")))
		h := start(t, map[string]any{
			"module": hostileWAT(t, "mount_symlink"), "pool_size": 1,
			"mounts": []any{map[string]any{"host_path": dir, "guest_path": "/data"}},
		})
		require.NoError(t, h.consume(attackBatch()))
		assert.Equal(t, "2", spanAttr(h.last(t), 0, "mount.errno"), "to %s: WASI acces", target)
		assert.Equal(t, "0", spanAttr(h.last(t), 0, "mount.inside"), "a symlink within the mount opens")
	}
}

// openDescriptors counts the process's open file descriptors.
func openDescriptors(t *testing.T) int {
	t.Helper()
	names, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(names)
}

// mountedDir is a directory for a mount, holding data.txt.
func mountedDir(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data.txt"), []byte("x"), 0o644))
	return dir
}

// A guest that opens files in its mount and never closes them gets at most
// MaxOpenFiles host descriptors, then "too many open files" (mfile); a
// close gives a place back.
func TestMountOpenFilesAreBounded(t *testing.T) {
	h := start(t, map[string]any{
		"module": hostileWAT(t, "mount_open_loop"), "pool_size": 1,
		"mounts": []any{map[string]any{"host_path": mountedDir(t), "guest_path": "/data"}},
	})
	require.NoError(t, h.consume(goodBatch()))
	before := openDescriptors(t)

	require.NoError(t, h.consume(attackBatch()))
	out := h.last(t)
	assert.Equal(t, "64", spanAttr(out, 0, "mount.opened"), "opens that succeeded")
	assert.Equal(t, "33", spanAttr(out, 0, "mount.errno"), "the first refused: WASI mfile")
	assert.Equal(t, "0", spanAttr(out, 0, "mount.reopen"), "one more open after a close")
	// The mount's root, preopened on the guest's first open, is the one
	// more descriptor.
	held := openDescriptors(t) - before
	assert.LessOrEqual(t, held, wasmhost.MaxOpenFiles+2, "descriptors the guest holds")
	assert.GreaterOrEqual(t, held, wasmhost.MaxOpenFiles, "the guest's opens are real descriptors")

	// The instance keeps them across calls: the next attack gets none.
	require.NoError(t, h.consume(attackBatch()))
	assert.Equal(t, "0", spanAttr(h.last(t), 0, "mount.opened"))
	assert.Equal(t, "33", spanAttr(h.last(t), 0, "mount.errno"))
	assert.LessOrEqual(t, openDescriptors(t)-before, wasmhost.MaxOpenFiles+2)
	h.requireOnlyFailures(t, nil) // refused opens are the guest's errors, not faults

	// The Collector can still open files.
	f, err := os.CreateTemp(t.TempDir(), "after-")
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
