// SPDX-License-Identifier: Apache-2.0

//go:build unix

package wasmhost

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
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

// othersMayWrite reports whether users other than the owner may write
// path, whose info this is: anyone, a group the Collector is not in, or
// a user or group its ACL names (aclLetsOthersWrite). A group it is in is
// its own: the user's private group (umask 002 makes home directories
// 0775), or a pod's fsGroup, which the kubelet makes group-writable at
// every start.
func othersMayWrite(path string, info fs.FileInfo) bool {
	perm := info.Mode().Perm()
	if perm&0o002 != 0 {
		return true
	}
	if perm&0o020 == 0 {
		return false // with an ACL, these bits are its mask: no one named may write
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return !ok || !inGroup(int(st.Gid)) || aclLetsOthersWrite(path)
}

// inGroup reports whether the Collector's process is in group gid.
func inGroup(gid int) bool {
	if gid == os.Getegid() {
		return true
	}
	groups, _ := os.Getgroups()
	return slices.Contains(groups, gid)
}

// ownersChecked: file modes say who may write here.
const ownersChecked = true
