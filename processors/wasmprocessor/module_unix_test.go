// SPDX-License-Identifier: Apache-2.0

//go:build unix

package wasmprocessor

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor/internal/metadata"
)

// TestOpenModuleFileRefusesAFIFO: the module path is checked by name
// before it is opened, but whoever can write it can swap in a FIFO between
// the two (a symlink, as a ConfigMap update swaps one). Opening a FIFO
// then must neither block, which would stop the reload watcher and
// Shutdown for good, nor be read.
func TestOpenModuleFileRefusesAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "module.wasm")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	done := make(chan error, 1)
	go func() {
		f, _, err := openModuleFile(fifo)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "not a regular file")
	case <-time.After(5 * time.Second):
		// Let the blocked open return before the test ends.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("opening a FIFO blocked")
	}
}

// TestShutdownDoesNotWaitForeverForTheWatcher: a reload watcher stuck in
// a read that cannot be interrupted (a filesystem that hangs) delays
// Shutdown by at most watcherWait, or until its context ends, and is
// reported.
func TestShutdownDoesNotWaitForeverForTheWatcher(t *testing.T) {
	restore := watcherWait
	watcherWait = 200 * time.Millisecond
	defer func() { watcherWait = restore }()
	release := make(chan struct{})
	defer close(release)
	stuck := func() *wasmProcessor {
		p := newProcessor(processortest.NewNopSettings(metadata.Type), &Config{Module: "stuck.wasm"}, 0)
		p.stopWatch = func() {}
		p.watching.Add(1)
		go func() { <-release; p.watching.Done() }()
		return p
	}

	start := time.Now()
	err := stuck().shutdown(context.Background())
	require.ErrorContains(t, err, "the reload watcher has not stopped after 200ms")
	require.Less(t, time.Since(start), 2*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = stuck().shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the context ended the wait, before watcherWait")
}
