// SPDX-License-Identifier: Apache-2.0

package wasmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
)

// Golden is the Wasm half of a filter's golden test: it builds the guest in
// guestDir, runs it in the real wasm processor on every batch of
// caseDir/input.json, and compares the results with caseDir/expected.json,
// the file sdktest.Golden writes. Both halves passing on the same files
// shows the emulator and the Collector agree on the filter.
//
//	func TestGoldenWasm(t *testing.T) { wasmtest.Golden(t, ".", `{"k":1}`, "testdata/case") }
//
// # Notes
//   - A batch the filter drops whole is compared with an empty batch.
//   - One processor per signal serves every batch of the file, so shared
//     state (the key-value store, counters) carries over, as in sdktest.
func Golden(tb testing.TB, guestDir, configJSON, caseDir string) {
	tb.Helper()
	GoldenModule(tb, BuildGuest(tb, guestDir), configJSON, caseDir)
}

// GoldenModule is Golden for a module the processor loads by its module
// key, such as builtin:knative-hops: the filter as it ships.
//
//	func TestGoldenBuiltin(t *testing.T) {
//		wasmtest.GoldenModule(t, "builtin:knative-hops", "{}", "testdata/case")
//	}
func GoldenModule(tb testing.TB, module, configJSON, caseDir string) {
	tb.Helper()
	var guestConfig map[string]any
	if configJSON != "" { // "" means no config, as in sdktest
		if err := json.Unmarshal([]byte(configJSON), &guestConfig); err != nil {
			tb.Fatalf("config: %v", err)
		}
	}
	conf := map[string]any{"module": module, "config": guestConfig}
	inputs := jsonDocs(tb, filepath.Join(caseDir, "input.json"))
	wants := jsonDocs(tb, filepath.Join(caseDir, "expected.json"))
	if len(inputs) != len(wants) {
		tb.Fatalf("%s: %d input batches but %d expected", caseDir, len(inputs), len(wants))
	}
	var (
		traces  processor.Traces
		tsink   = new(consumertest.TracesSink)
		metrics processor.Metrics
		msink   = new(consumertest.MetricsSink)
		logs    processor.Logs
		lsink   = new(consumertest.LogsSink)
	)
	ctx := context.Background()
	for i, in := range inputs {
		var probe map[string]json.RawMessage
		_ = json.Unmarshal(in, &probe)
		switch {
		case probe["resourceSpans"] != nil:
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(in)
			must(tb, err)
			if traces == nil {
				traces = start(tb, conf, func(f processor.Factory, s processor.Settings, c component.Config) (processor.Traces, error) {
					return f.CreateTraces(ctx, s, c, tsink)
				})
			}
			tsink.Reset()
			must(tb, traces.ConsumeTraces(ctx, td))
			got := ptrace.NewTraces()
			if all := tsink.AllTraces(); len(all) > 0 {
				got = all[0]
			}
			want, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(wants[i])
			must(tb, err)
			if err := ptracetest.CompareTraces(want, got); err != nil {
				tb.Fatalf("%s batch %d: wasm output differs from expected.json: %v", caseDir, i, err)
			}
		case probe["resourceMetrics"] != nil:
			md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(in)
			must(tb, err)
			if metrics == nil {
				metrics = start(tb, conf, func(f processor.Factory, s processor.Settings, c component.Config) (processor.Metrics, error) {
					return f.CreateMetrics(ctx, s, c, msink)
				})
			}
			msink.Reset()
			must(tb, metrics.ConsumeMetrics(ctx, md))
			got := pmetric.NewMetrics()
			if all := msink.AllMetrics(); len(all) > 0 {
				got = all[0]
			}
			want, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(wants[i])
			must(tb, err)
			if err := pmetrictest.CompareMetrics(want, got); err != nil {
				tb.Fatalf("%s batch %d: wasm output differs from expected.json: %v", caseDir, i, err)
			}
		case probe["resourceLogs"] != nil:
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(in)
			must(tb, err)
			if logs == nil {
				logs = start(tb, conf, func(f processor.Factory, s processor.Settings, c component.Config) (processor.Logs, error) {
					return f.CreateLogs(ctx, s, c, lsink)
				})
			}
			lsink.Reset()
			must(tb, logs.ConsumeLogs(ctx, ld))
			got := plog.NewLogs()
			if all := lsink.AllLogs(); len(all) > 0 {
				got = all[0]
			}
			want, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(wants[i])
			must(tb, err)
			if err := plogtest.CompareLogs(want, got); err != nil {
				tb.Fatalf("%s batch %d: wasm output differs from expected.json: %v", caseDir, i, err)
			}
		default:
			tb.Fatalf("%s batch %d: neither resourceSpans, resourceMetrics nor resourceLogs", caseDir, i)
		}
	}
}

// start creates and starts a wasm processor of one signal, shut down when
// the test ends.
func start[P component.Component](tb testing.TB, conf map[string]any, create func(processor.Factory, processor.Settings, component.Config) (P, error)) P {
	tb.Helper()
	f := wasmprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	must(tb, confmap.NewFromStringMap(conf).Unmarshal(cfg))
	must(tb, confmap.Validate(cfg))
	p, err := create(f, processortest.NewNopSettings(f.Type()), cfg)
	must(tb, err)
	Run(tb, p)
	return p
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// jsonDocs splits a file of concatenated JSON documents.
func jsonDocs(tb testing.TB, path string) [][]byte {
	tb.Helper()
	raw, err := os.ReadFile(path)
	must(tb, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	var docs [][]byte
	for {
		var doc json.RawMessage
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, doc)
	}
}
