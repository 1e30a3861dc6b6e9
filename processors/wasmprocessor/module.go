// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
)

const builtinPrefix = "builtin:"

// maxModuleSize bounds a decompressed module, so a gzip bomb in a ConfigMap
// cannot exhaust the Collector's memory at start.
const maxModuleSize = 256 << 20

// builtins holds the example filters, compiled and gzipped into builtin/ by
// `make builtins` and committed, so every build of the module has them. A
// build without them still works; their names are then simply unknown.
//
//go:embed builtin
var builtins embed.FS

func builtinNames() []string {
	entries, _ := fs.ReadDir(builtins, "builtin")
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".wasm.gz"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return []string{"none: processors/wasmprocessor/builtin held no .wasm.gz when this binary was built (`make builtins` makes them)"}
	}
	return names
}

func hasBuiltin(name string) bool {
	_, err := fs.Stat(builtins, "builtin/"+name+".wasm.gz")
	return err == nil
}

// loadModule reads the module named by cfg.Module, decompressing .gz and
// built-in modules, and checks the sha256 pin against the Wasm bytes.
func loadModule(cfg *Config) ([]byte, error) {
	var raw []byte
	var err error
	gz := strings.HasSuffix(cfg.Module, ".gz")
	if name, ok := strings.CutPrefix(cfg.Module, builtinPrefix); ok {
		raw, err = builtins.ReadFile("builtin/" + name + ".wasm.gz")
		gz = true
		if err != nil {
			return nil, fmt.Errorf("module %q: not built into this binary", cfg.Module)
		}
	} else if raw, err = os.ReadFile(cfg.Module); err != nil {
		return nil, fmt.Errorf("module %q: %w", cfg.Module, err)
	}
	bin := raw
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("module %q: not gzip: %w", cfg.Module, err)
		}
		bin, err = io.ReadAll(io.LimitReader(zr, maxModuleSize+1))
		if err != nil {
			return nil, fmt.Errorf("module %q: corrupt gzip: %w", cfg.Module, err)
		}
		if len(bin) > maxModuleSize {
			return nil, fmt.Errorf("module %q: larger than %d MiB uncompressed", cfg.Module, maxModuleSize>>20)
		}
	}
	if cfg.SHA256 != "" {
		sum := sha256.Sum256(bin)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, cfg.SHA256) {
			return nil, fmt.Errorf("module %q: sha256 is %s, config pins %s", cfg.Module, got, cfg.SHA256)
		}
	}
	return bin, nil
}
