// SPDX-License-Identifier: Apache-2.0

// Package guestbuild compiles guests from source for tests and benchmarks:
// Go guests with the same command as the Makefile, WAT with wat2wasm. It
// has no dependency on the host, so the host's own tests can use it.
package guestbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Go compiles the Go guest in dir to Wasm with the same command the
// Makefile uses and returns the .wasm path. Builds are cached per process.
func Go(tb testing.TB, dir string) string {
	tb.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if out, ok := built[abs]; ok {
		return out
	}
	outDir, err := os.MkdirTemp("", "wasmcol-guest-")
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(outDir, filepath.Base(abs)+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building guest %s: %v\n%s", dir, err, msg)
	}
	built[abs] = out
	return out
}

// WAT assembles a WebAssembly text file with wat2wasm (Debian package
// wabt, installed by `make tools`) and returns the .wasm path.
func WAT(tb testing.TB, watPath string) string {
	tb.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		tb.Fatal("wat2wasm not found: run `make tools` (installs the wabt package)")
	}
	out := filepath.Join(tb.TempDir(), strings.TrimSuffix(filepath.Base(watPath), ".wat")+".wasm")
	if msg, err := exec.Command("wat2wasm", watPath, "-o", out).CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm %s: %v\n%s", watPath, err, msg)
	}
	return out
}

// Read returns the bytes of path or fails the test.
func Read(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
