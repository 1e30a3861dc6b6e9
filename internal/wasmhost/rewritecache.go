// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// The rewriter's own source, so that a rewritten module on disk is keyed
// by the code that rewrote it: any change to the metering, however small,
// misses every entry a build without it wrote. A version constant would
// rely on someone remembering to bump it, and a stale rewrite is a guest
// without its deadline checks.
var (
	//go:embed meter.go
	meterSource []byte
	//go:embed wasmbin.go
	wasmbinSource []byte
	// The compile bounds: a rewrite an older, weaker bound accepted must
	// not be served after the bound is tightened.
	//go:embed flowcost.go
	flowcostSource []byte
)

// rewriteSalt is what every key starts with: the rewriter's source.
var rewriteSalt = sync.OnceValue(func() [sha256.Size]byte {
	h := sha256.New()
	h.Write(meterSource)
	h.Write(wasmbinSource)
	h.Write(flowcostSource)
	// The names the rewrite imports, which live outside those files.
	fmt.Fprintf(h, "%s.%s\n", abi.ModuleName, CheckpointFunc)
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
})

// rewriteCaches maps a compilation cache made by NewDiskCache to its
// directory, where rewritten modules are kept beside the compiled code.
var rewriteCaches sync.Map // wazero.CompilationCache -> string

// NewDiskCache returns a compilation cache in dir that also keeps each
// module as the host rewrote it: a warm start then skips the rewrite as
// well as the compile (the built-in bundle's rewrite took about 110 ms of
// a warm start of 280-450 ms).
//
// Compiled code is run as it is found, so the cache must be the
// Collector's own (privateCacheDir): in a directory another user could
// write, that user replaced a rewrite with the module unmetered, and its
// endless loop froze the Collector. An entry that is not a plain file of
// the Collector's user, or of compiled code whose header does not fit its
// file, is removed first (checkEntries); if one cannot be removed, the
// cache is refused, since wazero would read it.
func NewDiskCache(dir string) (wazero.CompilationCache, error) {
	dir, err := privateCacheDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, err
	}
	if err := checkEntries(dir); err != nil {
		_ = c.Close(context.Background())
		return nil, err
	}
	rewriteCaches.Store(c, dir)
	return c, nil
}

// privateCacheDir returns where in dir the cache can be trusted, as a
// path without symlinks: wazero, the rewrite cache and the probe open
// entries by path long after this check, so a symlink another user could
// repoint, or a directory on the way they could rename, would let them
// swap the whole cache afterwards (a test did, and its unmetered loop
// froze the Collector). So every directory from the root down must be
// root's or the Collector's user's, and one others may write must be
// sticky (as /tmp is), so that they cannot rename what is in it. The
// directory itself, if others may write it, such as an emptyDir volume
// (0777), holds the cache in a subdirectory, wasmcol-<uid>, that only the
// Collector's user can write; one someone else made first is refused. In
// such a directory without the sticky bit, others can still rename that
// subdirectory while the Collector runs: it suits a pod's own volume, not
// a directory users share.
func privateCacheDir(dir string) (string, error) {
	_ = os.MkdirAll(dir, 0o700)
	// A path that cannot be resolved is refused, never used as it is: the
	// kernel follows links one by one where EvalSymlinks builds the whole
	// path, so a chain of links past PATH_MAX resolved for the one and
	// not the other, and skipped every check below.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("the cache %s cannot be resolved to check who may write it: %w", dir, err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", err
	}
	for up := filepath.Dir(real); ownersChecked; up = filepath.Dir(up) {
		info, err := os.Stat(up)
		if err != nil {
			return "", err
		}
		if p := foreignOwner(info); p != "" {
			return "", fmt.Errorf("%s, on the way to the cache %s, is %s: compiled code there cannot be trusted", up, dir, p)
		}
		if othersMayWrite(up, info) && info.Mode()&fs.ModeSticky == 0 {
			return "", fmt.Errorf("%s, on the way to the cache %s, may be written by other users and is not sticky (mode %o): compiled code there cannot be trusted", up, dir, info.Mode().Perm())
		}
		if filepath.Dir(up) == up {
			break
		}
	}
	info, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if p := foreignOwner(info); p != "" {
		return "", fmt.Errorf("%s is %s: compiled code in it cannot be trusted", dir, p)
	}
	if !othersMayWrite(real, info) {
		return real, nil
	}
	sub := filepath.Join(real, fmt.Sprintf("wasmcol-%d", os.Geteuid()))
	if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("%s may be written by other users, and a private directory in it cannot be made: %w", dir, err)
	}
	info, err = os.Lstat(sub)
	switch {
	case err != nil:
		return "", err
	case !info.IsDir():
		return "", fmt.Errorf("%s is not a directory (a symlink?): compiled code in it cannot be trusted", sub)
	case foreignOwner(info) != "":
		return "", fmt.Errorf("%s is %s: compiled code in it cannot be trusted", sub, foreignOwner(info))
	case othersMayWrite(sub, info):
		// Its own, opened to others since (a kubelet's fsGroup pass makes
		// directories group-writable at every pod start): closed again.
		// Entries others may write are removed as the cache opens.
		if err := os.Chmod(sub, 0o700); err != nil {
			return "", fmt.Errorf("%s may be written by other users (mode %o) and cannot be closed: %w", sub, info.Mode().Perm(), err)
		}
	}
	return sub, nil
}

