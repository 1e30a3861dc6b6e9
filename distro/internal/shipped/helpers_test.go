// SPDX-License-Identifier: Apache-2.0

// Package shipped tests what the repository ships (configs, Kubernetes
// manifests, the Dockerfile) against the binary users run: bin/wasmcol as
// built by `make distro`, the same command as the Dockerfile's build stage.
//
// It lives outside package main so that ocb, which rewrites main*.go,
// components.go, go.mod and go.sum in distro/, never touches it, and so that
// compiling the tests does not link the whole collector a second time.
package shipped

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// repoRoot is where the tests find the shipped files; `go test` runs in the
// package directory, distro/internal/shipped.
const repoRoot = "../../.."

// wasmcolBinary returns the absolute path of the binary under test.
//
// It never builds the binary itself: `make distro-test` builds it first with
// the release flags, and building it here with other flags would test a
// different artifact. WASMCOL_BIN points the tests at another build.
func wasmcolBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("WASMCOL_BIN")
	if path == "" {
		path = filepath.Join(repoRoot, "bin", "wasmcol")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("resolving %s: %v", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("the wasmcol binary is missing (%v): run `make distro` (or `make distro-test`, which builds it first), or set WASMCOL_BIN", err)
	}
	return abs
}

// runResult is what a finished wasmcol invocation printed and returned.
type runResult struct {
	out string // stdout and stderr interleaved, as a user would see them
	err error
}

// runWasmcol runs the binary with args in dir and an environment that holds
// only PATH plus env, so that WASMCOL_* variables in the developer's shell
// cannot change the outcome.
func runWasmcol(t *testing.T, bin, dir string, env []string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wasmcol %s did not finish within the timeout; output:\n%s", strings.Join(args, " "), out.String())
	}
	return runResult{out: out.String(), err: err}
}

// readYAMLDocs decodes every document of a (possibly multi-document) YAML
// file, skipping empty ones.
func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("parsing %s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs
}

// dig walks nested maps along keys and returns nil when a step is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// yamlFiles lists the .yaml and .yml files under root, recursively.
func yamlFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no YAML files under %s", root)
	}
	return files
}
