// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/internal/ocimodule"
	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

const builtinPrefix = "builtin:"

// maxModuleSize bounds a module file, compressed or not, and a module
// decompressed, so a gzip bomb in a ConfigMap cannot exhaust the
// Collector's memory at start: the most the host accepts. At 256 MiB,
// a new sparse file at every poll cost 2 s and 572 MiB a poll, to be
// refused by the host afterwards.
const maxModuleSize = wasmhost.MaxModuleBytes

// defaultOCIReloadInterval is how often reload asks the registry where a
// tag points, unless reload_interval says otherwise.
const defaultOCIReloadInterval = time.Minute

// builtins holds the built-in filters, compiled by `make builtins` into one
// module that holds them all (examples/builtins) and committed, so every
// build of the module has them: builtins.wasm.gz, and names.txt, the names
// it holds, one a line. A build without them still works; their names are
// then simply unknown.
//
//go:embed builtin
var builtins embed.FS

// builtinModule is the module every builtin:<name> loads; the processor
// tells it which of its filters to run (wasmhost.Options.FilterName).
const builtinModule = "builtin/builtins.wasm.gz"

// builtinList is the names of the built-in filters, sorted: none when this
// build embeds no module.
func builtinList() []string {
	if _, err := fs.Stat(builtins, builtinModule); err != nil {
		return nil
	}
	list, _ := builtins.ReadFile("builtin/names.txt")
	names := strings.Fields(string(list))
	sort.Strings(names)
	return names
}

// builtinNames is builtinList for an error message.
func builtinNames() []string {
	names := builtinList()
	if len(names) == 0 {
		return []string{"none: processors/wasmprocessor/builtin held no module when this binary was built (`make builtins` makes it)"}
	}
	return names
}

func hasBuiltin(name string) bool { return slices.Contains(builtinList(), name) }

// moduleSource loads a processor's module from its file, the binary or a
// registry, and checks the sha256 pin.
type moduleSource struct {
	cfg    *Config
	logger *zap.Logger
	// For oci:// modules only.
	ref    name.Reference
	client *ocimodule.Client
	// done lets go of shared bytes (a built-in) once the module is
	// compiled; nil when there are none.
	done func()
	// For a file: how it looked when last read, so that polling a file
	// that has not changed costs a stat, not a read, a gunzip and a hash
	// (a 260 KB gzip bomb cost 0.3 of a core for as long as it stayed).
	lastRead os.FileInfo
	// refused is the last digest a tag resolved to whose pull failed on
	// its content: polling does not pull it again.
	refused string
}

// errPinMismatch marks a module whose sha256 is not the one the config
// pins; pinError carries it beside its own text.
var errPinMismatch = errors.New("the module's sha256 is not the pinned one")

type pinError struct{ error }

func (e pinError) Unwrap() []error { return []error{e.error, errPinMismatch} }

func newModuleSource(cfg *Config, logger *zap.Logger) (*moduleSource, error) {
	src := &moduleSource{cfg: cfg, logger: logger}
	rest, isOCI := strings.CutPrefix(cfg.Module, ocimodule.Scheme)
	if !isOCI {
		return src, nil
	}
	ref, err := ocimodule.ParseReference(rest, cfg.PlainHTTP)
	if err != nil {
		return nil, fmt.Errorf("module: %w", err)
	}
	src.ref = ref
	src.client = &ocimodule.Client{
		PlainHTTP: cfg.PlainHTTP,
		CacheDir:  moduleCacheDir(cfg.CacheDir),
		Logger:    logger,
	}
	return src, nil
}

// moduleCacheDir is where pulled modules are kept: under cache_dir when
// set, else under the default cache directory, else nowhere; in either,
// where the compiled code goes (wasmhost.PrivateCacheDir), so that no
// other user can have put a file there (a named pipe in place of a blob
// held a pull past its deadline) or swap one afterwards.
func moduleCacheDir(cacheDir string) string {
	if cacheDir == "" {
		cacheDir = defaultCacheDir()
	}
	if cacheDir == "" {
		return ""
	}
	private, err := wasmhost.PrivateCacheDir(cacheDir)
	if err != nil {
		return "" // pulled at each start; a cache_dir's problem is logged with the compile cache's
	}
	return filepath.Join(private, "modules")
}

