// SPDX-License-Identifier: Apache-2.0

//go:build wasm

package wasmcol

import (
	"fmt"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// The module's exports. A Go guest is built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o filter.wasm .
//
// and the host calls _initialize (which runs init and so Register) first,
// then wasmcol_signals, where the filter is chosen.

//go:wasmexport wasmcol_abi_version
func exportABIVersion() int32 { return abi.Version }

//go:wasmexport wasmcol_signals
func exportSignals() int32 {
	f, err := active()
	if err != nil {
		return 0 // wasmcol_init, called next, reports why
	}
	return signals(f)
}

//go:wasmexport wasmcol_init
func exportInit() int32 {
	return report(func() error {
		f, err := active()
		if err != nil {
			return err
		}
		return initFilter(hostcall.Wasm{}, f)
	})
}

//go:wasmexport wasmcol_process
func exportProcess(signal int32) int32 {
	return report(func() error {
		f, err := active()
		if err != nil {
			return err
		}
		return process(&current, hostcall.Wasm{}, signal, f)
	})
}

// choice is the filter this instance runs, chosen once: the host names one
// filter per instance, for the instance's whole life.
var choice struct {
	made   bool
	filter any
	err    error
}

func active() (any, error) {
	if !choice.made {
		choice.filter, choice.err = chooseFilter(hostcall.Wasm{})
		choice.made = true
	}
	return choice.filter, choice.err
}

// report turns an error or a panic into the ABI's failure result. A panic
// is reported with its message rather than left to crash the module, so the
// operator sees why; the host replaces the instance either way.
func report(run func() error) (rc int32) {
	defer func() {
		if r := recover(); r != nil {
			hostcall.Wasm{}.Fail(fmt.Sprintf("panic: %v", r))
			rc = abi.ResultError
		}
	}()
	if err := run(); err != nil {
		hostcall.Wasm{}.Fail(err.Error())
		return abi.ResultError
	}
	return abi.ResultOK
}
