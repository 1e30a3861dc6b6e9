// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// oneMemoryPage is the smallest module with a memory: the host functions
// read and write guest memory through it.
var oneMemoryPage = []byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x00\x01")

var hostFuncs = []api.GoModuleFunc{
	inBatch(hostLen), inBatch(hostColumn), inCall(hostRead), inBatch(hostEdit), inCall(hostConfig),
	inCall(hostLog), inCall(hostFail), inBatch(hostOTLPGet), inBatch(hostOTLPSet), inCall(hostKVGet),
	inCall(hostKVSet), inCall(hostKVCAS), inCall(hostKVDelete), inCall(hostCounterAdd),
	inBatch(hostSelect), inBatch(hostEditWhere), inBatch(hostCopyAttr), inCall(hostFilterName),
	inBatch(hostRefine),
}

// FuzzHostFunctions calls every host function with arbitrary arguments, as
// a hostile guest could: pointers and lengths anywhere, tables and fields
// that do not exist, calls in any order. The host must answer with a result
// or an error code, never panic.
func FuzzHostFunctions(f *testing.F) {
	f.Add(uint8(1), uint32(3), uint32(3), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(2), uint32(0), uint32(65536), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(3), uint32(65530), uint32(100), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(11), uint32(0), uint32(4), uint32(0), uint32(0xFFFFFFFF), uint32(8), uint32(4), uint32(0), uint32(0), uint32(0))
	// select: spans by name, a list of one empty string, the bitmap at 1024
	f.Add(uint8(14), uint32(3), uint32(3), uint32(0), uint32(0), uint32(abi.MatchPrefix), uint32(0), uint32(4), uint32(1024), uint32(200))
	// refine: span attribute "\x00\x00" present, the selection at 1024
	f.Add(uint8(18), uint32(3), uint32(0), uint32(0), uint32(2), uint32(abi.MatchPresent), uint32(0), uint32(4), uint32(1024), uint32(200))
	// edit_where: whatever the memory holds as the operation, every item
	f.Add(uint8(15), uint32(0), uint32(6), uint32(0), uint32(8), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0))
	// copy_attr onto the parent, every item selected
	f.Add(uint8(16), uint32(4), uint32(0), uint32(2), uint32(0), uint32(2), uint32(0), uint32(64), uint32(1), uint32(0))
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, oneMemoryPage)
	if err != nil {
		f.Fatal(err)
	}
	base := benchdata.RandomTraces(1, 50)
	f.Fuzz(func(t *testing.T, fn uint8, a, b, c, d, e, g, h, i, j uint32) {
		st := &callState{
			shared: &shared{config: []byte("{}"), log: newGuestLog(zap.NewNop(), 10, 50), kv: newKV(), counters: &counters{},
				mem: &hostMemory{limit: 4 << 20}},
			limits: limitsFor(4 << 20),
			guard:  newGuard(StackLimit),
		}
		if fn&0x80 == 0 { // half the time, inside a batch
			st.begin(abi.SignalTraces)
			st.t.traces = base
		}
		call := context.WithValue(ctx, stateKey{}, st)
		stack := []uint64{uint64(a), uint64(b), uint64(c), uint64(d), uint64(e), uint64(g), uint64(h), uint64(i), uint64(j)}
		// A fresh result, so read has something to copy.
		hostFuncs[1](call, mod, []uint64{abi.TableSpan, abi.FieldName, 0, 0, 0, 0})
		hostFuncs[int(fn&0x7F)%len(hostFuncs)](call, mod, stack)
		if rc := api.DecodeI32(stack[0]); rc < abi.ErrNotFound {
			t.Fatalf("unknown error code %d", rc)
		}
		if len(st.edits) > 0 {
			_ = st.ed.apply(st.edits)
		}
	})
}

// FuzzEdits applies arbitrary edit lists. An edit list is applied whole or
// not at all: when the host rejects one, the batch must be exactly as it was.
func FuzzEdits(f *testing.F) {
	valid := abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 1)
	valid = abi.AppendStrValue(abi.AppendStr(valid, "k"), "v")
	valid = abi.AppendEditHeader(valid, abi.OpDrop, abi.TableSpan, 2)
	f.Add(valid)
	f.Add(append(append([]byte{}, valid...), abi.OpSetField, abi.TableSpan, 0, 0, 0, 0, abi.FieldKind, abi.TagInt))
	f.Add(binary.LittleEndian.AppendUint32([]byte{abi.OpRenameAttr, abi.TableEvent}, 0))
	base := benchdata.RandomTraces(7, 40)
	f.Fuzz(func(t *testing.T, ops []byte) {
		td := ptrace.NewTraces()
		base.CopyTo(td)
		var tb tables
		tb.reset(abi.SignalTraces)
		tb.traces = td
		ed := editor{t: &tb}
		if err := ed.apply(ops); err != nil {
			if cerr := ptracetest.CompareTraces(base, td); cerr != nil {
				t.Fatalf("rejected edit list %x changed the batch: %v", ops, cerr)
			}
		}
	})
}

// FuzzInitialMemoryPages feeds the pre-compile memory-section reader bytes
// no validator has seen yet: it must return an error, never panic.
func FuzzInitialMemoryPages(f *testing.F) {
	f.Add(oneMemoryPage)
	// A section size of 2^64-1 in ten bytes: negative as an int.
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x01\x00\x01"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\x80"))
	f.Fuzz(func(t *testing.T, bin []byte) {
		pages, err := initialMemoryPages(bin)
		if err == nil && pages > 1<<32 {
			t.Fatalf("%d pages from %d bytes", pages, len(bin))
		}
	})
}