// load returns the module and its version: the manifest digest for an
// oci:// module, the sha256 of the Wasm bytes otherwise.
func (s *moduleSource) load(ctx context.Context) (bin []byte, version string, err error) {
	if s.ref != nil {
		return s.pull(ctx, s.ref)
	}
	if bin, err = s.read(); err != nil {
		return nil, "", err
	}
	sum, err := s.checkPin(bin)
	if err != nil {
		return nil, "", err
	}
	return bin, sum, nil
}

// poll returns the module if it changed from version, or nil if not. For a
// file that means reading it; for a tag, asking the registry for its
// digest and pulling only when the digest moved.
func (s *moduleSource) poll(ctx context.Context, version string) ([]byte, string, error) {
	if s.ref == nil {
		if s.unchanged() {
			return nil, version, nil
		}
		bin, next, err := s.load(ctx)
		if err != nil || next == version {
			return nil, version, err
		}
		return bin, next, nil
	}
	digest, err := s.client.Resolve(ctx, s.ref)
	if err != nil {
		return nil, version, fmt.Errorf("module %q: %w", s.cfg.Module, err)
	}
	if d := digest.String(); d == version || d == s.refused {
		return nil, version, nil
	}
	// By digest, so that a tag moving again meanwhile cannot mix versions.
	bin, next, err := s.pull(ctx, s.ref.Context().Digest(digest.String()))
	if errors.Is(err, ocimodule.ErrUnusable) || errors.Is(err, errPinMismatch) {
		// Refused for what it holds, which a digest fixes: a tag left on
		// a 0.5 MiB gzip bomb was pulled and decompressed again at every
		// interval, 11-24% of a core at 1 s (attack round 27c). Logged
		// once; the tag moving on is looked at again.
		s.refused = digest.String()
	}
	return bin, next, err
}

// reloadInterval is how often reload looks for a new module.
func (s *moduleSource) reloadInterval() time.Duration {
	switch {
	case s.cfg.ReloadInterval > 0:
		return s.cfg.ReloadInterval
	case s.ref != nil:
		return defaultOCIReloadInterval
	default:
		return reloadInterval
	}
}

func (s *moduleSource) pull(ctx context.Context, ref name.Reference) ([]byte, string, error) {
	mod, err := s.client.Pull(ctx, ref)
	if err != nil {
		if errors.Is(err, ocimodule.ErrPlainHTTP) {
			err = fmt.Errorf("%w (set plain_http: true if the registry is meant to be reached without TLS)", err)
		}
		return nil, "", fmt.Errorf("module %q: %w", s.cfg.Module, err)
	}
	sum, err := s.checkPin(mod.Wasm)
	if err != nil {
		return nil, "", err
	}
	s.logger.Info("wasm module pulled", zap.String("module", s.cfg.Module),
		zap.String("digest", mod.Digest.String()), zap.String("sha256", sum), zap.Bool("from_cache", mod.FromCache))
	return mod.Wasm, mod.Digest.String(), nil
}

// checkPin compares the Wasm bytes with the sha256 pin and returns their
// digest.
func (s *moduleSource) checkPin(bin []byte) (string, error) {
	sum := sha256.Sum256(bin)
	got := hex.EncodeToString(sum[:])
	if s.cfg.SHA256 != "" && !strings.EqualFold(got, s.cfg.SHA256) {
		return "", pinError{fmt.Errorf("module %q: sha256 is %s, config pins %s", s.cfg.Module, got, s.cfg.SHA256)}
	}
	return got, nil
}

// read reads a file or built-in module, decompressing .gz and built-in
// modules.
func (s *moduleSource) read() ([]byte, error) {
	cfg := s.cfg
	var raw []byte
	var err error
	if name, ok := strings.CutPrefix(cfg.Module, builtinPrefix); ok {
		if !hasBuiltin(name) {
			return nil, fmt.Errorf("module %q: not built into this binary", cfg.Module)
		}
		bin, done, err := builtinBytes()
		if err != nil {
			return nil, fmt.Errorf("module %q: %w", cfg.Module, err)
		}
		s.done = done
		return bin, nil
	}
	if raw, err = s.readFile(); err != nil {
		return nil, fmt.Errorf("module %q: %w", cfg.Module, err)
	}
	if !strings.HasSuffix(cfg.Module, ".gz") {
		return raw, nil
	}
	bin, err := gunzipModule(raw)
	if err != nil {
		return nil, fmt.Errorf("module %q: %w", cfg.Module, err)
	}
	return bin, nil
}

