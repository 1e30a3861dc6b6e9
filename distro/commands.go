// SPDX-License-Identifier: Apache-2.0

// This file is written by hand: ocb generates the rest of package main
// (main*.go, components.go) and leaves it alone, and `make distro-check`
// compares only what ocb writes.

package main

import (
	"os"

	"go.opentelemetry.io/collector/featuregate"

	"github.com/wasmcol/wasmcol/internal/cli"
)

// componentStatusGate makes the health_check extension answer from the
// components' status events: a wasm processor reports a recoverable error
// while its watchdog sees a guest call stuck past its deadline, and with
// component_health in the config (distro/config.yaml) the health endpoint
// is then not ready. --feature-gates=-extension.healthcheck.useComponentStatus
// restores the extension's older behaviour.
const componentStatusGate = "extension.healthcheck.useComponentStatus"

// init runs wasmcol's own subcommands (`wasmcol push ...`; `wasmcol
// commands` lists them) before main builds the Collector's command line,
// which would reject them. Any other arguments go on to the Collector.
func init() {
	// A default, not a choice: the command line, parsed later, overrides it.
	_ = featuregate.GlobalRegistry().Set(componentStatusGate, true)
	if len(os.Args) < 2 {
		return
	}
	if code, handled := cli.Run(os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}); handled {
		os.Exit(code)
	}
}
