// SPDX-License-Identifier: Apache-2.0

// This file is written by hand: ocb generates the rest of package main
// (main*.go, components.go) and leaves it alone, and `make distro-check`
// compares only what ocb writes.

package main

import (
	"os"

	"github.com/wasmcol/wasmcol/internal/cli"
)

// init runs wasmcol's own subcommands (`wasmcol push ...`; `wasmcol
// commands` lists them) before main builds the Collector's command line,
// which would reject them. Any other arguments go on to the Collector.
func init() {
	if len(os.Args) < 2 {
		return
	}
	if code, handled := cli.Run(os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}); handled {
		os.Exit(code)
	}
}
