// SPDX-License-Identifier: Apache-2.0

package jaegerexporter

// Tests against a real Jaeger all-in-one v1.42.0 (make jaeger). They fail,
// never skip, when the binary is missing.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/jaegertest"
)

// newTraceID returns a random ID whose first byte has its high nibble set:
// Jaeger prints the high 64 bits without leading zeros, so this keeps its
// hex form equal to the plain 32-digit encoding.
func newTraceID(t testing.TB) pcommon.TraceID {
	var id pcommon.TraceID
	_, err := rand.Read(id[:])
	require.NoError(t, err)
	id[0] |= 0x10
	return id
}

func newSpanID(t testing.TB) pcommon.SpanID {
	var id pcommon.SpanID
	_, err := rand.Read(id[:])
	require.NoError(t, err)
	id[0] |= 0x10
	return id
}

// spanFixture is what a span is expected to look like in Jaeger.
type spanFixture struct {
	name    string
	service string
	kind    ptrace.SpanKind
	id      pcommon.SpanID
	parent  pcommon.SpanID
	start   time.Time
	dur     time.Duration
}

// roundTripFixture is a two-service trace covering every tag type, every
// span kind, all three status codes, events and a link, plus a second trace
// of a third service to exercise search by service.
type roundTripFixture struct {
	traceID      pcommon.TraceID
	otherTraceID pcommon.TraceID
	spans        map[string]spanFixture
	eventTimes   [2]time.Time
	td           ptrace.Traces
}

func newRoundTripFixture(t *testing.T, services [3]string) roundTripFixture {
	// Microsecond precision: Jaeger stores times in µs.
	base := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	fx := roundTripFixture{
		traceID:      newTraceID(t),
		otherTraceID: newTraceID(t),
		spans:        map[string]spanFixture{},
		eventTimes:   [2]time.Time{base.Add(20 * time.Millisecond), base.Add(30 * time.Millisecond)},
		td:           ptrace.NewTraces(),
	}
	checkout, payments, inventory := services[0], services[1], services[2]
	add := func(name, service string, kind ptrace.SpanKind, parent string, offset, dur time.Duration) {
		var parentID pcommon.SpanID
		if parent != "" {
			parentID = fx.spans[parent].id
		}
		fx.spans[name] = spanFixture{name: name, service: service, kind: kind, id: newSpanID(t),
			parent: parentID, start: base.Add(offset), dur: dur}
	}
	add("POST /checkout", checkout, ptrace.SpanKindServer, "", 0, 100*time.Millisecond)
	add("charge card", checkout, ptrace.SpanKindClient, "POST /checkout", 10*time.Millisecond, 40*time.Millisecond)
	add("render receipt", checkout, ptrace.SpanKindInternal, "POST /checkout", 60*time.Millisecond, 5*time.Millisecond)
	add("POST /charge", payments, ptrace.SpanKindServer, "charge card", 12*time.Millisecond, 35*time.Millisecond)
	add("publish payment.settled", payments, ptrace.SpanKindProducer, "POST /charge", 40*time.Millisecond, 2*time.Millisecond)
	add("consume payment.settled", payments, ptrace.SpanKindConsumer, "publish payment.settled", 45*time.Millisecond, 3*time.Millisecond)
	add("legacy op", payments, ptrace.SpanKindUnspecified, "POST /charge", 20*time.Millisecond, time.Millisecond)

	newResource := func(service string) ptrace.ScopeSpans {
		rs := fx.td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		return rs.ScopeSpans().AppendEmpty()
	}
	fill := func(ss ptrace.ScopeSpans, f spanFixture, traceID pcommon.TraceID) ptrace.Span {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(traceID)
		s.SetSpanID(f.id)
		s.SetParentSpanID(f.parent)
		s.SetName(f.name)
		s.SetKind(f.kind)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(f.start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(f.start.Add(f.dur)))
		return s
	}

	// Resource attributes of every scalar type become Jaeger process tags.
	ssCheckout := newResource(checkout)
	res := fx.td.ResourceSpans().At(0).Resource().Attributes()
	res.PutStr("host.name", "node-1")
	res.PutInt("process.pid", 4242)
	res.PutDouble("cpu.share", 0.5)
	res.PutBool("feature.enabled", true)
	ssCheckout.Scope().SetName("wasmcol/e2e")
	ssCheckout.Scope().SetVersion("1.2.3")

	root := fill(ssCheckout, fx.spans["POST /checkout"], fx.traceID)
	root.Status().SetCode(ptrace.StatusCodeOk)
	attrs := root.Attributes()
	attrs.PutStr("app.str", "v")
	attrs.PutInt("app.int", 1<<40+7) // wider than int32
	attrs.PutDouble("app.double", 3.25)
	attrs.PutBool("app.bool", true)
	attrs.PutEmptyBytes("app.bytes").FromRaw([]byte{0x00, 0x01, 0xfe, 0xff})
	attrs.PutEmptySlice("app.slice").FromRaw([]any{"a", "b"})

	charge := fill(ssCheckout, fx.spans["charge card"], fx.traceID)
	charge.Status().SetCode(ptrace.StatusCodeError)
	charge.Status().SetMessage("card declined")
	ev := charge.Events().AppendEmpty()
	ev.SetName("retry")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(fx.eventTimes[0]))
	ev.Attributes().PutInt("attempt", 2)
	ev = charge.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(fx.eventTimes[1]))
	ev.Attributes().PutStr("exception.message", "issuer timeout")

	fill(ssCheckout, fx.spans["render receipt"], fx.traceID) // status unset

	ssPayments := newResource(payments)
	fx.td.ResourceSpans().At(1).Resource().Attributes().PutStr("k8s.pod.name", "payments-7d9")
	for _, name := range []string{"POST /charge", "publish payment.settled", "legacy op"} {
		fill(ssPayments, fx.spans[name], fx.traceID)
	}
	consume := fill(ssPayments, fx.spans["consume payment.settled"], fx.traceID)
	link := consume.Links().AppendEmpty()
	link.SetTraceID(fx.traceID)
	link.SetSpanID(fx.spans["POST /checkout"].id)

	ssInventory := newResource(inventory)
	fill(ssInventory, spanFixture{name: "reserve stock", kind: ptrace.SpanKindServer, id: newSpanID(t),
		start: base, dur: time.Millisecond}, fx.otherTraceID)
	return fx
}

