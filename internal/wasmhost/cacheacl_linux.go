// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/binary"
	"errors"
	"os"
	"syscall"
)

// aclLetsOthersWrite reports whether path's POSIX access ACL grants write
// to a named user other than the Collector's or a named group it is not
// in. With an ACL, a file's group bits are the ACL's mask, which said
// only that someone named may write: a cache directory of mode 0770, in
// the Collector's group, with user:12345:rwx, was trusted, and user 12345
// could replace compiled code in it (attack round 27c). An ACL that
// cannot be read, other than one that is not there, counts as granting.
func aclLetsOthersWrite(path string) bool {
	buf := make([]byte, 512)
	for {
		n, err := syscall.Getxattr(path, "system.posix_acl_access", buf)
		switch {
		case errors.Is(err, syscall.ENODATA), errors.Is(err, syscall.ENOTSUP):
			return false // no ACL, or none possible here: the mode says it all
		case errors.Is(err, syscall.ERANGE) && len(buf) < 64<<10:
			buf = make([]byte, 2*len(buf))
			continue
		case err != nil:
			return true
		}
		return aclGrantsWrite(buf[:n])
	}
}

// The Linux xattr form of a POSIX ACL (linux/posix_acl_xattr.h): a
// little-endian version, 2, then entries of tag, permissions and id.
const (
	aclVersion   = 2
	aclUser      = 0x02 // a named user
	aclGroup     = 0x08 // a named group
	aclWrite     = 0x02
	aclEntrySize = 8
)

// aclGrantsWrite is aclLetsOthersWrite on the ACL's bytes.
func aclGrantsWrite(acl []byte) bool {
	if len(acl) < 4 || binary.LittleEndian.Uint32(acl) != aclVersion || (len(acl)-4)%aclEntrySize != 0 {
		return true // not an ACL this reads: not trusted
	}
	for e := acl[4:]; len(e) > 0; e = e[aclEntrySize:] {
		tag, perm, id := binary.LittleEndian.Uint16(e), binary.LittleEndian.Uint16(e[2:]), int(binary.LittleEndian.Uint32(e[4:]))
		if perm&aclWrite == 0 {
			continue
		}
		if tag == aclUser && id != os.Geteuid() || tag == aclGroup && !inGroup(id) {
			return true
		}
	}
	return false
}
