// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A mount is a host directory a guest may read. wazero's own directory
// file system bounds neither what a guest opens, nor how, nor where a
// symlink leads, so mounts are an fs.FS of wasmcol's over an os.Root,
// which wazero serves read only. Attack rounds 12 and 13 found, before:
//   - a guest opening a file in a loop took all 20,000 descriptors of the
//     process in 0.4 s, after which the Collector could open nothing;
//   - a named pipe in a mount hung a call in open(2), where no deadline
//     reaches, until a writer came;
//   - a symlink in a mount led out of it: to a file never granted, and to
//     /proc/self/environ, the Collector's whole environment.

// MaxOpenFiles is the most files a plugin's guests may hold open at once
// in their mounts, all instances together. Past it, path_open fails with
// mfile, which a guest's libc reports as "too many open files". The root
// of each mount, one for each instance, is not counted.
const MaxOpenFiles = 64

// errnoMfile is WASI's mfile. A file system cannot return it through
// wazero (it has no name among wazero's errors, which make it io), so
// mountDir sets callState.mountsFull instead and pathOpen answers mfile.
const errnoMfile = 33

// mounts are a plugin's mounts: each directory opened once, as an
// os.Root, for all its instances, and the files they hold open.
type mounts struct {
	dirs []mountedDir
	open atomic.Int32
}

type mountedDir struct {
	root      *os.Root
	guestPath string
}

// openMounts opens each host directory of ms.
func openMounts(ms []Mount) (*mounts, error) {
	m := &mounts{}
	for _, mt := range ms {
		root, err := os.OpenRoot(mt.HostPath)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("mount %s: %w", mt.GuestPath, err)
		}
		m.dirs = append(m.dirs, mountedDir{root, mt.GuestPath})
	}
	return m, nil
}

func (m *mounts) close() {
	for _, d := range m.dirs {
		_ = d.root.Close()
	}
}

// forInstance is the file system of the instance whose state is st, and
// the files it will open, for the caller to close when the instance ends.
func (m *mounts) forInstance(st *callState) (wazero.FSConfig, *openFiles) {
	files := &openFiles{set: map[*mountFile]struct{}{}}
	cfg := wazero.NewFSConfig()
	for _, d := range m.dirs {
		cfg = cfg.WithFSMount(&mountDir{root: d.root, mounts: m, files: files, full: &st.mountsFull, readLeft: &st.readLeft}, d.guestPath)
	}
	return cfg, files
}

// openFiles is the files one instance holds open in its mounts, which
// the host closes when the instance ends, after wazero has closed those
// it knows of. wazero loses some: when a start fails it closes nothing,
// and when it rewinds a directory whose path has become a file since, it
// opens the path again and returns an error without closing what it
// opened (attack round 14: 63 places of 64 taken that way, for good).
type openFiles struct {
	mu  sync.Mutex
	set map[*mountFile]struct{}
}

// closeAll closes every file still open.
func (o *openFiles) closeAll() {
	o.mu.Lock()
	left := make([]*mountFile, 0, len(o.set))
	for f := range o.set {
		left = append(left, f)
	}
	o.mu.Unlock()
	for _, f := range left {
		_ = f.Close()
	}
}

// mountDir is one mount of one instance.
type mountDir struct {
	root   *os.Root
	mounts *mounts
	files  *openFiles
	// full is set when an open is refused for MaxOpenFiles.
	full *bool
	// readLeft is what the instance's current read call may still read
	// (boundedReads).
	readLeft *int
	// rootOpen is set while the instance holds the uncounted open of the
	// mount's root: wazero opens "." for the preopened descriptor before
	// any path under it (its atPath asks the preopen whether it is a
	// directory first), and again when a listing of the root rewinds.
	rootOpen bool
}

// Open opens name read only, if it is a regular file or a directory
// inside the mount and a place is free. The type is checked before
// opening, since opening a device runs its driver and opening a named
// pipe waits for a writer, and again on the file opened, non-blocking,
// in case the path changed in between. os.Root refuses a path, symlinks
// followed, that leads out of the directory.
func (d *mountDir) Open(name string) (fs.File, error) {
	isRoot := name == "." && !d.rootOpen
	f, err := d.open(name, !isRoot)
	if err != nil {
		if isRoot {
			// wazero panics on any other error opening a preopen's
			// root; a root it cannot open is a descriptor that is bad.
			return nil, fs.ErrNotExist
		}
		return nil, err
	}
	if isRoot {
		d.rootOpen = true
	}
	d.files.mu.Lock()
	d.files.set[f] = struct{}{}
	d.files.mu.Unlock()
	return f, nil
}

