// SPDX-License-Identifier: Apache-2.0

//go:build unix

package wasmhost

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// foreignOwner says whose a cache file or directory is when it is neither
// the Collector's user's nor root's, and "" when it is one of theirs.
func foreignOwner(info fs.FileInfo) string {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
		return fmt.Sprintf("owned by user %d, not the Collector's (%d)", uid, os.Geteuid())
	}
	return ""
}

// othersMayWrite reports whether users other than the owner may write it.
func othersMayWrite(info fs.FileInfo) bool { return info.Mode().Perm()&0o022 != 0 }
