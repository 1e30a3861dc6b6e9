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

// compileCacheDir is where compiled code is kept when cache_dir is not
// set: defaultCacheDir if usable, or else the same directory if it exists
// but cannot be written, as when an image ships it prebuilt on a
// read-only root filesystem (its entries still load; misses compile
// without it). "" means no compilation cache.
func compileCacheDir() string {
	if dir := defaultCacheDir(); dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir := filepath.Join(base, "wasmcol")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}
