// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wasmcol/wasmcol/internal/ocimodule"
)

const pushUsage = `usage: wasmcol push [flags] FILE REGISTRY/REPOSITORY:TAG

Pushes the Wasm module FILE (.wasm, or .wasm.gz, which is decompressed) to
an OCI registry in the layout Istio's WasmPlugin pulls, and prints the
lines that pin it in a wasm processor's configuration.

Credentials come from the "auths" of the Docker config file
($DOCKER_CONFIG/config.json, else ~/.docker/config.json; credential helpers
are not run), or from --username with --password-stdin.

flags:
`

// push implements `wasmcol push`.
func push(args []string, io IO) int {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(io.Stderr)
	fs.Usage = func() {
		fmt.Fprint(io.Stderr, pushUsage)
		fs.PrintDefaults()
	}
	plainHTTP := fs.Bool("plain-http", false, "reach the registry over plain HTTP, without TLS")
	username := fs.String("username", "", "user name for the registry (with --password-stdin)")
	passwordStdin := fs.Bool("password-stdin", false, "read the registry password from standard input")
	timeout := fs.Duration("timeout", ocimodule.DefaultTimeout, "give up after this long")

	// Flags may come before, between or after the two arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(io.Stderr, "wasmcol push: "+format+"\n\n", a...)
		fs.Usage()
		return 2
	}
	if len(pos) != 2 {
		return usage("want FILE and REGISTRY/REPOSITORY:TAG, got %d argument(s)", len(pos))
	}
	if (*username != "") != *passwordStdin {
		return usage("--username and --password-stdin go together")
	}
	file, target := pos[0], strings.TrimPrefix(pos[1], ocimodule.Scheme)
	ref, err := ocimodule.ParseReference(target, *plainHTTP)
	if err != nil {
		return usage("%v", err)
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return usage("push to a tag; the digest is known only once pushed")
	}

	fail := func(err error) int {
		fmt.Fprintf(io.Stderr, "wasmcol push: %v\n", err)
		return 1
	}
	wasm, err := readModule(file)
	if err != nil {
		return fail(err)
	}
	client := &ocimodule.Client{PlainHTTP: *plainHTTP, Timeout: *timeout}
	if *passwordStdin {
		password, err := readPassword(io.Stdin)
		if err != nil {
			return fail(err)
		}
		client.Auth = &authn.Basic{Username: *username, Password: password}
	}
	title := strings.TrimSuffix(filepath.Base(file), ".gz")
	digest, err := client.Push(context.Background(), tag, wasm, title)
	if err != nil {
		if errors.Is(err, ocimodule.ErrPlainHTTP) {
			err = fmt.Errorf("%w (use --plain-http if the registry is meant to be reached without TLS)", err)
		}
		return fail(fmt.Errorf("%s: %w", tag, err))
	}

	fmt.Fprintf(io.Stdout, "pushed %s (%d bytes) as %s\n\n", tag, len(wasm), digest)
	fmt.Fprintf(io.Stdout, "to run exactly this module, pin it in the wasm processor:\n\n")
	fmt.Fprintf(io.Stdout, "    module: %s%s@%s\n", ocimodule.Scheme, tag.Context(), digest)
	fmt.Fprintf(io.Stdout, "    sha256: %x\n", sha256.Sum256(wasm))
	if *plainHTTP {
		fmt.Fprintf(io.Stdout, "    plain_http: true\n")
	}
	return 0
}

// readModule reads a .wasm file, or a .wasm.gz one decompressed, bounded
// as the processor bounds modules.
func readModule(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: not gzip: %w", file, err)
		}
		r = zr
	}
	b, err := io.ReadAll(io.LimitReader(r, ocimodule.MaxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(b) > ocimodule.MaxModuleSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", file, ocimodule.MaxModuleSize>>20)
	}
	if !bytes.HasPrefix(b, []byte("\x00asm")) {
		return nil, fmt.Errorf("%s is not a Wasm module (no \\0asm header)", file)
	}
	return b, nil
}

// readPassword reads the first line of r, as `docker login --password-stdin`.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	password, _, _ := strings.Cut(string(b), "\n")
	password = strings.TrimSuffix(password, "\r")
	if password == "" {
		return "", errors.New("--password-stdin: standard input holds no password")
	}
	return password, nil
}
