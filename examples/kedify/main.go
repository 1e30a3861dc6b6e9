// SPDX-License-Identifier: Apache-2.0

// Command kedify is a wasmcol filter that marks cold starts: the KEDA HTTP
// add-on interceptor's cold-start requests (with how long they waited), the
// Knative activator's long throttler_try spans, and requests that came
// through Kedify Proxy. See README.md for its config.
//
// The filter's code and tests are in package kedify, so that the
// built-in filters' module (examples/builtins) can hold it too. Build it
// with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o kedify.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/examples/kedify/kedify"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(kedify.New()) }

func main() {}
