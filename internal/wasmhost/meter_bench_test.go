// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmcol/wasmcol/internal/guestbuild"
)

// BenchmarkMeterOverhead times guest code alone (the compute guest's
// `compute`, a thousand names through the kind of Go a filter runs) three
// ways: as compiled, unmetered; with checks at loop headers only, as the
// host did before function entries, bulk operations and the stack were
// metered; and as the host runs it now. The ratio of the last to the first
// is what the sandbox costs Go guest code.
func BenchmarkMeterOverhead(b *testing.B) {
	bin := guestbuild.Read(b, guestbuild.Go(b, "testdata/guests/compute"))
	ctx := context.Background()
	for _, variant := range []struct {
		name string
		lim  *meterLimits
	}{
		{"unmetered", nil},
		{"loops-only", &meterLimits{StackBytes: StackLimit, TableElems: TableLimit, loopsOnly: true}},
		{"metered", &meterLimits{StackBytes: StackLimit, TableElems: TableLimit}},
	} {
		b.Run(variant.name, func(b *testing.B) {
			mod := bin
			if variant.lim != nil {
				var err error
				if mod, err = instrument(bin, *variant.lim); err != nil {
					b.Fatal(err)
				}
			}
			r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
			defer r.Close(ctx)
			if err := instantiateWASI(ctx, r); err != nil {
				b.Fatal(err)
			}
			if _, err := Instantiate(ctx, r); err != nil {
				b.Fatal(err)
			}
			compiled, err := r.CompileModule(ctx, mod)
			if err != nil {
				b.Fatal(err)
			}
			m, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
			if err != nil {
				b.Fatal(err)
			}
			fn := m.ExportedFunction("compute")
			stack := make([]uint64, 1)
			for b.Loop() {
				if err := fn.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
