// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wasmcol/wasmcol/receivers/cloudeventsreceiver/internal/metadata"
)

// The shapes of spans.md: the heartbeats sample and coinflip's reply.
const (
	heartbeatType   = "dev.knative.eventing.samples.heartbeat"
	heartbeatPod    = "heartbeats-deployment-6c9d7f7b8-q4w2z"
	heartbeatSource = "https://knative.dev/eventing/cmd/heartbeats/#default/" + heartbeatPod
	coinflipSource  = "knative.dev/eventing/cmd/coinflip/5a0f6c2d-1e3b-4c7a-8d9e-0f1a2b3c4d5e"
	pingSource      = "/apis/v1/namespaces/team-a/pingsources/every-minute"

	// Two unrelated W3C trace contexts: the hop's header and the event's
	// extension.
	headerTrace    = "4bf92f3577b34da6a3ce929d0e0e4736"
	headerSpan     = "00f067aa0ba902b7"
	headerParent   = "00-" + headerTrace + "-" + headerSpan + "-01"
	extensionTrace = "0af7651916cd43dd8448eb211c80319c"
	extensionSpan  = "b7ad6b7169203331"
	extensionTP    = "00-" + extensionTrace + "-" + extensionSpan + "-00"
)

var eventTime = time.Date(2026, 12, 2, 9, 30, 15, 123456789, time.UTC)

// heartbeat is the heartbeats sample's event: its extensions and JSON data.
func heartbeat(id string, beat int) event.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(heartbeatType)
	e.SetSource(heartbeatSource)
	e.SetTime(eventTime)
	e.SetExtension("the", 42)
	e.SetExtension("heart", "yes")
	e.SetExtension("beats", true)
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]any{"id": beat, "label": ""}); err != nil {
		panic(err)
	}
	return e
}

// flip is coinflip's reply to a heartbeat.
func flip(id, result string) event.Event {
	e := heartbeat(id, 7)
	e.SetType("coinflip")
	e.SetSource(coinflipSource)
	e.SetExtension("flip", result)
	return e
}

func mustTraceID(s string) pcommon.TraceID {
	var id pcommon.TraceID
	tc, ok := parseTraceparent("00-" + s + "-0000000000000001-00")
	if !ok {
		panic(s)
	}
	id = tc.traceID
	return id
}

func mustSpanID(s string) pcommon.SpanID {
	tc, ok := parseTraceparent("00-00000000000000000000000000000001-" + s + "-00")
	if !ok {
		panic(s)
	}
	return tc.spanID
}

// group is one resource's expected records.
type group struct {
	resource map[string]string
	records  []func(plog.LogRecord)
}

func expectLogs(groups ...group) plog.Logs {
	ld := plog.NewLogs()
	for _, g := range groups {
		rl := ld.ResourceLogs().AppendEmpty()
		for k, v := range g.resource {
			rl.Resource().Attributes().PutStr(k, v)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(metadata.ScopeName)
		for _, fill := range g.records {
			fill(sl.LogRecords().AppendEmpty())
		}
	}
	return ld
}

// ceRecord fills the attributes every event has.
func ceRecord(lr plog.LogRecord, id, typ, source string) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(eventTime))
	lr.SetEventName(typ)
	a := lr.Attributes()
	a.PutStr(AttrEventID, id)
	a.PutStr(AttrEventSource, source)
	a.PutStr(AttrEventSpecVersion, "1.0")
	a.PutStr(AttrEventType, typ)
}

func heartbeatBody(lr plog.LogRecord, beat int64) {
	lr.Attributes().PutStr(AttrEventDataContentType, "application/json")
	m := lr.Body().SetEmptyMap()
	m.PutInt("id", beat)
	m.PutStr("label", "")
}

func withTrace(lr plog.LogRecord, trace, span string, sampled bool) {
	lr.SetTraceID(mustTraceID(trace))
	lr.SetSpanID(mustSpanID(span))
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(sampled))
}

func checkLogs(t *testing.T, want plog.Logs, sink *consumertest.LogsSink) {
	t.Helper()
	all := sink.AllLogs()
	require.Len(t, all, 1, "one request is one ConsumeLogs call")
	got := all[0]
	for i := 0; i < got.ResourceLogs().Len(); i++ {
		sls := got.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				assert.NotZero(t, lrs.At(k).ObservedTimestamp(), "every record has its observed time")
			}
		}
	}
	require.NoError(t, plogtest.CompareLogs(want, got, plogtest.IgnoreObservedTimestamp()))
}

