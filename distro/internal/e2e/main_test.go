// SPDX-License-Identifier: Apache-2.0

// Package e2e runs the built distribution, bin/wasmcol, as a process and
// talks to it only with real clients: zipkin-go's HTTP reporter as Knative's
// OpenCensus exporter, the OpenTelemetry Go SDK's OTLP gRPC and HTTP
// exporters as coinflip, the KEDA interceptor and Knative 1.19+, and it
// receives what the distribution exports with the Collector's own OTLP
// receiver or a real Jaeger (exporters/jaegerexporter/jaegertest).
//
// Every listener, the binary's and the test's, is on 127.0.0.1 at a port
// that was free a moment before, so the suite runs beside other tests and
// other collectors on the same machine.
//
// Like internal/shipped, it lives outside package main so that ocb never
// touches it.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/jaegertest"
)

// repoRoot is where the tests find bin/ and distro/; `go test` runs in the
// package directory, distro/internal/e2e.
const repoRoot = "../../.."

// wasmCacheDir is shared by every wasmcol the suite starts (see
// withCompileCache); TestMain creates it and removes it afterwards.
var wasmCacheDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wasmcol-e2e-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating the compile cache:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	wasmCacheDir = dir

	// jaegertest looks for bin/all-in-one next to the nearest go.mod, which
	// from here is the distro module's, not the repository's.
	if os.Getenv(jaegertest.EnvBinary) == "" {
		abs, err := filepath.Abs(filepath.Join(repoRoot, "bin", "all-in-one"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.Setenv(jaegertest.EnvBinary, abs)
	}
	return m.Run()
}
