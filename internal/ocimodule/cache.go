// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// blobCache keeps manifests and layers as the registry served them, one
// file per digest (<dir>/blobs/sha256/<hex>, as in an OCI image layout).
// Content-addressed entries never go stale, so a module pinned by digest
// needs no registry once cached. Every read is checked against the digest:
// a truncated or altered file is a miss, never a module.
//
// The cache is bounded (maxCacheBytes, maxCacheEntries): a tag that a
// hostile or careless registry moves at every reload would otherwise add
// up to a 256 MiB module a minute to the disk, forever. Past a bound, the
// entries least recently used go first; a read marks an entry used, so a
// pinned module that starts from the cache keeps its entries.
type blobCache struct {
	dir string // "" disables the cache
	// limit and entries bound the cache; zero means maxCacheBytes and
	// maxCacheEntries.
	limit   int64
	entries int
}

const (
	maxCacheBytes   = 2 << 30
	maxCacheEntries = 10_000
	// staleTemp is past any pull's time (Client's timeout, 2 minutes).
	staleTemp = time.Hour
)

func (c blobCache) path(h v1.Hash) string {
	return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
}

// errCacheMiss is returned for a blob the cache does not hold.
var errCacheMiss = errors.New("not in the cache")

// get returns the blob h, at most limit bytes, if the cache holds it intact.
// A corrupt entry is removed and reported as such.
func (c blobCache) get(h v1.Hash, limit int64) ([]byte, error) {
	if c.dir == "" || h.Algorithm != "sha256" {
		return nil, errCacheMiss
	}
	// A plain file only: opening a named pipe would block the pull past
	// its deadline, and a symlink could lead anywhere.
	if info, err := os.Lstat(c.path(h)); err == nil && !info.Mode().IsRegular() {
		_ = os.Remove(c.path(h))
		return nil, errCacheMiss
	}
	f, err := os.Open(c.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errCacheMiss
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); int64(len(b)) > limit || hex.EncodeToString(sum[:]) != h.Hex {
		_ = os.Remove(c.path(h))
		return nil, fmt.Errorf("cached blob %s does not match its digest; removed it", h)
	}
	// Used now, for trim; a read-only cache cannot record it, and needs
	// no trimming either.
	now := time.Now()
	_ = os.Chtimes(c.path(h), now, now)
	return b, nil
}

// put stores b, whose digest the caller has checked, under h. The write
// goes through a temporary file and a rename, so a crash or a concurrent
// writer never leaves a partial entry under the final name.
func (c blobCache) put(h v1.Hash, b []byte) error {
	if c.dir == "" {
		return nil
	}
	dst := c.path(h)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+h.Hex[:12]+"-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	c.trim(dst)
	return nil
}

// trim removes the entries least recently used until the cache is within
// its bounds again, never keep, the entry just stored.
func (c blobCache) trim(keep string) {
	limit, most := c.limit, c.entries
	if limit <= 0 {
		limit = maxCacheBytes
	}
	if most <= 0 {
		most = maxCacheEntries
	}
	dir := filepath.Dir(keep)
	names, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		path string
		size int64
		used time.Time
	}
	all := make([]entry, 0, len(names))
	total := int64(0)
	for _, n := range names {
		info, err := n.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue // gone meanwhile
		}
		if strings.HasPrefix(n.Name(), ".tmp-") {
			// A writer's temporary file: one left by a Collector that
			// died writing goes once it is older than any pull.
			if time.Since(info.ModTime()) > staleTemp {
				_ = os.Remove(filepath.Join(dir, n.Name()))
			}
			continue
		}
		all = append(all, entry{filepath.Join(dir, n.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	left := len(all)
	for _, e := range all {
		if total <= limit && left <= most {
			return
		}
		if e.path == keep {
			continue
		}
		// Gone already counts as removed: a trim running at once took it.
		if err := os.Remove(e.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		total -= e.size
		left--
	}
}