// TestBinaryMode sends the heartbeats sample's event as Knative's sources
// do, with the SDK client in binary content mode, and its trace context in
// the event (the ce-traceparent header of the binary mode). Binary-mode
// extensions travel as headers, so they arrive as strings.
func TestBinaryMode(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)

	ev := heartbeat("hb-1", 2)
	ev.SetExtension("traceparent", extensionTP)
	ev.SetExtension("tracestate", "ot=th:0")
	res := ceClient(t, r.url).Send(context.Background(), ev)
	require.True(t, cloudevents.IsACK(res), "send: %v", res)
	assert.Equal(t, http.StatusAccepted, statusOf(t, res))

	checkLogs(t, expectLogs(group{
		resource: map[string]string{"service.name": "heartbeats", "k8s.namespace.name": "default", "k8s.pod.name": heartbeatPod},
		records: []func(plog.LogRecord){func(lr plog.LogRecord) {
			ceRecord(lr, "hb-1", heartbeatType, heartbeatSource)
			lr.Attributes().PutStr(ExtensionPrefix+"beats", "true")
			lr.Attributes().PutStr(ExtensionPrefix+"heart", "yes")
			lr.Attributes().PutStr(ExtensionPrefix+"the", "42")
			heartbeatBody(lr, 2)
			withTrace(lr, extensionTrace, extensionSpan, false)
		}},
	}), sink)
	assert.EqualValues(t, 1, counter(t, r.tel, "otelcol_receiver_accepted_log_records"))
}

// TestStructuredMode sends coinflip's reply in structured content mode, as
// a broker's dispatcher delivers it: with the dispatcher hop's traceparent
// header, which wins over the event's own traceparent extension. Extension
// types survive the JSON format.
func TestStructuredMode(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)

	ev := flip("flip-1", "heads")
	ev.SetSubject("round-1")
	ev.SetExtension("traceparent", extensionTP)
	ctx := cloudevents.WithEncodingStructured(context.Background())
	ctx = cehttp.WithCustomHeader(ctx, http.Header{"Traceparent": {headerParent}})
	res := ceClient(t, r.url).Send(ctx, ev)
	require.True(t, cloudevents.IsACK(res), "send: %v", res)

	checkLogs(t, expectLogs(group{
		resource: map[string]string{"service.name": "coinflip"},
		records: []func(plog.LogRecord){func(lr plog.LogRecord) {
			ceRecord(lr, "flip-1", "coinflip", coinflipSource)
			lr.Attributes().PutStr(AttrEventSubject, "round-1")
			lr.Attributes().PutBool(ExtensionPrefix+"beats", true)
			lr.Attributes().PutStr(ExtensionPrefix+"flip", "heads")
			lr.Attributes().PutStr(ExtensionPrefix+"heart", "yes")
			lr.Attributes().PutInt(ExtensionPrefix+"the", 42)
			heartbeatBody(lr, 7)
			withTrace(lr, headerTrace, headerSpan, true)
		}},
	}), sink)
}

