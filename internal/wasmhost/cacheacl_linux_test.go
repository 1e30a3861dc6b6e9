// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"encoding/binary"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// acl is a POSIX ACL in its Linux xattr form: user::rwx, then the
// entries given (tag, permissions, id), group::rwx, mask::rwx, other::---.
func acl(entries ...[3]uint32) []byte {
	const undefined = 0xffffffff
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	put := func(tag, perm, id uint32) {
		b = binary.LittleEndian.AppendUint16(b, uint16(tag))
		b = binary.LittleEndian.AppendUint16(b, uint16(perm))
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	put(0x01, 7, undefined)
	for _, e := range entries {
		put(e[0], e[1], e[2])
	}
	put(0x04, 7, undefined)
	put(0x10, 7, undefined)
	put(0x20, 0, undefined)
	return b
}

func TestACLGrantsWrite(t *testing.T) {
	self, group := uint32(os.Geteuid()), uint32(os.Getegid())
	for name, c := range map[string]struct {
		acl  []byte
		want bool
	}{
		"owner, group and mask only": {acl(), false},
		"a named user who may write": {acl([3]uint32{aclUser, 7, 12345}), true},
		"a named user who may read":  {acl([3]uint32{aclUser, 5, 12345}), false},
		"the Collector's user named": {acl([3]uint32{aclUser, 7, self}), false},
		"a named group it is not in": {acl([3]uint32{aclGroup, 6, 54321}), true},
		"a named group it is in":     {acl([3]uint32{aclGroup, 7, group}), false},
		"not an ACL this reads":      {[]byte{1, 0, 0, 0}, true},
		"entries cut short":          {acl()[:10], true},
	} {
		assert.Equal(t, c.want, aclGrantsWrite(c.acl), name)
	}
}

// TestCacheDirWritableThroughAnACLIsNotTrusted: with an ACL, a file's
// group bits are its mask. A cache directory of mode 0770 in the
// Collector's group, with user:12345:rwx, looked private by its mode and
// held the cache itself, where user 12345 could replace compiled code
// (attack round 27c). The cache now goes into a private directory in it,
// as for any directory others may write.
func TestCacheDirWritableThroughAnACLIsNotTrusted(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o770))
	if err := syscall.Setxattr(dir, "system.posix_acl_access", acl([3]uint32{aclUser, 7, 12345}), 0); err != nil {
		t.Skipf("no POSIX ACLs here: %v", err)
	}
	private, err := PrivateCacheDir(dir)
	require.NoError(t, err)
	assert.NotEqual(t, dir, private, "a directory user 12345 may write holds the cache")
	info, err := os.Stat(private)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
}