// PrivateCacheDir is where the processor keeps pulled modules and
// compiled code under cache_dir: see privateCacheDir.
func PrivateCacheDir(dir string) (string, error) { return privateCacheDir(dir) }

// checkEntries removes from the cache in dir what wazero or the host
// would read and must not: an entry that is not a plain file of the
// Collector's user, writable by it alone (a symlink to a damaged entry
// still cost 32 GiB; one to a named pipe blocked a start for 60 s), and
// compiled code whose header claims more than its file holds. wazero
// allocates what an entry's header claims before reading the rest, and
// checks the code's checksum only after: a damaged count of functions
// (2^32-1) asked for 32 GiB, a fatal error that no recover catches, where
// the README promises a damaged entry is compiled again. A directory of
// compiled code that is not the Collector's own refuses the cache.
func checkEntries(dir string) error {
	remove := func(path, why string) error {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s %s cannot be removed: %w", why, path, err)
		}
		return nil
	}
	trusted := func(e fs.DirEntry) bool {
		info, err := e.Info() // of the entry itself: a symlink is not followed
		return err == nil && info.Mode().IsRegular() && foreignOwner(info) == "" && !othersMayWrite(filepath.Join(dir, e.Name()), info)
	}
	top, _ := os.ReadDir(dir)
	for _, e := range top {
		name := e.Name()
		switch {
		case e.Type()&fs.ModeSymlink != 0 && strings.HasPrefix(name, "wazero-"):
			// wazero would follow it, and read entries this check skips.
			if err := remove(filepath.Join(dir, name), "a symlink in place of compiled code"); err != nil {
				return err
			}
		case e.IsDir() && strings.HasPrefix(name, "wazero-"):
			if info, err := e.Info(); err == nil && (foreignOwner(info) != "" || othersMayWrite(filepath.Join(dir, name), info)) {
				return fmt.Errorf("%s is not the Collector's own: compiled code in it cannot be trusted", filepath.Join(dir, name))
			}
		case strings.HasPrefix(name, "wasmcol-rewrite-") || strings.HasPrefix(name, "wasmcol-probed-"):
			if !trusted(e) {
				if err := remove(filepath.Join(dir, name), "a cache entry not the Collector's own"); err != nil {
					return err
				}
			}
		}
	}
	for _, sub := range compiledDirs(dir) {
		entries, err := os.ReadDir(sub)
		if err != nil {
			continue // wazero cannot read them either
		}
		for _, e := range entries {
			// Entries are named by a SHA-256; others (a write in progress
			// in another process) are not wazero's to read.
			if _, err := hex.DecodeString(e.Name()); err != nil || len(e.Name()) != 2*sha256.Size {
				continue
			}
			path := filepath.Join(sub, e.Name())
			if !trusted(e) {
				if err := remove(path, "compiled code not the Collector's own"); err != nil {
					return err
				}
				continue
			}
			if !compiledEntryFits(path) {
				if err := remove(path, "damaged compiled code"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// compiledDirs are the directories where wazero keeps compiled code in
// dir, one for each wazero version and platform: read from dir itself,
// not matched as a pattern (a cache_dir holding '[' or '*' matched
// nothing), and never through a symlink, which could lead the trim out of
// the cache.
func compiledDirs(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var subs []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "wazero-") {
			subs = append(subs, filepath.Join(dir, e.Name()))
		}
	}
	return subs
}

// compiledEntryFits reads the sizes an entry's header gives (wazero's
// layout: "WAZEVO", the length of wazero's version and the version, the
// number of functions, 8 bytes of offset for each, the code's length, the
// code, a 4-byte checksum and a byte saying whether a source map follows)
// and reports whether the file holds them. What it cannot read, wazero
// refuses by itself without allocating.
func compiledEntryFits(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return true
	}
	var head [7]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || string(head[:6]) != "WAZEVO" {
		return true
	}
	fixed := int64(7) + int64(head[6]) // magic, version length, version
	var word [8]byte
	if _, err := f.ReadAt(word[:4], fixed); err != nil {
		return true
	}
	funcs := int64(binary.LittleEndian.Uint32(word[:4]))
	codeLenAt := fixed + 4 + 8*funcs
	if codeLenAt+8 > fi.Size() {
		return false
	}
	if _, err := f.ReadAt(word[:], codeLenAt); err != nil {
		return false
	}
	code := binary.LittleEndian.Uint64(word[:])
	rest := fi.Size() - codeLenAt - 8 - 1 // after the length, less the source map byte
	if code > 0 {
		rest -= 4 // the checksum
	}
	return rest >= 0 && code <= uint64(rest)
}

// rewriteDir is the directory of cache's rewritten modules, "" if none.
func rewriteDir(cache wazero.CompilationCache) string {
	dir, _ := rewriteCaches.Load(cache)
	s, _ := dir.(string)
	return s
}

// rewriteFile names the entry for bin rewritten within lim.
func rewriteFile(dir string, bin []byte, lim meterLimits) string {
	salt := rewriteSalt()
	h := sha256.New()
	h.Write(salt[:])
	fmt.Fprintf(h, "%d %d %t\n", lim.StackBytes, lim.TableElems, lim.loopsOnly)
	h.Write(bin)
	return filepath.Join(dir, "wasmcol-rewrite-"+hex.EncodeToString(h.Sum(nil)))
}

// instrumentCached is instrument, through the rewrite cache in dir when
// there is one. An entry is the rewritten module followed by its SHA-256:
// one that does not check out (truncated, overwritten) is a miss. Any
// failure to read or write only means rewriting: a cache is an
// optimisation. The entry is trusted as the compiled code beside it is:
// whoever can write the directory can write machine code there too.
func instrumentCached(dir string, bin []byte, lim meterLimits) (out []byte, fresh bool, err error) {
	if dir == "" {
		out, err = instrument(bin, lim)
		return out, true, err
	}
	file := rewriteFile(dir, bin, lim)
	if b, err := readOwnFile(file); err == nil && len(b) > sha256.Size {
		out, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
		if got := sha256.Sum256(out); bytes.Equal(got[:], sum) {
			touchCached(file)
			return out, false, nil
		}
	}
	out, err = instrument(bin, lim)
	if err != nil {
		return nil, false, err // nothing written
	}
	sum := sha256.Sum256(out)
	if tmp, err := os.CreateTemp(dir, ".wasmcol-rewrite-*"); err == nil {
		_, werr := tmp.Write(out)
		if werr == nil {
			_, werr = tmp.Write(sum[:])
		}
		if cerr := tmp.Close(); werr == nil && cerr == nil {
			_ = os.Rename(tmp.Name(), file) // atomic: a reader sees all or nothing
		}
		_ = os.Remove(tmp.Name())
	}
	return out, true, nil
}

// A disk cache is bounded as the OCI module cache is: every new version of
// a module adds its compiled code, its rewrite and its probe's mark (a
// 4 MB module, 21 MiB), so a file or a tag reloaded at every change would
// fill the disk. Past maxCachedBytes or maxCachedEntries, the entries
// written or used longest ago go first. A rewrite or a mark is used when a
// start reads it; wazero's compiled code is dated by its writing, since
// wazero names it by a key of its own, so a module whose code went is
// compiled again at its next start. Only what the host keeps is trimmed:
// the pulled modules under modules/ have their own bound.
const (
	maxCachedBytes   = 2 << 30
	maxCachedEntries = 10_000
	// staleCacheTemp is past any compilation's time (compileTimeout).
	staleCacheTemp = time.Hour
	// cacheClockSlack covers file times behind the clock: Linux dates a
	// file by a clock that lags time.Now by a tick, FAT by 2 s.
	cacheClockSlack = 10 * time.Second
)

// readOwnFile reads a cache entry only if it is a plain file of the
// Collector's user (or root) that no one else may write: checked on the
// file opened, after the directory's own checks, in case a way round
// those is ever found.
func readOwnFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || foreignOwner(info) != "" || othersMayWrite(path, info) {
		return nil, fmt.Errorf("%s is not the Collector's own", path)
	}
	return io.ReadAll(f)
}