// TestBatchMode sends three events in one batched request: a PingSource's
// text event, a heartbeat, and an event from outside Knative with binary
// data, a subject and a schema. Each becomes one record; the resource comes
// from the source when it is a Knative one, and from the config otherwise.
func TestBatchMode(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, func(c *Config) {
		c.Resource = map[string]string{"service.name": "from-config", "deployment.environment.name": "test"}
	})

	ping := cloudevents.NewEvent()
	ping.SetID("ping-1")
	ping.SetType("dev.knative.sources.ping")
	ping.SetSource(pingSource)
	ping.SetTime(eventTime)
	require.NoError(t, ping.SetData(cloudevents.TextPlain, "hello"))

	other := cloudevents.NewEvent()
	other.SetID("gh-1")
	other.SetType("com.github.push")
	other.SetSource("https://github.com/wasmcol/wasmcol")
	other.SetSubject("refs/heads/main")
	other.SetDataSchema("https://example.com/schemas/push.json")
	other.SetTime(eventTime)
	raw := []byte{0x00, 0xff, 0x10, 0x80}
	require.NoError(t, other.SetData("application/octet-stream", raw))

	req, err := cehttp.NewHTTPRequestFromEvents(context.Background(), r.url, []event.Event{ping, heartbeat("hb-2", 3), other})
	require.NoError(t, err)
	req.Header.Set("Traceparent", headerParent)
	code, body := do(t, req)
	require.Equal(t, http.StatusAccepted, code, body)

	checkLogs(t, expectLogs(
		group{
			resource: map[string]string{"service.name": "every-minute", "k8s.namespace.name": "team-a", "deployment.environment.name": "test"},
			records: []func(plog.LogRecord){func(lr plog.LogRecord) {
				ceRecord(lr, "ping-1", "dev.knative.sources.ping", pingSource)
				lr.Attributes().PutStr(AttrEventDataContentType, "text/plain")
				lr.Body().SetStr("hello")
				withTrace(lr, headerTrace, headerSpan, true)
			}},
		},
		group{
			resource: map[string]string{"service.name": "heartbeats", "k8s.namespace.name": "default", "k8s.pod.name": heartbeatPod, "deployment.environment.name": "test"},
			records: []func(plog.LogRecord){func(lr plog.LogRecord) {
				ceRecord(lr, "hb-2", heartbeatType, heartbeatSource)
				lr.Attributes().PutBool(ExtensionPrefix+"beats", true)
				lr.Attributes().PutStr(ExtensionPrefix+"heart", "yes")
				lr.Attributes().PutInt(ExtensionPrefix+"the", 42)
				heartbeatBody(lr, 3)
				withTrace(lr, headerTrace, headerSpan, true)
			}},
		},
		group{
			resource: map[string]string{"service.name": "from-config", "deployment.environment.name": "test"},
			records: []func(plog.LogRecord){func(lr plog.LogRecord) {
				ceRecord(lr, "gh-1", "com.github.push", "https://github.com/wasmcol/wasmcol")
				lr.Attributes().PutStr(AttrEventSubject, "refs/heads/main")
				lr.Attributes().PutStr(AttrEventDataContentType, "application/octet-stream")
				lr.Attributes().PutStr(AttrEventDataSchema, "https://example.com/schemas/push.json")
				lr.Body().SetEmptyBytes().FromRaw(raw)
				withTrace(lr, headerTrace, headerSpan, true)
			}},
		},
	), sink)
	assert.EqualValues(t, 3, counter(t, r.tel, "otelcol_receiver_accepted_log_records"))
}

// TestEmptyBatch: an empty batch is valid and accepted, and nothing is
// forwarded.
func TestEmptyBatch(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)
	code, body := post(t, r.url, map[string]string{"Content-Type": cloudevents.ApplicationCloudEventsBatchJSON}, "[]")
	assert.Equal(t, http.StatusAccepted, code, body)
	assert.Empty(t, sink.AllLogs())
}

// TestTraceContext covers where a record's trace and span IDs come from.
func TestTraceContext(t *testing.T) {
	cases := []struct {
		name      string
		header    string // traceparent HTTP header
		extension string // traceparent extension
		want      string // "header", "extension" or "" (none)
	}{
		{name: "header only", header: headerParent, want: "header"},
		{name: "extension only", extension: extensionTP, want: "extension"},
		{name: "both: the delivering hop wins", header: headerParent, extension: extensionTP, want: "header"},
		{name: "invalid header falls back to the extension", header: "00-xyz", extension: extensionTP, want: "extension"},
		{name: "all-zero trace ID is invalid", header: "00-00000000000000000000000000000000-" + headerSpan + "-01", want: ""},
		{name: "version ff is invalid", header: "ff-" + headerTrace + "-" + headerSpan + "-01", want: ""},
		{name: "a later version may append fields", header: "01-" + headerTrace + "-" + headerSpan + "-01-later", want: "header"},
		{name: "version 00 may not", header: headerParent + "-later", want: ""},
		{name: "neither", want: ""},
	}
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink.Reset()
			ev := heartbeat("tc", 1)
			if tc.extension != "" {
				ev.SetExtension("traceparent", tc.extension)
			}
			ctx := context.Background()
			if tc.header != "" {
				ctx = cehttp.WithCustomHeader(ctx, http.Header{"Traceparent": {tc.header}})
			}
			res := ceClient(t, r.url).Send(ctx, ev)
			require.True(t, cloudevents.IsACK(res), "an invalid traceparent must not cost the event: %v", res)
			require.Equal(t, 1, sink.LogRecordCount())
			lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			switch tc.want {
			case "header":
				assert.Equal(t, mustTraceID(headerTrace), lr.TraceID())
				assert.Equal(t, mustSpanID(headerSpan), lr.SpanID())
				assert.True(t, lr.Flags().IsSampled())
			case "extension":
				assert.Equal(t, mustTraceID(extensionTrace), lr.TraceID())
				assert.Equal(t, mustSpanID(extensionSpan), lr.SpanID())
				assert.False(t, lr.Flags().IsSampled())
			default:
				assert.True(t, lr.TraceID().IsEmpty())
				assert.True(t, lr.SpanID().IsEmpty())
			}
			_, kept := lr.Attributes().Get(ExtensionPrefix + "traceparent")
			assert.False(t, kept, "the traceparent extension is the record's trace context, not an attribute")
		})
	}
}

