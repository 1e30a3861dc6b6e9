// SPDX-License-Identifier: Apache-2.0

package main

import (
	"reflect"
	"testing"

	"github.com/wasmcol/wasmcol/examples/coinflip/coinflip"
	"github.com/wasmcol/wasmcol/examples/kedify/kedify"
	"github.com/wasmcol/wasmcol/examples/knative-hops/knativehops"
	"github.com/wasmcol/wasmcol/examples/sampler/sampler"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

// Each builtin:<name> runs that filter: the module chooses as it does in
// the Collector (sdktest.Registered), and the four filters are distinct
// types, so a name mapped to another package's filter fails. Each filter's
// own tests, natively and as builtin:<name> in the real processor, cover
// what it does.
func TestEachNameRunsItsFilter(t *testing.T) {
	for name, want := range map[string]any{
		"knative-hops": knativehops.New(),
		"coinflip":     coinflip.New(),
		"kedify":       kedify.New(),
		"sampler":      sampler.New(),
	} {
		f, err := sdktest.Registered(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if reflect.TypeOf(f) != reflect.TypeOf(want) {
			t.Errorf("%s runs a %T, want the %T", name, f, want)
		}
	}
}

func TestUnknownNameListsTheBuiltins(t *testing.T) {
	_, err := sdktest.Registered("knative-hop")
	want := `wasmcol: this module holds no filter named "knative-hop" (it holds coinflip, kedify, knative-hops, sampler)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
