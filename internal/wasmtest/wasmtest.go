// SPDX-License-Identifier: Apache-2.0

// Package wasmtest runs guests under the real processor for tests and
// benchmarks across the repository.
package wasmtest

import "github.com/wasmcol/wasmcol/internal/guestbuild"

// BuildGuest compiles the Go guest in dir and returns the .wasm path.
var BuildGuest = guestbuild.Go

// BuildWAT assembles a WebAssembly text file and returns the .wasm path.
var BuildWAT = guestbuild.WAT

// Read returns the bytes of path or fails the test.
var Read = guestbuild.Read
