// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// setFresh is an edit list setting fresh=yes on span 0; setOutOfRange is
// the same on span 99, which a one-span batch does not have, so that
// validation refuses the whole list.
var (
	setFresh      = abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "fresh"), "yes")
	setOutOfRange = abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 99), "fresh"), "yes")
)

// TestRefusedListsCountTowardsRecycling: an instance whose edit list
// validation refuses is kept, since the guest itself finished sound, but
// the call still counts towards max_calls_per_instance. Otherwise a guest
// whose every list is refused would never be recycled. The guest stages
// a valid list on its instance's first call and a refused one on every
// later call, so a tagged span shows that a new instance ran.
func TestRefusedListsCountTowardsRecycling(t *testing.T) {
	valid, invalid := 0, 64
	src := fmt.Sprintf(`(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const %d) "%s")
  (data (i32.const %d) "%s")
  (global $calls (mut i32) (i32.const 0))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.eqz (global.get $calls))
      (then (drop (call $edit (i32.const %d) (i32.const %d))))
      (else (drop (call $edit (i32.const %d) (i32.const %d)))))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.const 0)))`,
		valid, watData(setFresh), invalid, watData(setOutOfRange),
		valid, len(setFresh), invalid, len(setOutOfRange))
	bin := buildWAT(t, "refused", src)

	// run processes four batches and reports, for each, whether it came
	// out tagged (a new instance ran), and how many failed.
	run := func(t *testing.T, maxCalls int) (tagged []bool, faults int) {
		ctx := context.Background()
		p, err := wasmhost.New(ctx, wasmhost.Options{Source: "refused", Module: bin, PoolSize: 1, MaxCallsPerInstance: maxCalls})
		require.NoError(t, err)
		defer p.Close(ctx)
		for range 4 {
			out, err := p.ProcessTraces(ctx, emptySpans(1))
			if err != nil {
				var f *wasmhost.Fault
				require.True(t, errors.As(err, &f), "a refused list is a fault: %v", err)
				assert.Equal(t, wasmhost.FaultGuest, f.Kind)
				assert.Contains(t, err.Error(), "99", "the error names the edit's item")
				faults++
				tagged = append(tagged, false)
				continue
			}
			_, ok := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("fresh")
			tagged = append(tagged, ok)
		}
		return tagged, faults
	}

	t.Run("recycled after two calls", func(t *testing.T) {
		tagged, faults := run(t, 2)
		assert.Equal(t, []bool{true, false, true, false}, tagged, "the refused second call ends the instance's budget")
		assert.Equal(t, 2, faults)
	})
	t.Run("never recycled", func(t *testing.T) {
		tagged, faults := run(t, 0)
		assert.Equal(t, []bool{true, false, false, false}, tagged, "the instance is kept after a refused list")
		assert.Equal(t, 3, faults)
	})
}

// TestReplacedAndEdited: a guest that both stages a replacement batch and
// edits fails the call, in either order, and the batch passes untouched.
func TestReplacedAndEdited(t *testing.T) {
	edit := `(drop (call $edit (i32.const 0) (i32.const ` + fmt.Sprint(len(setFresh)) + `)))`
	replace := `(drop (call $set (i32.const 0) (i32.const 0)))` // an empty batch
	for name, body := range map[string]string{"edit then replace": edit + replace, "replace then edit": replace + edit} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			bin := buildWAT(t, "both", fmt.Sprintf(`(module
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "otlp_set" (func $set (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "%s")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    %s
    (i32.const 0)))`, watData(setFresh), body))
			p, err := wasmhost.New(ctx, wasmhost.Options{Source: "both", Module: bin, PoolSize: 1})
			require.NoError(t, err)
			defer p.Close(ctx)

			in := emptySpans(1) // one span, named s
			out, err := p.ProcessTraces(ctx, in)
			var f *wasmhost.Fault
			require.True(t, errors.As(err, &f), "want a fault, got %v", err)
			assert.Equal(t, wasmhost.FaultGuest, f.Kind)
			assert.Contains(t, err.Error(), "both replaced the batch and edited it")
			span := in.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			assert.Equal(t, "s", span.Name())
			assert.Equal(t, 0, span.Attributes().Len(), "nothing applied")
			assert.Equal(t, 1, out.SpanCount(), "the batch, not the empty replacement, is returned")
		})
	}
}
