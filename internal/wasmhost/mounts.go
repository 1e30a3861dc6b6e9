// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"io/fs"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// MaxOpenFiles is the most files a plugin's guests may hold open at once
// in their mounts, all instances together. Each is a host file
// descriptor: a guest that opened files in a loop and never closed them
// took all 20,000 the process had in 0.4 s, and the Collector could then
// open no file, module or connection (attack round 12). Past it,
// path_open fails with EMFILE (WASI errno mfile), which a guest's libc
// reports as "too many open files". Each instance's mount roots are not
// counted: there is one a mount per instance, as many as the operator
// configured.
const MaxOpenFiles = 64

// errnoMfile is WASI's mfile. wazero's file systems cannot return it (it
// has no name among their errors and becomes io), so mountFS sets
// callState.mountsFull instead and pathOpen answers mfile.
const errnoMfile = 33

// mountFS is one mount of one instance: the host directory, read only, as
// wazero mounts it, with what opening a file may do bounded.
//
//   - Only regular files and directories open. A named pipe opened for
//     reading blocks until a writer comes, inside a host function, where
//     no deadline reaches: one in a mount stopped a call, and every call
//     queued behind its instance, until a writer appeared (attack round
//     12). Files open non-blocking, so that a pipe's open returns, and are
//     refused once their type is known; a regular file's reads do not
//     block in any case.
//   - At most MaxOpenFiles at once, counted in open, shared by the
//     plugin's instances.
type mountFS struct {
	experimentalsys.FS
	open *atomic.Int32
	// full is set when an open is refused for MaxOpenFiles, for
	// pathOpen to say so.
	full *bool
	// rootOpened records the instance's one uncounted open of the mount's
	// root, which wazero makes for the preopened descriptor.
	rootOpened bool
}

// mountConfig is the file system config of an instance whose state is
// st: mounts, each a mountFS counting in open.
func mountConfig(mounts []Mount, open *atomic.Int32, st *callState) wazero.FSConfig {
	cfg := wazero.NewFSConfig()
	for _, m := range mounts {
		dir := &mountFS{FS: &sysfs.ReadFS{FS: sysfs.DirFS(m.HostPath)}, open: open, full: &st.mountsFull}
		cfg = cfg.(sysfs.FSConfig).WithSysFSMount(dir, m.GuestPath)
	}
	return cfg
}

func (m *mountFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	counted := true
	if path == "." && !m.rootOpened {
		m.rootOpened, counted = true, false
	}
	if counted && m.open.Add(1) > MaxOpenFiles {
		m.open.Add(-1)
		*m.full = true
		return nil, experimentalsys.EIO
	}
	f, errno := m.FS.OpenFile(path, flag|experimentalsys.O_NONBLOCK, perm)
	if errno == 0 {
		st, serr := f.Stat()
		if errno = serr; errno == 0 && !st.Mode.IsRegular() && !st.Mode.IsDir() {
			errno = experimentalsys.EACCES
		}
		if errno != 0 {
			_ = f.Close()
		}
	}
	if errno != 0 {
		if counted {
			m.open.Add(-1)
		} else {
			m.rootOpened = false
		}
		return nil, errno
	}
	if !counted {
		return f, 0
	}
	return &mountFile{File: f, open: m.open}, 0
}

// mountFile gives its place back when closed.
type mountFile struct {
	experimentalsys.File
	open   *atomic.Int32
	closed atomic.Bool
}

func (f *mountFile) Close() experimentalsys.Errno {
	if f.closed.CompareAndSwap(false, true) {
		f.open.Add(-1)
	}
	return f.File.Close()
}

// pathOpen is path_open, answering mfile for an open mountFS refused for
// MaxOpenFiles.
func pathOpen(fn api.GoModuleFunction) api.GoModuleFunc {
	inner := checked(fn)
	return func(ctx context.Context, m api.Module, stack []uint64) {
		st := stateOf(ctx)
		if st == nil {
			inner(ctx, m, stack)
			return
		}
		st.mountsFull = false
		inner(ctx, m, stack)
		if st.mountsFull {
			st.mountsFull = false
			stack[0] = errnoMfile
		}
	}
}
