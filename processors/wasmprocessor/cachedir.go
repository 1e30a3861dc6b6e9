// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"os"
	"path/filepath"
)

// defaultCacheDir is where wasmcol keeps what it can reuse across restarts
// when cache_dir is not set: <user cache dir>/wasmcol ($XDG_CACHE_HOME or
// ~/.cache on Linux). It returns "" (no cache, and no complaint) when that
// directory cannot be created or written, as in a container with a
// read-only root filesystem: a cache is an optimisation, never a reason to
// fail.
func defaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir := filepath.Join(base, "wasmcol")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ""
	}
	probe, err := os.CreateTemp(dir, ".writable-*")
	if err != nil {
		return ""
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return dir
}