func hexID(id []byte) string { return hex.EncodeToString(id) }

// waitForTrace polls until Jaeger holds wantSpans spans of the trace: the
// collector stores asynchronously after PostSpans returns.
func waitForTrace(t *testing.T, j *jaegertest.Jaeger, traceID pcommon.TraceID, wantSpans int) jaegertest.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var last jaegertest.Trace
	var lastErr error
	for ctx.Err() == nil {
		last, lastErr = j.Trace(ctx, hexID(traceID[:]))
		if lastErr == nil && len(last.Spans) >= wantSpans {
			return last
		}
		if lastErr != nil && !errors.Is(lastErr, jaegertest.ErrNotFound) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("trace %s: want %d spans in Jaeger, have %d (last error: %v)", hexID(traceID[:]), wantSpans, len(last.Spans), lastErr)
	return last
}

func tag(t *testing.T, kvs []jaegertest.KeyValue, key string) jaegertest.KeyValue {
	t.Helper()
	kv, ok := jaegertest.Find(kvs, key)
	require.Truef(t, ok, "no tag %q in %+v", key, kvs)
	return kv
}

func TestExportToRealJaeger(t *testing.T) {
	j := jaegertest.Run(t)
	set, logs := observedSettings()
	exp := startExporter(t, testConfig(j.CollectorGRPC), set)

	// Service names unique to this run, so that a reused Jaeger could not
	// make the search assertions pass.
	suffix := hexID(func() []byte { id := newSpanID(t); return id[:4] }())
	services := [3]string{"checkout-" + suffix, "payments-" + suffix, "inventory-" + suffix}
	fx := newRoundTripFixture(t, services)
	require.NoError(t, exp.ConsumeTraces(context.Background(), fx.td))
	assert.Zero(t, logs.Len(), "the exporter logged: %v", logs.All())

	tr := waitForTrace(t, j, fx.traceID, len(fx.spans))
	require.Len(t, tr.Spans, len(fx.spans), "no span stored twice")
	ctx := context.Background()

	t.Run("spans, parents, services, times", func(t *testing.T) {
		for _, want := range fx.spans {
			got, ok := tr.SpanByName(want.name)
			require.Truef(t, ok, "span %q missing", want.name)
			assert.Equal(t, hexID(fx.traceID[:]), got.TraceID)
			assert.Equal(t, hexID(want.id[:]), got.SpanID, want.name)
			assert.Equal(t, want.service, tr.ProcessOf(got).ServiceName, want.name)
			assert.Equal(t, want.start.UnixMicro(), got.StartTime, want.name)
			assert.Equal(t, want.dur.Microseconds(), got.Duration, want.name)
			if want.parent.IsEmpty() {
				assert.Empty(t, got.References, want.name)
				continue
			}
			// Jaeger 1.42's query side does not keep reference order, so
			// compare as a set.
			wantRefs := []jaegertest.Reference{{RefType: "CHILD_OF", TraceID: hexID(fx.traceID[:]), SpanID: hexID(want.parent[:])}}
			if want.name == "consume payment.settled" {
				// Its span link to the root becomes FOLLOWS_FROM.
				root := fx.spans["POST /checkout"].id
				wantRefs = append(wantRefs, jaegertest.Reference{RefType: "FOLLOWS_FROM", TraceID: hexID(fx.traceID[:]), SpanID: hexID(root[:])})
			}
			assert.ElementsMatch(t, wantRefs, got.References, want.name)
		}
	})

	t.Run("tags of every type", func(t *testing.T) {
		root, _ := tr.SpanByName("POST /checkout")
		for _, want := range []jaegertest.KeyValue{
			{Key: "app.str", Type: "string", Value: "v"},
			{Key: "app.int", Type: "int64", Value: json.Number(fmt.Sprint(int64(1<<40 + 7)))},
			{Key: "app.double", Type: "float64", Value: json.Number("3.25")},
			{Key: "app.bool", Type: "bool", Value: true},
			{Key: "app.bytes", Type: "binary", Value: base64.StdEncoding.EncodeToString([]byte{0x00, 0x01, 0xfe, 0xff})},
			// Jaeger has no list type: the translator sends JSON text.
			{Key: "app.slice", Type: "string", Value: `["a","b"]`},
			{Key: "otel.scope.name", Type: "string", Value: "wasmcol/e2e"},
			{Key: "otel.scope.version", Type: "string", Value: "1.2.3"},
		} {
			assert.Equal(t, want, tag(t, root.Tags, want.Key))
		}
	})

	t.Run("process tags from resource attributes", func(t *testing.T) {
		root, _ := tr.SpanByName("POST /checkout")
		p := tr.ProcessOf(root)
		for _, want := range []jaegertest.KeyValue{
			{Key: "host.name", Type: "string", Value: "node-1"},
			{Key: "process.pid", Type: "int64", Value: json.Number("4242")},
			{Key: "cpu.share", Type: "float64", Value: json.Number("0.5")},
			{Key: "feature.enabled", Type: "bool", Value: true},
		} {
			assert.Equal(t, want, tag(t, p.Tags, want.Key))
		}
		_, hasServiceTag := jaegertest.Find(p.Tags, "service.name")
		assert.False(t, hasServiceTag, "service.name is the process name, not a tag")

		charge, _ := tr.SpanByName("POST /charge")
		assert.Equal(t, jaegertest.KeyValue{Key: "k8s.pod.name", Type: "string", Value: "payments-7d9"},
			tag(t, tr.ProcessOf(charge).Tags, "k8s.pod.name"))
	})

	t.Run("span kinds", func(t *testing.T) {
		for name, kind := range map[string]string{
			"POST /checkout":          "server",
			"charge card":             "client",
			"render receipt":          "internal",
			"POST /charge":            "server",
			"publish payment.settled": "producer",
			"consume payment.settled": "consumer",
		} {
			s, _ := tr.SpanByName(name)
			assert.Equal(t, jaegertest.KeyValue{Key: "span.kind", Type: "string", Value: kind}, tag(t, s.Tags, "span.kind"), name)
		}
		legacy, _ := tr.SpanByName("legacy op")
		_, ok := jaegertest.Find(legacy.Tags, "span.kind")
		assert.False(t, ok, "an unspecified kind has no span.kind tag")
	})

	t.Run("status to error tag", func(t *testing.T) {
		charge, _ := tr.SpanByName("charge card")
		assert.Equal(t, jaegertest.KeyValue{Key: "error", Type: "bool", Value: true}, tag(t, charge.Tags, "error"))
		assert.Equal(t, "ERROR", tag(t, charge.Tags, "otel.status_code").Value)
		assert.Equal(t, "card declined", tag(t, charge.Tags, "otel.status_description").Value)

		root, _ := tr.SpanByName("POST /checkout")
		assert.Equal(t, "OK", tag(t, root.Tags, "otel.status_code").Value)
		_, ok := jaegertest.Find(root.Tags, "error")
		assert.False(t, ok, "status OK carries no error tag")

		render, _ := tr.SpanByName("render receipt")
		for _, key := range []string{"error", "otel.status_code", "otel.status_description"} {
			_, ok := jaegertest.Find(render.Tags, key)
			assert.False(t, ok, "status unset carries no %s tag", key)
		}
	})

	t.Run("events to logs", func(t *testing.T) {
		charge, _ := tr.SpanByName("charge card")
		require.Len(t, charge.Logs, 2)
		sort.Slice(charge.Logs, func(a, b int) bool { return charge.Logs[a].Timestamp < charge.Logs[b].Timestamp })
		assert.Equal(t, jaegertest.Log{Timestamp: fx.eventTimes[0].UnixMicro(), Fields: []jaegertest.KeyValue{
			{Key: "event", Type: "string", Value: "retry"},
			{Key: "attempt", Type: "int64", Value: json.Number("2")},
		}}, charge.Logs[0])
		assert.Equal(t, jaegertest.Log{Timestamp: fx.eventTimes[1].UnixMicro(), Fields: []jaegertest.KeyValue{
			{Key: "event", Type: "string", Value: "exception"},
			{Key: "exception.message", Type: "string", Value: "issuer timeout"},
		}}, charge.Logs[1])
	})

	t.Run("search by service", func(t *testing.T) {
		// The other trace was in the same ConsumeTraces call; wait for it too.
		waitForTrace(t, j, fx.otherTraceID, 1)
		found, err := j.FindTraces(ctx, services[2], 100)
		require.NoError(t, err)
		require.Len(t, found, 1)
		assert.Equal(t, hexID(fx.otherTraceID[:]), found[0].TraceID)
		require.Len(t, found[0].Spans, 1)
		assert.Equal(t, "reserve stock", found[0].Spans[0].OperationName)

		found, err = j.FindTraces(ctx, services[1], 100)
		require.NoError(t, err)
		require.Len(t, found, 1)
		assert.Equal(t, hexID(fx.traceID[:]), found[0].TraceID)

		got, err := j.Services(ctx)
		require.NoError(t, err)
		assert.Subset(t, got, services[:])
	})

	t.Run("received once each", func(t *testing.T) {
		// Jaeger's own count of what reached its collector: no span was
		// sent twice, e.g. by a retry after a lost acknowledgement. (Jaeger
		// 1.42 labels every gRPC-path span format="proto", OTLP included,
		// so the labels cannot show which port was used; the exporter was
		// only given the api_v2 port.)
		n, err := j.MetricSum(ctx, "jaeger_spans_received_total")
		require.NoError(t, err)
		assert.Equal(t, float64(len(fx.spans)+1), n)
	})
}