func (d *mountDir) open(name string, counted bool) (*mountFile, error) {
	if st, err := d.root.Stat(name); err != nil {
		return nil, mountError(name, err)
	} else if !st.Mode().IsRegular() && !st.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	if counted && d.mounts.open.Add(1) > MaxOpenFiles {
		d.mounts.open.Add(-1)
		*d.full = true
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
	}
	f, err := d.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		if st, serr := f.Stat(); serr != nil || !st.Mode().IsRegular() && !st.IsDir() {
			_ = f.Close()
			err = &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
		}
	}
	if err != nil {
		if counted {
			d.mounts.open.Add(-1)
		}
		return nil, mountError(name, err)
	}
	return &mountFile{File: f, dir: d, counted: counted}, nil
}

// mountError is err as the guest sees it: os.Root's refusal of a path
// that leads out of the mount, which has no errno, is "permission
// denied", as for the types that do not open.
func mountError(name string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
}

// mountFile gives its place back when closed.
type mountFile struct {
	*os.File
	dir     *mountDir
	counted bool
	closed  atomic.Bool
}

// Read and ReadAt read at most what the call has left of MaxReadBytes.
// A short read, of nothing once it is spent, ends wazero's loop over the
// call's iovecs; the guest sees the bytes read so far.
func (f *mountFile) Read(p []byte) (int, error) {
	p = f.clamp(p)
	if len(p) == 0 {
		return 0, nil
	}
	n, err := f.File.Read(p)
	*f.dir.readLeft -= n
	return n, err
}

func (f *mountFile) ReadAt(p []byte, off int64) (int, error) {
	p = f.clamp(p)
	if len(p) == 0 {
		return 0, nil
	}
	n, err := f.File.ReadAt(p, off)
	*f.dir.readLeft -= n
	return n, err
}

func (f *mountFile) clamp(p []byte) []byte {
	return p[:min(len(p), max(*f.dir.readLeft, 0))]
}

func (f *mountFile) Close() error {
	if f.closed.CompareAndSwap(false, true) {
		if f.counted {
			f.dir.mounts.open.Add(-1)
		} else {
			f.dir.rootOpen = false
		}
		f.dir.files.mu.Lock()
		delete(f.dir.files.set, f)
		f.dir.files.mu.Unlock()
	}
	return f.File.Close()
}

// pathOpen is path_open, answering mfile for an open mountDir refused for
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

// MaxDescriptor bounds fd_renumber's target. wazero grows an instance's
// descriptor table up to the target, 8 bytes a slot, for the instance's
// life: renumbering a file to 2^31-1 asked for 16 GiB, and the process
// died out of memory (attack round 13). An instance never holds more than
// its mounts' roots and MaxOpenFiles files, whose numbers wazero picks
// lowest first.
const MaxDescriptor = 1024

const errnoBadf = 8

// fdRenumber refuses a target past MaxDescriptor.
func fdRenumber(fn api.GoModuleFunction) api.GoModuleFunc {
	inner := checked(fn)
	return func(ctx context.Context, m api.Module, stack []uint64) {
		if api.DecodeU32(stack[1]) >= MaxDescriptor {
			stack[0] = errnoBadf
			return
		}
		inner(ctx, m, stack)
	}
}

// MaxReaddirBytes bounds the buffer one fd_readdir fills. wazero reads
// from the host, in one call, as many entries as the buffer could hold
// at their smallest (24 bytes each), and keeps them with the descriptor:
// a buffer of 4 GiB on a directory of a million entries took 7.7–9.8 s
// past a 1 s deadline and kept 214 MiB a descriptor (attack round 13). Go
// reads directories 8 KiB at a time and wasi-libc 4 KiB; a guest that
// offers more gets at most this much a call, which its libc, taking a
// buffer not filled for the end of the directory, may read as the end.
const MaxReaddirBytes = 16 << 10

// fdReaddir clamps the buffer to MaxReaddirBytes.
func fdReaddir(fn api.GoModuleFunction) api.GoModuleFunc {
	inner := checked(fn)
	return func(ctx context.Context, m api.Module, stack []uint64) {
		if api.DecodeU32(stack[2]) > MaxReaddirBytes {
			stack[2] = MaxReaddirBytes
		}
		inner(ctx, m, stack)
	}
}
