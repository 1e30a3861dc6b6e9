// SPDX-License-Identifier: Apache-2.0

// Package sdktest runs a wasmcol filter under plain go test, against an
// emulated host that serves the same tables, columns and edit semantics as
// the Collector's. Batches go in and come out as OTLP/JSON, the format the
// Collector's file exporter writes, so fixtures can be captured from a real
// pipeline. It has no dependencies beyond the standard library.
//
// The emulator keeps no package-level state: tests that use it may run in
// parallel.
package sdktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"sync"

	// The SDK wires hostcall.Init/Process/Signals in its init; a filter
	// under test imports it anyway, but this makes sdktest self-sufficient.
	_ "github.com/wasmcol/wasmcol/wasm-sdk"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// Run runs filter on one batch, the way one processor would: Init (if
// filter implements wasmcol.Initializer) with configJSON, then the process
// method for signal.
//
//	out, err := sdktest.Run(&tagger{}, abi.SignalTraces, `{"key":"env"}`, in)
//
// # Notes
//   - signal is abi.SignalTraces, abi.SignalMetrics or abi.SignalLogs.
//   - in and out are OTLP/JSON, as the Collector's file exporter and pdata's
//     JSON marshaler write them. out is compact; see Golden to compare it.
//   - The error is the filter's, with the message the host would report:
//     a panic becomes "panic: <value>", invalid edits fail the whole call
//     and apply none of them. Only the message survives, as in the host, so
//     errors.Is on a filter's sentinel error does not hold.
//   - configJSON "" means no config, which the filter reads as "{}".
func Run(filter any, signal int32, configJSON string, in []byte) (out []byte, err error) {
	e, err := New(filter, configJSON)
	if err != nil {
		return nil, err
	}
	return e.process(signal, in)
}

// Emulator is one emulated processor: it keeps the key-value store,
// counters and log lines across batches, as one processor does.
//
//	e, err := sdktest.New(&dedup{}, "")
//	out1, err := e.Logs(batch1)
//	out2, err := e.Logs(batch2) // sees what batch1 stored
//
// # Notes
//   - Its methods are safe for concurrent use as far as the emulator goes,
//     but every call shares the one filter value, so concurrent calls race
//     on whatever state the filter keeps. The Collector gives each Wasm
//     instance its own memory, and replaces an instance after a failure.
type Emulator struct {
	filter any
	config []byte

	mu       sync.Mutex
	kv       map[string][]byte
	counters map[string]int64
	logs     []string
}

// New makes an Emulator for filter and runs its Init with configJSON.
//
//	e, err := sdktest.New(&tagger{}, `{"key":"env"}`)
//
// # Notes
//   - It fails, like wasmcol.Register, when filter implements none of
//     TracesFilter, MetricsFilter and LogsFilter, and when configJSON is
//     neither "" nor valid JSON.
func New(filter any, configJSON string) (*Emulator, error) {
	if hostcall.Signals(filter) == 0 {
		return nil, fmt.Errorf("sdktest: %T implements none of TracesFilter, MetricsFilter, LogsFilter", filter)
	}
	config := []byte(configJSON)
	if configJSON == "" {
		config = []byte("{}")
	} else if !json.Valid(config) {
		return nil, fmt.Errorf("sdktest: config is not valid JSON: %s", configJSON)
	}
	e := &Emulator{
		filter:   filter,
		config:   config,
		kv:       map[string][]byte{},
		counters: map[string]int64{},
	}
	h := &callHost{e: e}
	if err := guard(func() error { return hostcall.Init(h, filter) }); err != nil {
		return nil, err
	}
	return e, nil
}

