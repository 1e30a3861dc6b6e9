// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// Precompile compiles modules (the built-in filters when there are none)
// into the compilation cache at dir, or at the default cache directory when
// dir is "", as the processor would at start: a processor that later loads
// one of them, with the same cache, skips compiling it. It is what
// `wasmcol precompile` runs, at image build time for instance. It returns
// the directory used.
//
// # Notes
//   - Compiled code is tied to wazero's version and the CPU's features;
//     a cache from another build or machine is ignored, not trusted.
//   - Each distinct module compiles once: the built-ins are one module,
//     whichever and however many builtin:<name> are named.
func Precompile(ctx context.Context, dir string, modules []string, logger *zap.Logger) (string, error) {
	if dir == "" {
		if dir = defaultCacheDir(); dir == "" {
			return "", errors.New("no writable user cache directory: name one")
		}
	}
	cache, err := diskCache(dir)
	if err != nil {
		return "", err
	}
	if len(modules) == 0 {
		for _, name := range builtinList() {
			modules = append(modules, builtinPrefix+name)
		}
	}
	done := map[[sha256.Size]byte]bool{}
	for _, module := range modules {
		src, err := newModuleSource(&Config{Module: module, CacheDir: dir}, logger)
		if err != nil {
			return "", fmt.Errorf("%s: %w", module, err)
		}
		bin, _, err := src.load(ctx)
		if err != nil {
			return "", err
		}
		if sum := sha256.Sum256(bin); !done[sum] {
			if err := wasmhost.Precompile(ctx, cache, bin); err != nil {
				return "", fmt.Errorf("%s: %w", module, err)
			}
			done[sum] = true
		}
	}
	return dir, nil
}
