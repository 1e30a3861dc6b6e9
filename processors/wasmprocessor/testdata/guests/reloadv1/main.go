// SPDX-License-Identifier: Apache-2.0

// Command reloadv1 is version 1 of a filter that the hot-reload test swaps
// in and out: it sets filter.version=1 on every span. A batch with a span
// named "slow" waits until version 2 has started (reloadv2 says so in the
// shared key-value store, which outlives a reload), so the test knows that
// this batch was in flight during the swap.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o reloadv1.wasm .
package main

import (
	"errors"
	"time"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type version struct{}

func (version) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		if s.Name() == "slow" {
			if err := awaitV2(t.Host().KV()); err != nil {
				return err
			}
		}
		s.SetAttr("filter.version", wasmcol.Int(1))
	}
	return nil
}

func awaitV2(kv wasmcol.KV) error {
	for range 3000 {
		if _, ok, err := kv.Get("reloadv2.started"); err != nil || ok {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("reloadv1: version 2 did not start within 30s")
}

func init() { wasmcol.Register(version{}) }

func main() {}