// Registered returns the filter that this test binary's module runs when
// the host names name, as the module's exports choose it in the
// Collector. It is how a test reaches each filter of a module that holds
// several (wasmcol.RegisterAs):
//
//	f, err := sdktest.Registered("tagger")
//	sdktest.Golden(t, f, `{"key":"env"}`, "testdata/tag_env")
//
// # Notes
//   - The module's filters are those its init registered: the test must
//     run in the module's main package, or import the package that
//     registers them.
//   - The choice is the module's: the filter of wasmcol.Register whatever
//     the name; the filter RegisterAs added under name; otherwise the
//     error the module's start would fail with, listing the names it
//     holds (for an unknown name, for "", or when both Register and
//     RegisterAs were called).
func Registered(name string) (any, error) {
	return hostcall.Choose(&callHost{e: &Emulator{config: []byte("{}")}, name: name})
}

// Traces runs the filter on one OTLP/JSON traces batch ({"resourceSpans":...}).
func (e *Emulator) Traces(in []byte) ([]byte, error) { return e.process(abi.SignalTraces, in) }

// Metrics runs the filter on one OTLP/JSON metrics batch ({"resourceMetrics":...}).
func (e *Emulator) Metrics(in []byte) ([]byte, error) { return e.process(abi.SignalMetrics, in) }

// Logs runs the filter on one OTLP/JSON logs batch ({"resourceLogs":...}).
func (e *Emulator) Logs(in []byte) ([]byte, error) { return e.process(abi.SignalLogs, in) }

// Counters is a copy of every counter the filter has added to.
func (e *Emulator) Counters() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.counters)
}

// LogLines is a copy of what the filter logged, one "level: message" per
// call, such as "warn: missing key". Like the host it cuts a line to 2 KiB,
// drops trailing newlines and logs an unknown level as info; unlike the
// host it keeps every line, where the host rate-limits.
func (e *Emulator) LogLines() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.logs)
}

func (e *Emulator) process(signal int32, in []byte) ([]byte, error) {
	var t *tables
	switch signal {
	case abi.SignalTraces:
		d, err := parseTraces(in)
		if err != nil {
			return nil, err
		}
		t = flattenTraces(d)
	case abi.SignalMetrics:
		d, err := parseMetrics(in)
		if err != nil {
			return nil, err
		}
		t = flattenMetrics(d)
	case abi.SignalLogs:
		d, err := parseLogs(in)
		if err != nil {
			return nil, err
		}
		t = flattenLogs(d)
	default:
		return nil, fmt.Errorf("sdktest: unknown signal %d", signal)
	}
	h := &callHost{e: e, t: t}
	err := guard(func() error { return hostcall.Process(h, signal, e.filter) })
	h.expire()
	if err != nil {
		return nil, err
	}
	return e.finish(h, signal)
}

// finish applies what a successful call staged, a replacement batch or
// edits but not both, and encodes the result.
func (e *Emulator) finish(h *callHost, signal int32) ([]byte, error) {
	if h.otlp != nil {
		if len(h.edits) > 0 {
			return nil, errors.New("guest both replaced the batch and edited it")
		}
		doc, err := unmarshalSignal(signal, h.otlp)
		if err != nil {
			return nil, fmt.Errorf("SetOTLP payload: %w", err)
		}
		return encodeOTLP(doc)
	}
	if err := h.t.apply(h.edits); err != nil {
		return nil, err
	}
	return encodeOTLP(h.t.root())
}

func unmarshalSignal(signal int32, p []byte) (any, error) {
	switch signal {
	case abi.SignalTraces:
		return unmarshalTraces(p)
	case abi.SignalMetrics:
		return unmarshalMetrics(p)
	}
	return unmarshalLogs(p)
}

// guard runs a filter call and reports its failure as the host does: by
// message only, with a panic as "panic: <value>" (the SDK's Wasm entry
// points recover the same way). The stack goes to stderr, since under the
// emulator it points at the filter's own source.
func guard(call func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "sdktest: filter panicked: %v\n%s", r, debug.Stack())
			err = errors.New(truncate(fmt.Sprintf("panic: %v", r), maxFail))
		}
	}()
	if err := call(); err != nil {
		msg := truncate(err.Error(), maxFail)
		if msg == "" {
			msg = "no message"
		}
		return errors.New(msg)
	}
	return nil
}
