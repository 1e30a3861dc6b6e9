// SPDX-License-Identifier: Apache-2.0

//go:build unix

package ocimodule

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An entry that is not a plain file is a miss, and goes: a named pipe in
// place of a blob blocked the pull past its deadline.
func TestCacheReadsPlainFilesOnly(t *testing.T) {
	c := blobCache{dir: t.TempDir()}
	_, h := blob("module")
	require.NoError(t, os.MkdirAll(filepath.Dir(c.path(h)), 0o700))
	require.NoError(t, syscall.Mkfifo(c.path(h), 0o600))
	done := make(chan error, 1)
	go func() { _, err := c.get(h, 1<<20); done <- err }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, errCacheMiss)
	case <-time.After(5 * time.Second):
		t.Fatal("the read blocks on a named pipe")
	}
	_, err := os.Lstat(c.path(h))
	require.ErrorIs(t, err, os.ErrNotExist)
}
