// SPDX-License-Identifier: Apache-2.0

//go:build unix

package wasmprocessor_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
