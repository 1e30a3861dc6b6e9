// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
)

const precompileUsage = `usage: wasmcol precompile [flags] [MODULE...]

Compiles Wasm modules into the compilation cache, as the wasm processor
does at start, so that a start that finds them there skips compiling: a
Go filter takes one to two seconds to compile. MODULE is written as the
processor's module key is (builtin:NAME, a .wasm or .wasm.gz path, or
oci://...); with none, the built-in filters, which are one module. Run
it where the Collector will run, or at image build on the same CPU
architecture: compiled code is tied to wazero's version and the CPU's
features, and a start ignores entries that do not match.

flags:
`

// precompile implements `wasmcol precompile`.
func precompile(args []string, io IO) int {
	fs := flag.NewFlagSet("precompile", flag.ContinueOnError)
	fs.SetOutput(io.Stderr)
	fs.Usage = func() {
		fmt.Fprint(io.Stderr, precompileUsage)
		fs.PrintDefaults()
	}
	dir := fs.String("cache-dir", "", "the cache directory (default: the user cache directory's wasmcol, where the processor looks when cache_dir is not set)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	used, err := wasmprocessor.Precompile(context.Background(), *dir, fs.Args(), zap.NewNop())
	if err != nil {
		fmt.Fprintln(io.Stderr, "wasmcol precompile:", err)
		return 1
	}
	n := fs.NArg()
	what := fmt.Sprintf("%d modules", n)
	if n == 0 {
		what = "the built-in filters"
	}
	fmt.Fprintf(io.Stdout, "compiled %s into %s\n", what, used)
	return 0
}
