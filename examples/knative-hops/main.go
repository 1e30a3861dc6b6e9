// SPDX-License-Identifier: Apache-2.0

// Command knative-hops is a wasmcol filter that tags every Knative Eventing
// and Serving hop with one vocabulary, whether the span comes from the
// OpenCensus/Zipkin era (Knative up to 1.18) or the OpenTelemetry era
// (1.19 on). See README.md for what it recognises and its config.
//
// The filter's code and tests are in package knativehops, so that the
// built-in filters' module (examples/builtins) can hold it too. Build it
// with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o knative-hops.wasm .
package main

import (
	"github.com/wasmcol/wasmcol/examples/knative-hops/knativehops"
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(knativehops.New()) }

func main() {}
