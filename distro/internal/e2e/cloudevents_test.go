// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fileOverlay adds a file exporter writing to path and sends both the
// processed traces (from the forward connector) and the logs pipeline's
// events to it, so one file holds what a backend would get.
func fileOverlay(path string) map[string]any {
	return map[string]any{
		"exporters": map[string]any{"file/e2e": map[string]any{"path": path}},
		"service": map[string]any{"pipelines": map[string]any{
			"traces/file": map[string]any{"receivers": []any{"forward"}, "exporters": []any{"file/e2e"}},
			"logs":        map[string]any{"exporters": []any{"debug", "file/e2e"}},
		}},
	}
}

// fileOutput is what the file exporter wrote: OTLP JSON, one request per
// line.
type fileOutput struct {
	spans map[pcommon.SpanID]ptrace.Span
	// spanTrace is each span's trace ID.
	spanTrace map[pcommon.SpanID]pcommon.TraceID
	logs      []gotLog
}

type gotLog struct {
	resource pcommon.Map
	record   plog.LogRecord
}

func readFileOutput(path string) (fileOutput, error) {
	out := fileOutput{spans: map[pcommon.SpanID]ptrace.Span{}, spanTrace: map[pcommon.SpanID]pcommon.TraceID{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.Contains(line, []byte(`"resourceSpans"`)):
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
			if err != nil {
				return out, fmt.Errorf("a traces line of %s: %w", path, err)
			}
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						out.spans[s.SpanID()] = s
						out.spanTrace[s.SpanID()] = s.TraceID()
					}
				}
			}
		case bytes.Contains(line, []byte(`"resourceLogs"`)):
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
			if err != nil {
				return out, fmt.Errorf("a logs line of %s: %w", path, err)
			}
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						out.logs = append(out.logs, gotLog{resource: rl.Resource().Attributes(), record: lr})
					}
				}
			}
		}
	}
	return out, sc.Err()
}