// TestKnativeSources: the sources Knative's event sources and samples
// produce, and what each says about the sender.
func TestKnativeSources(t *testing.T) {
	cases := []struct {
		source string
		want   sourceIdentity
		ok     bool
	}{
		{source: heartbeatSource, want: sourceIdentity{"heartbeats", "default", heartbeatPod}, ok: true},
		{source: "https://knative.dev/eventing-contrib/cmd/heartbeats/#event-test/mypod", want: sourceIdentity{"heartbeats", "event-test", "mypod"}, ok: true},
		{source: coinflipSource, want: sourceIdentity{service: "coinflip"}, ok: true},
		{source: pingSource, want: sourceIdentity{service: "every-minute", namespace: "team-a"}, ok: true},
		{source: "/apis/v1/namespaces/default/kafkasources/orders#orders-topic", want: sourceIdentity{service: "orders", namespace: "default"}, ok: true},
		{source: "/apis/v1/namespaces/default/pods/busybox"}, // an ApiServerSource subject, not a source
		{source: "https://10.96.0.1:443"},                                // an ApiServerSource's source
		{source: "https://github.com/knative/eventing"},                  // GitHubSource
		{source: "https://knative.dev/docs/"},                            // knative.dev, but no program
		{source: "https://knative.dev/eventing/cmd/Heart_Beats/#ns/pod"}, // not a name
		{source: "/apis/v1/namespaces/a/b/pingsources/x"},
		{source: ""},
	}
	for _, tc := range cases {
		t.Run(tc.source, func(t *testing.T) {
			got, ok := knativeSource(tc.source)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestDataBodies: JSON data becomes a structured body with integer and
// floating-point numbers kept apart; text becomes a string; anything else
// bytes, including base64 data of the structured mode.
func TestDataBodies(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)
	binary := func(contentType, body string) (map[string]string, string) {
		return map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "d", "Ce-Type": "t", "Ce-Source": "s", "Content-Type": contentType}, body
	}
	structured := func(fields string) (map[string]string, string) {
		return map[string]string{"Content-Type": cloudevents.ApplicationCloudEventsJSON},
			`{"specversion":"1.0","id":"d","type":"t","source":"s"` + fields + `}`
	}
	cases := []struct {
		name string
		req  func() (map[string]string, string)
		want func(pcommon.Value)
	}{
		{
			name: "nested JSON",
			req: func() (map[string]string, string) {
				return binary("application/json", `{"n":1,"big":12345678901234,"f":1.5,"e":1e3,"s":"x","b":false,"z":null,"a":[1,"two",{"k":[]}],"o":{}}`)
			},
			want: func(v pcommon.Value) {
				m := v.SetEmptyMap()
				m.PutInt("n", 1)
				m.PutInt("big", 12345678901234)
				m.PutDouble("f", 1.5)
				m.PutDouble("e", 1000)
				m.PutStr("s", "x")
				m.PutBool("b", false)
				m.PutEmpty("z")
				a := m.PutEmptySlice("a")
				a.AppendEmpty().SetInt(1)
				a.AppendEmpty().SetStr("two")
				a.AppendEmpty().SetEmptyMap().PutEmptySlice("k")
				m.PutEmptyMap("o")
			},
		},
		{
			name: "a +json media type",
			req:  func() (map[string]string, string) { return binary("application/vnd.api+json", `[1,2]`) },
			want: func(v pcommon.Value) { s := v.SetEmptySlice(); s.AppendEmpty().SetInt(1); s.AppendEmpty().SetInt(2) },
		},
		{
			name: "JSON data in the structured mode",
			req: func() (map[string]string, string) {
				return structured(`,"datacontenttype":"application/json","data":{"x":[true]}`)
			},
			want: func(v pcommon.Value) { v.SetEmptyMap().PutEmptySlice("x").AppendEmpty().SetBool(true) },
		},
		{
			name: "invalid JSON under a JSON media type is kept as text",
			req:  func() (map[string]string, string) { return binary("application/json", `{"cut":`) },
			want: func(v pcommon.Value) { v.SetStr(`{"cut":`) },
		},
		{
			name: "text",
			req:  func() (map[string]string, string) { return binary("text/plain; charset=utf-8", "héllo") },
			want: func(v pcommon.Value) { v.SetStr("héllo") },
		},
		{
			name: "bytes that are not UTF-8",
			req:  func() (map[string]string, string) { return binary("image/png", "\x89PNG\x00\xff") },
			want: func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte("\x89PNG\x00\xff")) },
		},
		{
			name: "octet-stream stays bytes even when it is UTF-8",
			req:  func() (map[string]string, string) { return binary("application/octet-stream", "abc") },
			want: func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte("abc")) },
		},
		{
			name: "data_base64",
			req: func() (map[string]string, string) {
				return structured(`,"datacontenttype":"application/octet-stream","data_base64":"` + base64.StdEncoding.EncodeToString([]byte{1, 2, 3}) + `"`)
			},
			want: func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte{1, 2, 3}) },
		},
		{
			name: "no data",
			req:  func() (map[string]string, string) { return structured("") },
			want: func(pcommon.Value) {},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink.Reset()
			h, body := tc.req()
			code, msg := post(t, r.url, h, body)
			require.Equal(t, http.StatusAccepted, code, msg)
			require.Equal(t, 1, sink.LogRecordCount())
			got := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
			want := pcommon.NewValueEmpty()
			tc.want(want)
			assert.True(t, want.Equal(got), "body:\nwant %s\ngot  %s", want.AsString(), got.AsString())
			assert.Equal(t, want.Type(), got.Type())
		})
	}
}

