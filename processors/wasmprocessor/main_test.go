// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// sharedCacheDir is the cache_dir every test processor uses unless the
// test sets its own. wazero's in-memory cache forgets a module once the
// last runtime using it closes, so without a directory each of the many
// short-lived processors here would compile its guest again (1 to 2 s for
// a Go guest on this machine).
var sharedCacheDir string

// A guest that outlives its processor would show up here as a leaked
// goroutine: a reload watcher, a retiring generation or a deadline timer.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmprocessor-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedCacheDir = dir
	// The default compilation cache (no cache_dir) lives under the user
	// cache directory: keep it inside the test's own directory.
	if err := os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "xdg")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}