// isOwnFile is readOwnFile's check, for a mark whose content is nothing.
func isOwnFile(path string) bool {
	info, err := os.Lstat(path)
	return err == nil && info.Mode().IsRegular() && foreignOwner(info) == "" && !othersMayWrite(path, info)
}

// touchCached marks a cache entry used now; a read-only cache cannot, and
// needs no trimming either.
func touchCached(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}

// trimDiskCache removes dir's entries least recently written or used until
// the cache is within limit bytes and most entries, and the temporary
// files of writers that died. It never removes an entry dated from
// cacheClockSlack before began on (what the compilation begun then
// wrote, and what others used meanwhile); an entry dated in the future (a
// clock set back, another machine's) counts as the oldest.
func trimDiskCache(dir string, began time.Time, limit int64, most int) {
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var all []entry
	total := int64(0)
	now := time.Now()
	scan := func(sub string, isEntry, isTemp func(name string) bool) {
		names, err := os.ReadDir(sub)
		if err != nil {
			return
		}
		for _, n := range names {
			info, err := n.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue // gone meanwhile, or not ours
			}
			path := filepath.Join(sub, n.Name())
			switch {
			case isTemp(n.Name()):
				if now.Sub(info.ModTime()) > staleCacheTemp {
					_ = os.Remove(path)
				}
			case isEntry(n.Name()):
				used := info.ModTime()
				if used.After(now.Add(cacheClockSlack)) {
					used = time.Time{}
				}
				all = append(all, entry{path, info.Size(), used})
				total += info.Size()
			}
		}
	}
	scan(dir, func(name string) bool {
		return strings.HasPrefix(name, "wasmcol-rewrite-") || strings.HasPrefix(name, "wasmcol-probed-")
	}, func(name string) bool { return strings.HasPrefix(name, ".wasmcol-rewrite-") })
	for _, sub := range compiledDirs(dir) {
		scan(sub, func(name string) bool {
			_, err := hex.DecodeString(name)
			return err == nil && len(name) == 2*sha256.Size
		}, func(name string) bool { return strings.HasSuffix(name, ".tmp") })
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	keepFrom := began.Add(-cacheClockSlack)
	left := len(all)
	for _, e := range all {
		if total <= limit && left <= most {
			return
		}
		if !e.used.Before(keepFrom) {
			return // sorted: the rest are as recent
		}
		// Gone already counts as removed: another trim took it.
		if err := os.Remove(e.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		total -= e.size
		left--
	}
}