// TestExportWhileJaegerDown starts exporting before Jaeger exists. What the
// sending queue accepted must all arrive, exactly once, once Jaeger is up;
// what it refused must have been refused to the caller, not lost silently.
func TestExportWhileJaegerDown(t *testing.T) {
	const (
		queueSize     = 20 // requests; each request below is one trace
		requests      = 30
		spansPerTrace = 5
	)
	j := jaegertest.New(t) // addresses fixed, process not started

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set, logs := observedSettings()
	logger := set.Logger
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = logger

	cfg := testConfig(j.CollectorGRPC)
	q := exporterhelper.NewDefaultQueueConfig()
	q.QueueSize = queueSize
	q.NumConsumers = 2
	cfg.QueueConfig = configoptional.Some(q)
	cfg.RetryConfig.InitialInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 500 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 2 * time.Minute
	cfg.TimeoutConfig.Timeout = 2 * time.Second
	exp := startExporter(t, cfg, set)

	service := "resilience-" + hexID(func() []byte { id := newSpanID(t); return id[:4] }())
	accepted := map[string]bool{}
	refused := 0
	for range requests {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		ss := rs.ScopeSpans().AppendEmpty()
		traceID := newTraceID(t)
		now := time.Now()
		for i := range spansPerTrace {
			s := ss.Spans().AppendEmpty()
			s.SetTraceID(traceID)
			s.SetSpanID(newSpanID(t))
			s.SetName(fmt.Sprintf("op-%d", i))
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		}
		if err := exp.ConsumeTraces(context.Background(), td); err != nil {
			require.ErrorIs(t, err, exporterhelper.ErrQueueIsFull)
			refused++
			continue
		}
		accepted[hexID(traceID[:])] = true
	}
	// Capacity counts requests until they are sent, including those the
	// consumers hold in retry, so while Jaeger is down exactly queueSize fit.
	require.Len(t, accepted, queueSize)
	require.Equal(t, requests-queueSize, refused)

	// Jaeger starts only once the exporter has failed and scheduled a retry,
	// so the test cannot pass by Jaeger having been up all along.
	require.Eventually(t, func() bool {
		return logs.FilterMessageSnippet("Will retry").Len() > 0
	}, 10*time.Second, 20*time.Millisecond, "no retry was logged while Jaeger was down")
	j.Start(t)

	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	var stored []jaegertest.Trace
	for time.Now().Before(deadline) {
		var err error
		stored, err = j.FindTraces(ctx, service, 10*requests)
		require.NoError(t, err)
		if spanCount(stored) >= queueSize*spansPerTrace {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Give a duplicate, if any, time to show up before counting exactly.
	time.Sleep(500 * time.Millisecond)
	stored, err := j.FindTraces(ctx, service, 10*requests)
	require.NoError(t, err)

	got := map[string]int{}
	for _, tr := range stored {
		got[tr.TraceID] += len(tr.Spans)
	}
	want := map[string]int{}
	for id := range accepted {
		want[id] = spansPerTrace
	}
	assert.Equal(t, want, got, "every accepted trace exactly once, nothing else")

	// The exporter's own metrics account for every span offered to it.
	assert.Equal(t, int64(queueSize*spansPerTrace), sumMetric(t, tel, "otelcol_exporter_sent_spans"))
	assert.Equal(t, int64(refused*spansPerTrace), sumMetric(t, tel, "otelcol_exporter_enqueue_failed_spans"))
}

func spanCount(traces []jaegertest.Trace) int {
	n := 0
	for _, tr := range traces {
		n += len(tr.Spans)
	}
	return n
}

func sumMetric(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.Truef(t, ok, "%s is %T", name, m.Data)
	var total int64
	for _, dp := range sum.DataPoints {
		total += dp.Value
	}
	return total
}
