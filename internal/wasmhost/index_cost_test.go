// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// nested is body inside length-delimited fields, the first innermost.
func nested(body []byte, fields ...int) []byte {
	for _, f := range fields {
		b := binary.AppendUvarint([]byte{byte(f<<3 | 2)}, uint64(len(body)))
		body = append(b, body...)
	}
	return body
}

// lenGuest asks the number of items of table, and nothing else.
func lenGuest(signal, table int) string {
	return fmt.Sprintf(`(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const %d))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (call $len (i32.const %d)))
    (i32.const 0)))`, signal, table)
}

// TestIndexCostsItsSize: a 4 MiB request (the shipped receivers' limit)
// of 2 million empty gauge points took 975 MiB and 0.6-3.4 s to index,
// past the deadline, for a guest that only asked how many resources there
// were: each point held four pdata wrappers, and the index grew by
// append. 2 million spans allocated 131 MiB for an index of 24. Items are
// now named by position and the index allocated once at its size.
func TestIndexCostsItsSize(t *testing.T) {
	const wire = 4 << 20
	md, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(nested(bytes.Repeat([]byte{1<<3 | 2, 0}, wire/2), 5, 2, 2, 1))
	require.NoError(t, err)
	require.Equal(t, wire/2, md.DataPointCount())
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(nested(bytes.Repeat([]byte{2<<3 | 2, 0}, wire/2), 2, 1))
	require.NoError(t, err)
	require.Equal(t, wire/2, td.SpanCount())
	for _, c := range []struct {
		name          string
		signal, table int
		run           func(*wasmhost.Plugin) error
	}{
		{"points", abi.SignalMetrics, abi.TablePoint, func(p *wasmhost.Plugin) error { _, err := p.ProcessMetrics(context.Background(), md); return err }},
		{"resources of points", abi.SignalMetrics, abi.TableResource, func(p *wasmhost.Plugin) error { _, err := p.ProcessMetrics(context.Background(), md); return err }},
		{"spans", abi.SignalTraces, abi.TableSpan, func(p *wasmhost.Plugin) error { _, err := p.ProcessTraces(context.Background(), td); return err }},
	} {
		p, err := wasmhost.New(context.Background(), wasmhost.Options{
			Source: c.name, Module: buildWAT(t, c.name, lenGuest(c.signal, c.table)), PoolSize: 1, Timeout: 10 * time.Second,
		})
		require.NoError(t, err)
		require.NoError(t, c.run(p)) // the first call grows the guest's memory
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		require.NoError(t, c.run(p))
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		// 12 bytes an item, 24 MiB; twice that would be a second copy.
		require.Less(t, allocated, uint64(40<<20), "%s: %d MiB allocated for an index of 2M items", c.name, allocated>>20)
		require.NoError(t, p.Close(context.Background()))
	}
}