// spanNamed returns the one span the trace promises under name.
func spanNamed(t *testing.T, z *zipkinTrace, name string) pcommon.SpanID {
	t.Helper()
	var found []pcommon.SpanID
	for _, w := range z.want {
		if w.Name == name {
			found = append(found, w.SpanID)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the trace has %d spans named %q, want 1", len(found), name)
	}
	return found[0]
}

func traceparent(trace pcommon.TraceID, span pcommon.SpanID) string {
	return fmt.Sprintf("00-%s-%s-01", trace, span)
}

// wantEvent is one event the test sent and where its record must sit.
type wantEvent struct {
	id, typ, service string
	span             pcommon.SpanID
	// hop is the knative.hop that knative-hops must have put on that span.
	hop string
}

// TestCloudEventsOnKnativeTrace is the end-to-end case: the shipped
// config, with the cloudevents receiver, the Zipkin receiver and the
// knative-hops filter, gets spans.md's OpenCensus-era broker hop as Zipkin
// v2 JSON, and the CloudEvents of that same flow from the CloudEvents SDK
// client, each carrying the trace context of the hop that delivered it (as
// a Trigger's dispatch does) or of its sender. The file exporter's output
// must hold every span and one log record per event, whose trace and span
// IDs are those of the spans knative-hops tagged.
func TestCloudEventsOnKnativeTrace(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.json")
	cfg := shippedConfig(t, fileOverlay(out))
	col := startCollector(t, cfg.HealthAddr, nil, cfg.Files...)

	z, _ := knativeOpenCensusTrace(time.Now().Add(-time.Minute))
	sendZipkin(t, cfg.ZipkinAddr, z.spans)
	traceID := zipkinTraceID(z.ID)

	heartbeat := cloudevents.NewEvent()
	heartbeat.SetID("7c1c5b2e-4a8f-4f0d-b1d6-2d8e9a6f3c11")
	heartbeat.SetType("dev.knative.eventing.samples.heartbeat")
	heartbeat.SetSource("https://knative.dev/eventing-contrib/cmd/heartbeats/#default/" + podHeartbeats)
	heartbeat.SetTime(time.Now().Add(-time.Minute))
	heartbeat.SetExtension("the", 42)
	heartbeat.SetExtension("heart", "yes")
	heartbeat.SetExtension("beats", true)
	if err := heartbeat.SetData(cloudevents.ApplicationJSON, map[string]any{"id": 1, "label": ""}); err != nil {
		t.Fatal(err)
	}
	reply := heartbeat.Clone()
	reply.SetType("coinflip")
	reply.SetSource("knative.dev/eventing/cmd/coinflip/5a0f6c2d-1e3b-4c7a-8d9e-0f1a2b3c4d5e")
	reply.SetExtension("flip", "heads")
	// The heartbeats pod's own event, as it left the pod: the trace
	// context rides in the event (ce-traceparent), with no hop in between.
	fromPod := heartbeat.Clone()
	fromPod.SetID("b1d6e2a0-0c5f-4b8e-9a3d-7f2e1c4b6a90")

	want := []wantEvent{
		{id: heartbeat.ID(), typ: heartbeat.Type(), service: "heartbeats",
			span: spanNamed(t, z, "trigger:"+coinflipTrigger+".default"), hop: "filter"},
		{id: reply.ID() + "/reply", typ: reply.Type(), service: "coinflip",
			span: spanNamed(t, z, "trigger:"+displayTrigger+".default"), hop: "filter"},
		{id: fromPod.ID(), typ: fromPod.Type(), service: "heartbeats",
			span: spanNamed(t, z, "cloudevents.http./default/default")},
	}
	reply.SetID(want[1].id)
	fromPod.SetExtension("traceparent", traceparent(traceID, want[2].span))

	p, err := cloudevents.NewHTTP(cloudevents.WithTarget("http://" + cfg.CloudEventsAddr + "/"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	// A broker's dispatcher delivers in binary mode with the traceparent
	// header of its hop; the reply goes structured, as a broker may send.
	send := func(ctx context.Context, ev event.Event) {
		t.Helper()
		if res := client.Send(ctx, ev); !cloudevents.IsACK(res) {
			t.Fatalf("sending %s: %v", ev.ID(), res)
		}
	}
	send(cehttp.WithCustomHeader(context.Background(), http.Header{"Traceparent": {traceparent(traceID, want[0].span)}}), heartbeat)
	send(cehttp.WithCustomHeader(cloudevents.WithEncodingStructured(context.Background()),
		http.Header{"Traceparent": {traceparent(traceID, want[1].span)}}), reply)
	send(context.Background(), fromPod)

	var got fileOutput
	err = waitFor(30*time.Second, func() error {
		var err error
		if got, err = readFileOutput(out); err != nil {
			return err
		}
		if len(got.spans) < len(z.want) || len(got.logs) < len(want) {
			return fmt.Errorf("%d of %d spans and %d of %d log records so far", len(got.spans), len(z.want), len(got.logs), len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the file exporter's output at %s: %v", out, err)
	}
	col.stop()
	if got, err = readFileOutput(out); err != nil {
		t.Fatal(err)
	}
	if len(got.logs) != len(want) {
		t.Fatalf("%d log records in the output, want %d: one per event, nothing twice", len(got.logs), len(want))
	}

	byID := map[string]gotLog{}
	for _, l := range got.logs {
		id, _ := l.record.Attributes().Get("cloudevents.event_id")
		byID[id.Str()] = l
	}
	for _, w := range want {
		l, ok := byID[w.id]
		if !ok {
			t.Errorf("no log record for event %s", w.id)
			continue
		}
		lr := l.record
		if lr.TraceID() != traceID {
			t.Errorf("event %s: trace ID %s, want the Knative trace's %s", w.id, lr.TraceID(), traceID)
		}
		if lr.SpanID() != w.span {
			t.Errorf("event %s: span ID %s, want %s", w.id, lr.SpanID(), w.span)
		}
		span, ok := got.spans[lr.SpanID()]
		switch {
		case !ok:
			t.Errorf("event %s: its span %s is not in the output", w.id, lr.SpanID())
		case got.spanTrace[lr.SpanID()] != lr.TraceID():
			t.Errorf("event %s: its span is in trace %s, the record in %s", w.id, got.spanTrace[lr.SpanID()], lr.TraceID())
		case w.hop != "":
			if hop, _ := span.Attributes().Get("knative.hop"); hop.Str() != w.hop {
				t.Errorf("event %s: its span %q has knative.hop %q, want %q", w.id, span.Name(), hop.Str(), w.hop)
			}
		}
		if typ, _ := lr.Attributes().Get("cloudevents.event_type"); typ.Str() != w.typ {
			t.Errorf("event %s: cloudevents.event_type %q, want %q", w.id, typ.Str(), w.typ)
		}
		if svc, _ := l.resource.Get("service.name"); svc.Str() != w.service {
			t.Errorf("event %s: service.name %q, want %q (from its Knative source)", w.id, svc.Str(), w.service)
		}
		if lr.Body().Type() != pcommon.ValueTypeMap || lr.Body().Map().AsRaw()["id"] != int64(1) {
			t.Errorf("event %s: body %s, want the event's JSON data as a map", w.id, lr.Body().AsString())
		}
	}
}

// TestCloudEventsRefusedUnderMemoryPressure runs the shipped pipeline with
// a memory_limiter set below what the process uses, so it refuses
// everything: the receiver must answer 503, which Knative retries, and
// the refused event must not reach the output.
func TestCloudEventsRefusedUnderMemoryPressure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.json")
	extra := fileOverlay(out)
	extra["processors"] = map[string]any{"memory_limiter": map[string]any{
		"check_interval": "100ms", "limit_mib": 2, "spike_limit_mib": 1,
	}}
	cfg := shippedConfig(t, extra)
	col := startCollector(t, cfg.HealthAddr, nil, cfg.Files...)

	p, err := cloudevents.NewHTTP(cloudevents.WithTarget("http://" + cfg.CloudEventsAddr + "/"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	ev := cloudevents.NewEvent()
	ev.SetType("dev.knative.sources.ping")
	ev.SetSource("/apis/v1/namespaces/default/pingsources/ping")
	if err := ev.SetData(cloudevents.TextPlain, "refused"); err != nil {
		t.Fatal(err)
	}
	// The limiter decides on its first check, 100ms after the start; an
	// event it takes before that is accepted, which is fine.
	var refused string
	err = waitFor(10*time.Second, func() error {
		ev.SetID(fmt.Sprintf("ping-%d", time.Now().UnixNano()))
		res := client.Send(context.Background(), ev)
		if cloudevents.IsACK(res) {
			return errors.New("still accepted")
		}
		var httpRes *cehttp.Result
		if !errors.As(res, &httpRes) {
			return fmt.Errorf("no HTTP answer: %v", res)
		}
		if httpRes.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.Error(), "data refused due to high memory usage") {
			t.Fatalf("refused with %d %q, want 503 naming the memory limiter", httpRes.StatusCode, res.Error())
		}
		refused = ev.ID()
		return nil
	})
	if err != nil {
		t.Fatalf("the memory_limiter never refused an event: %v", err)
	}
	col.stop()
	got, err := readFileOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got.logs {
		if id, _ := l.record.Attributes().Get("cloudevents.event_id"); id.Str() == refused {
			t.Fatalf("the refused event %s reached the output", refused)
		}
	}
}