// manyExtensions adds n extension attributes to binary-mode headers h.
func manyExtensions(h map[string]string, n int) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := range n {
		out[fmt.Sprintf("Ce-E%d", i)] = "v"
	}
	return out
}

// TestBadInput: each malformed request gets a precise 4xx naming what is
// wrong, nothing reaches the pipeline, and the receiver's metrics count
// the events it did not accept.
func TestBadInput(t *testing.T) {
	const maxData, maxBody = 1024, 4096
	sink := new(consumertest.LogsSink)
	r := start(t, sink, func(c *Config) {
		c.MaxDataSize = maxData
		c.MaxRequestBodySize = maxBody
	})

	binary := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": "t", "Ce-Source": "s", "Content-Type": "application/json"}
	without := func(h map[string]string, key string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			if k != key {
				out[k] = v
			}
		}
		return out
	}
	with := func(h map[string]string, key, value string) map[string]string {
		out := without(h, key)
		out[key] = value
		return out
	}
	structured := map[string]string{"Content-Type": cloudevents.ApplicationCloudEventsJSON}
	batch := map[string]string{"Content-Type": cloudevents.ApplicationCloudEventsBatchJSON}
	good := func(id string) string {
		return `{"specversion":"1.0","id":"` + id + `","type":"t","source":"s","data":{"ok":true}}`
	}

	cases := []struct {
		name    string
		header  map[string]string
		body    string
		status  int
		reasons []string // all must appear in the answer
		events  int      // events counted as not accepted
	}{
		{
			name: "missing required attribute (binary: no ce-id)", header: without(binary, "Ce-Id"), body: `{}`,
			status: 400, reasons: []string{"binary content mode", "id: MUST be a non-empty string"}, events: 1,
		},
		{
			name: "missing required attributes (structured: no source, empty type)", header: structured,
			body:   `{"specversion":"1.0","id":"1","type":""}`,
			status: 400, reasons: []string{"structured content mode", "source: REQUIRED", "type: MUST be a non-empty string"}, events: 1,
		},
		{
			name: "unknown spec version (binary)", header: with(binary, "Ce-Specversion", "2.0"), body: `{}`,
			status: 400, reasons: []string{`specversion: unsupported value "2.0"`, "accepted: 1.0, 0.3"}, events: 1,
		},
		{
			name: "unknown spec version (structured)", header: structured,
			body:   `{"specversion":"2.0","id":"1","type":"t","source":"s"}`,
			status: 400, reasons: []string{"specversion: unknown value: 2.0", "accepted: 1.0, 0.3"}, events: 1,
		},
		{
			name: "no spec version (structured)", header: structured, body: `{"id":"1","type":"t","source":"s"}`,
			status: 400, reasons: []string{"specversion: no specversion"}, events: 1,
		},
		{
			name: "data over max_data_size", header: binary, body: `"` + strings.Repeat("x", maxData) + `"`,
			status: 413, reasons: []string{fmt.Sprintf("has %d bytes of data, over max_data_size (%d bytes)", maxData+2, maxData)}, events: 1,
		},
		{
			name: "request body over max_request_body_size", header: binary, body: strings.Repeat(" ", maxBody+1),
			status: 413, reasons: []string{fmt.Sprintf("request body over max_request_body_size (%d bytes)", maxBody)}, events: 1,
		},
		{
			name: "malformed JSON (structured)", header: structured, body: `{"specversion":"1.0","id":"1",`,
			status: 400, reasons: []string{"structured content mode", "malformed JSON"}, events: 1,
		},
		{
			name: "malformed JSON (batch)", header: batch, body: `[` + good("a") + `,{"specversion":`,
			status: 400, reasons: []string{"must be a JSON array", "malformed JSON"}, events: 1,
		},
		{
			name: "a batch that is not an array", header: batch, body: good("a"),
			status: 400, reasons: []string{"must be a JSON array of structured CloudEvents"}, events: 1,
		},
		{
			name: "a batch mixing good and bad events", header: batch,
			body: `[` + good("a") + `,{"specversion":"1.0","type":"t","source":"s"},` + good("c") +
				`,{"specversion":"9.9","id":"d","type":"t","source":"s"}]`,
			status: 400,
			reasons: []string{
				"2 of 4 events are invalid, so none was accepted",
				"event 1: id: MUST be a non-empty string",
				`event 3 (id "d"): specversion: unknown value: 9.9`,
			},
			events: 4,
		},
		{
			name: "a batch with one event over max_data_size", header: batch,
			body:   `[` + good("a") + `,{"specversion":"1.0","id":"big","type":"t","source":"s","data":"` + strings.Repeat("y", maxData) + `"}]`,
			status: 413, reasons: []string{`event 1 of the batch (id "big") has`, "over max_data_size", "nothing was accepted"}, events: 2,
		},
		{
			name: "too many extension attributes", header: manyExtensions(binary, maxExtensions+1), body: `{}`,
			status: 400, reasons: []string{fmt.Sprintf("has more than %d extension attributes", maxExtensions)}, events: 1,
		},
		{
			name: "an invalid time (binary)", header: with(binary, "Ce-Time", "yesterday"), body: `{}`,
			status: 400, reasons: []string{"binary content mode", "yesterday"}, events: 1,
		},
		{
			name: "not a CloudEvent", header: map[string]string{"Content-Type": "application/json"}, body: `{"hello":1}`,
			status: 400, reasons: []string{"not a CloudEvent", "no ce-specversion header"}, events: 1,
		},
		{
			name: "an event format this receiver does not read", header: map[string]string{"Content-Type": "application/cloudevents+avro"}, body: "\x00",
			status: 415, reasons: []string{`unsupported CloudEvents event format "application/cloudevents+avro"`}, events: 1,
		},
	}
	notAccepted := int64(0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, reason := post(t, r.url, tc.header, tc.body)
			assert.Equal(t, tc.status, code, reason)
			for _, want := range tc.reasons {
				assert.Contains(t, reason, want)
			}
			assert.Empty(t, sink.AllLogs(), "nothing may reach the pipeline")
			notAccepted += int64(tc.events)
			got := counter(t, r.tel, "otelcol_receiver_refused_log_records") + counter(t, r.tel, "otelcol_receiver_failed_log_records")
			assert.Equal(t, notAccepted, got, "events counted as not accepted")
		})
	}
	assert.Zero(t, counter(t, r.tel, "otelcol_receiver_accepted_log_records"))
}