// readFile reads the module file, refusing what cannot be a module before
// reading it whole: anything but a regular file (/dev/zero never ends, a
// FIFO blocks) and anything over maxModuleSize, compressed or not (a 6 GiB
// sparse file ended the process with a fatal out-of-memory in ReadFile).
func (s *moduleSource) readFile() ([]byte, error) {
	path := s.cfg.Module
	if err := moduleFileOK(os.Stat(path)); err != nil { // before open: opening a FIFO blocks
		return nil, err
	}
	f, fi, err := openModuleFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Exactly the size the file said it has, allocated once: a file
	// that holds more is not a regular file's content (/proc/self/pagemap
	// says 0 bytes, then gave 211 MiB over 3 s, at every poll).
	raw := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, fmt.Errorf("changed while read: %w", err)
	}
	var more [1]byte
	if n, _ := f.Read(more[:]); n > 0 {
		return nil, fmt.Errorf("holds more than the %d bytes it says it has", fi.Size())
	}
	s.lastRead = fi
	return raw, nil
}

// openModuleFile opens path and checks that what it opened is a module
// file: whoever can write the path can swap it after the check by name, for
// a FIFO, say. Open does not block: without O_NONBLOCK, opening a FIFO
// waits for a writer, and the reload watcher, then Shutdown, with it.
func openModuleFile(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err = moduleFileOK(fi, err); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

func moduleFileOK(fi os.FileInfo, err error) error {
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (mode %s)", fi.Mode())
	case fi.Size() == 0:
		// Also what /proc and /sys say of files that are not empty.
		return errors.New("empty: a module has at least its 8-byte header")
	case fi.Size() > maxModuleSize:
		return fmt.Errorf("%d bytes, larger than %d MiB", fi.Size(), maxModuleSize>>20)
	}
	return nil
}

// unchanged reports whether the module file is the one last read: the
// same file (a ConfigMap update swaps a symlink to a new one), size and
// modification time.
func (s *moduleSource) unchanged() bool {
	last := s.lastRead
	if last == nil {
		return false
	}
	fi, err := os.Stat(s.cfg.Module)
	return err == nil && os.SameFile(fi, last) && fi.Size() == last.Size() && fi.ModTime().Equal(last.ModTime())
}

// builtinBytes is the built-in bundle, decompressed once for the
// processors that start together: the default config's four load the same
// module, and each decompression took about 40 ms of their start. The
// bytes are shared and never written. Once compiled they are not needed:
// a second after the last start using them calls done, they are let go
// (4 MiB of a started Collector's heap of 16), before the host returns
// the memory compiling left behind; a later start, after a configuration
// reload, decompresses them again.
func builtinBytes() (bin []byte, done func(), err error) {
	c := &builtinCache
	c.Lock()
	defer c.Unlock()
	if c.bin == nil {
		raw, err := builtins.ReadFile(builtinModule)
		if err != nil {
			return nil, nil, err
		}
		if c.bin, err = gunzipModule(raw); err != nil {
			return nil, nil, err
		}
		wasmhost.TrustModule(c.bin) // wasmcol's own build: compiles in parallel
	}
	c.users++
	if c.drop != nil {
		c.drop.Stop()
	}
	return c.bin, sync.OnceFunc(func() {
		c.Lock()
		defer c.Unlock()
		if c.users--; c.users > 0 {
			return
		}
		c.drop = time.AfterFunc(builtinKeep, func() {
			c.Lock()
			defer c.Unlock()
			if c.users == 0 {
				c.bin = nil
			}
		})
	}), nil
}

var builtinCache struct {
	sync.Mutex
	bin   []byte
	users int // starts between builtinBytes and their done
	drop  *time.Timer
}

// builtinKeep is how long the built-in bundle's bytes outlive the last
// start that used them: processors start one after another, and less
// than the host waits before it returns the memory compiling left behind.
const builtinKeep = time.Second

func gunzipModule(raw []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	bin, err := io.ReadAll(io.LimitReader(zr, maxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("corrupt gzip: %w", err)
	}
	if len(bin) > maxModuleSize {
		return nil, fmt.Errorf("larger than %d MiB uncompressed", maxModuleSize>>20)
	}
	return bin, nil
}
