// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

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
// close gives a place back, and Shutdown gives them all back.
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

// A named pipe in a mount does not open: opening it for reading would
// block until a writer came, in a host function, where no deadline
// reaches. The guest gets "permission denied" at once.
func TestMountRefusesNamedPipes(t *testing.T) {
	dir := mountedDir(t)
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	h := start(t, map[string]any{
		"module": hostileWAT(t, "mount_fifo"), "pool_size": 1, "timeout": "1s",
		"mounts": []any{map[string]any{"host_path": dir, "guest_path": "/data"}},
	})
	done := make(chan error, 1)
	go func() { done <- h.consume(attackBatch()) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		// Let the open return, so that the test can end.
		if w, err := os.OpenFile(filepath.Join(dir, "fifo"), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = w.Close()
		}
		t.Fatal("the call is stuck opening the pipe")
	}
	assert.Equal(t, "2", spanAttr(h.last(t), 0, "mount.errno"), "WASI acces")
	h.requireOnlyFailures(t, nil)
}
