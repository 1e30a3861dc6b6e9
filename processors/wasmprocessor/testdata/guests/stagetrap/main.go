// SPDX-License-Identifier: Apache-2.0

// Command stagetrap is a hostile filter that edits every span and then
// fails, to prove that a failing call changes nothing. The SDK keeps edits
// in the guest until the filter returns, so this filter also pushes an
// edit list straight to the host's edit import first: the host then holds
// staged edits for a call that is about to fail. Config "then" picks the
// failure: "panic" (kind guest), "loop" (kind timeout) or "exit" (the
// module calls proc_exit, kind trap).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o stagetrap.wasm .
package main

import (
	"fmt"
	"os"
	"unsafe"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

//go:wasmimport wasmcol edit
func hostEdit(p unsafe.Pointer, n uint32) int32

type stagetrap struct{ then string }

func (f *stagetrap) Init(c wasmcol.Config) error {
	var cfg struct {
		Then string `json:"then"`
	}
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	switch cfg.Then {
	case "panic", "loop", "exit":
	default:
		return fmt.Errorf("stagetrap: then must be panic, loop or exit, got %q", cfg.Then)
	}
	f.then = cfg.Then
	return nil
}

func (f *stagetrap) ProcessTraces(t wasmcol.Traces) error {
	var raw []byte
	for s := range t.Spans() {
		s.SetAttr("stagetrap", wasmcol.Str("edited"))
		s.SetName("renamed by stagetrap")
		raw = abi.AppendEditHeader(raw, abi.OpSetAttr, abi.TableSpan, uint32(s.Index()))
		raw = abi.AppendStrValue(abi.AppendStr(raw, "stagetrap.host"), "edited")
		raw = abi.AppendEditHeader(raw, abi.OpDrop, abi.TableSpan, uint32(s.Index()))
	}
	if rc := hostEdit(unsafe.Pointer(unsafe.SliceData(raw)), uint32(len(raw))); rc < 0 {
		return fmt.Errorf("stagetrap: the host refused the edit list: %s", abi.ErrorText(rc))
	}
	switch f.then {
	case "panic":
		panic("stagetrap: failing after staging edits")
	case "exit":
		os.Exit(3)
	}
	for {
	}
}

func init() { wasmcol.Register(&stagetrap{}) }

func main() {}
