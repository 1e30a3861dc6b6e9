// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
	"github.com/wasmcol/wasmcol/processors/wasmprocessor/internal/metadata"
)

// guest builds testdata/guests/<name> from source (once per test binary)
// and returns the .wasm path.
func guest(tb testing.TB, name string) string {
	tb.Helper()
	return wasmtest.BuildGuest(tb, filepath.Join("testdata", "guests", name))
}

// wat assembles testdata/wat/<name>.wat and returns the .wasm path.
func wat(tb testing.TB, name string) string {
	tb.Helper()
	return wasmtest.BuildWAT(tb, filepath.Join("testdata", "wat", name+".wat"))
}

// harness is one wasm traces processor built the way the Collector builds
// it, with its telemetry and logs observable.
type harness struct {
	proc processor.Traces
	sink *consumertest.TracesSink
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
	// console is the same log as the Collector prints it by default: the
	// console encoder, with ISO 8601 times.
	console *consoleLog
}

// newHarness creates the processor from conf, given as a Collector config
// would give it, and validates it; it does not start it. conf gets the
// shared cache_dir unless it names one.
func newHarness(tb testing.TB, conf map[string]any) (*harness, error) {
	tb.Helper()
	if _, ok := conf["cache_dir"]; !ok {
		conf["cache_dir"] = sharedCacheDir
	}
	factory := wasmprocessor.NewFactory()
	cfg := factory.CreateDefaultConfig()
	require.NoError(tb, confmap.NewFromStringMap(conf).Unmarshal(cfg))
	require.NoError(tb, confmap.Validate(cfg))

	h := &harness{sink: new(consumertest.TracesSink), tel: componenttest.NewTelemetry()}
	tb.Cleanup(func() { require.NoError(tb, h.tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	h.console = &consoleLog{}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	console := zapcore.NewCore(zapcore.NewConsoleEncoder(encCfg), zapcore.AddSync(h.console), zapcore.DebugLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	set.Logger = zap.New(zapcore.NewTee(core, console))
	p, err := factory.CreateTraces(context.Background(), set, cfg, h.sink)
	require.NoError(tb, err)
	h.proc = p
	return h, p.Start(context.Background(), componenttest.NewNopHost())
}

// start is newHarness for a processor that must start; it is shut down
// when the test ends.
func start(tb testing.TB, conf map[string]any) *harness {
	tb.Helper()
	h, err := newHarness(tb, conf)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		// Bounded, so that a test failing because a guest would not stop
		// reports that instead of hanging in Shutdown.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(tb, h.proc.Shutdown(ctx))
	})
	return h
}

// startErr starts a processor that must fail to start and returns the error.
func startErr(tb testing.TB, conf map[string]any) error {
	tb.Helper()
	h, err := newHarness(tb, conf)
	require.Error(tb, err, "start should fail")
	// A component whose Start failed is still shut down by the Collector.
	require.NoError(tb, h.proc.Shutdown(context.Background()))
	return err
}

func (h *harness) consume(td ptrace.Traces) error {
	return h.proc.ConsumeTraces(context.Background(), td)
}

// last is the most recent batch the next consumer received.
func (h *harness) last(tb testing.TB) ptrace.Traces {
	tb.Helper()
	all := h.sink.AllTraces()
	require.NotEmpty(tb, all, "nothing reached the next consumer")
	return all[len(all)-1]
}

// spans is a batch with one span per name, under a resource and scope with
// attributes, so that an accidental edit anywhere shows in a comparison.
func spans(names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("hostile-test")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, name := range names {
		s := ss.Spans().AppendEmpty()
		s.SetName(name)
		s.SetTraceID([16]byte{1, 2, 3, byte(i + 1)})
		s.SetSpanID([8]byte{4, 5, byte(i + 1)})
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i+1) * time.Millisecond)))
		s.Attributes().PutStr("http.route", fmt.Sprintf("/items/%d", i))
		s.Attributes().PutInt("http.status_code", 200)
	}
	return td
}

// clone is a deep copy of td, taken before the processor may touch td.
func clone(td ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	return out
}

// spanAttr is attribute key of span i of td, or "" when absent.
func spanAttr(td ptrace.Traces, i int, key string) string {
	v, ok := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(i).Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// point is one data point of a metric: its attributes and its value.
type point struct {
	attrs attribute.Set
	value int64
}

// points returns the data points of an int64 sum or gauge, or none when
// the metric has not been recorded yet.
func (h *harness) points(tb testing.TB, name string) []point {
	tb.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return nil
	}
	var out []point
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{dp.Attributes, dp.Value})
		}
	case metricdata.Gauge[int64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{dp.Attributes, dp.Value})
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			out = append(out, point{dp.Attributes, int64(dp.Count)})
		}
	default:
		tb.Fatalf("metric %s has unexpected type %T", name, m.Data)
	}
	return out
}

// metric sums the points of name whose attributes include every key=value
// in match (given as pairs).
func (h *harness) metric(tb testing.TB, name string, match ...string) int64 {
	tb.Helper()
	require.Zero(tb, len(match)%2, "match is key, value pairs")
	var sum int64
	for _, p := range h.points(tb, name) {
		ok := true
		for i := 0; i < len(match); i += 2 {
			if v, found := p.attrs.Value(attribute.Key(match[i])); !found || v.AsString() != match[i+1] {
				ok = false
			}
		}
		if ok {
			sum += p.value
		}
	}
	return sum
}

// failures is otelcol_processor_wasm_failures for kind.
func (h *harness) failures(tb testing.TB, kind string) int64 {
	tb.Helper()
	return h.metric(tb, "otelcol_processor_wasm_failures", "kind", kind)
}

// requireOnlyFailures checks the failure counts of every kind at once, so
// that a fault counted under the wrong kind fails the test too.
func (h *harness) requireOnlyFailures(tb testing.TB, want map[string]int64) {
	tb.Helper()
	got := map[string]int64{}
	for _, kind := range []string{"trap", "timeout", "memory", "guest", "host"} {
		if n := h.failures(tb, kind); n != 0 {
			got[kind] = n
		}
	}
	if want == nil {
		want = map[string]int64{}
	}
	require.Equal(tb, want, got, "otelcol_processor_wasm_failures by kind")
}

type observedEntry = observer.LoggedEntry

// guestLogMessage is the message of every log line a guest writes; its
// text is in the guest_message field.
const guestLogMessage = "guest log"

// guestText is what a guest wrote, from one of its log lines.
func guestText(e observedEntry) string {
	s, _ := e.ContextMap()["guest_message"].(string)
	return s
}

// consoleLog collects what the console encoder writes.
type consoleLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// ptraceEqual reports whether two batches are the same, for use where a
// test cannot stop at the first difference (from several goroutines).
func ptraceEqual(want, got ptrace.Traces) bool {
	return ptracetest.CompareTraces(want, got) == nil
}
