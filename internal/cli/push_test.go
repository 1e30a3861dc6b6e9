// SPDX-License-Identifier: Apache-2.0

package cli_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/cli"
	"github.com/wasmcol/wasmcol/internal/ocimodule"
	"github.com/wasmcol/wasmcol/internal/ocitest"
)

// wasm is a valid, empty Wasm module with a name section, so that the
// pushed artifact can be told apart; the processor's tests push real
// filters with the command.
var wasm = []byte("\x00asm\x01\x00\x00\x00\x00\x05\x04name")

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code, handled := cli.Run(args, cli.IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut})
	require.True(t, handled, "%v is a wasmcol command", args)
	return result{code, out.String(), errOut.String()}
}

func writeModule(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mine.wasm")
	require.NoError(t, os.WriteFile(path, wasm, 0o644))
	return path
}

func pull(t *testing.T, ref string) *ocimodule.Module {
	t.Helper()
	r, err := ocimodule.ParseReference(ref, true)
	require.NoError(t, err)
	mod, err := (&ocimodule.Client{PlainHTTP: true}).Pull(t.Context(), r)
	require.NoError(t, err)
	return mod
}

// TestPush pushes with the command, credentials from DOCKER_CONFIG, and
// pulls back what it printed.
func TestPush(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{User: "author", Password: "push-s3cret"})
	t.Setenv("DOCKER_CONFIG", ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, "author", "push-s3cret"))
	file := writeModule(t)

	// Flags after the arguments work too.
	res := run(t, "", "push", file, reg.Host+"/filters/mine:1.0", "--plain-http")
	require.Equal(t, 0, res.code, res.stderr)
	mod := pull(t, reg.Host+"/filters/mine:1.0")
	assert.Equal(t, wasm, mod.Wasm)
	assert.Contains(t, res.stdout, fmt.Sprintf("pushed %s/filters/mine:1.0 (%d bytes) as %s", reg.Host, len(wasm), mod.Digest))
	assert.Contains(t, res.stdout, "    module: oci://"+reg.Host+"/filters/mine@"+mod.Digest.String()+"\n")
	assert.Contains(t, res.stdout, fmt.Sprintf("    sha256: %x\n", sha256.Sum256(wasm)))
	assert.Contains(t, res.stdout, "    plain_http: true\n")

	// The printed pin pulls the same module.
	assert.Equal(t, wasm, pull(t, reg.Host+"/filters/mine@"+mod.Digest.String()).Wasm)
}

func TestPushGzipAndPasswordStdin(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{User: "author", Password: "push-s3cret"})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(wasm)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	file := filepath.Join(t.TempDir(), "mine.wasm.gz")
	require.NoError(t, os.WriteFile(file, gz.Bytes(), 0o644))

	res := run(t, "push-s3cret\n", "push", "--plain-http", "--username", "author", "--password-stdin", file, "oci://"+reg.Host+"/filters/mine:gz")
	require.Equal(t, 0, res.code, res.stderr)
	t.Setenv("DOCKER_CONFIG", ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, "author", "push-s3cret"))
	assert.Equal(t, wasm, pull(t, reg.Host+"/filters/mine:gz").Wasm, "pushed decompressed")

	t.Setenv("DOCKER_CONFIG", t.TempDir())
	res = run(t, "wrong\n", "push", "--plain-http", "--username", "author", "--password-stdin", file, reg.Host+"/filters/mine:gz")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "401 Unauthorized")
	assert.Contains(t, res.stderr, "the registry refused the credentials given")
	assert.NotContains(t, res.stderr, "wrong", "no credential in a message")
}

func TestPushFailures(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{User: "author", Password: "push-s3cret"})
	t.Setenv("DOCKER_CONFIG", ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, "author", "other"))
	file := writeModule(t)
	notWasm := filepath.Join(t.TempDir(), "script.wasm")
	require.NoError(t, os.WriteFile(notWasm, []byte("#!/bin/sh\n"), 0o644))
	target := reg.Host + "/filters/mine:1.0"

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"refused credentials", []string{file, target, "--plain-http"}, 1, "the registry refused the credentials for " + reg.Host},
		{"plain HTTP is explicit", []string{file, target}, 1, "use --plain-http"},
		{"not Wasm", []string{notWasm, target, "--plain-http"}, 1, "is not a Wasm module"},
		{"missing file", []string{filepath.Join(t.TempDir(), "none.wasm"), target, "--plain-http"}, 1, "no such file"},
		{"one argument", []string{file}, 2, "want FILE and REGISTRY/REPOSITORY:TAG, got 1 argument(s)"},
		{"no tag", []string{file, reg.Host + "/filters/mine"}, 2, "is not registry/repository:tag"},
		{"digest", []string{file, reg.Host + "/filters/mine@sha256:" + strings.Repeat("0", 64)}, 2, "push to a tag"},
		{"username alone", []string{"--username", "author", file, target}, 2, "--username and --password-stdin go together"},
		{"unknown flag", []string{"--insecure", file, target}, 2, "flag provided but not defined: -insecure"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, "", append([]string{"push"}, tc.args...)...)
			assert.Equal(t, tc.code, res.code)
			assert.Contains(t, res.stderr, tc.want)
			assert.Empty(t, res.stdout)
		})
	}
}

// TestRunLeavesTheCollectorsArguments: only wasmcol's own command names
// are claimed.
func TestRunLeavesTheCollectorsArguments(t *testing.T) {
	for _, args := range [][]string{nil, {"--config", "x.yaml"}, {"validate", "--config", "x.yaml"}, {"components"}, {"help"}} {
		_, handled := cli.Run(args, cli.IO{})
		assert.False(t, handled, "%v", args)
	}
	res := run(t, "", "commands")
	assert.Equal(t, 0, res.code)
	assert.Regexp(t, `(?m)^  push +push a Wasm filter to an OCI registry`, res.stdout)
	assert.Regexp(t, `(?m)^  precompile +compile Wasm filters`, res.stdout)
}
