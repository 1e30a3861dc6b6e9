// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// BenchmarkCmp_CloudEventsBinary measures events/s through the receiver
// when each request carries one event in binary content mode, as a Knative
// dispatcher delivers them, against the OTLP/HTTP receiver taking the same
// log record, one per request, as OTLP protobuf.
func BenchmarkCmp_CloudEventsBinary(b *testing.B) {
	benchCompare(b, 1)
}

// BenchmarkCmp_CloudEventsBatch is the same with 100 events per request:
// the batched content mode against an OTLP request of the same 100 records.
func BenchmarkCmp_CloudEventsBatch(b *testing.B) {
	benchCompare(b, 100)
}

// benchEvents are n heartbeat events, as the heartbeats sample sends them,
// each with its own id and the dispatcher's trace context.
func benchEvents(n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = heartbeat(fmt.Sprintf("2b72d7bf-c38f-4a98-a433-%012d", i), i)
		evs[i].SetExtension("traceparent", headerParent)
	}
	return evs
}

// benchRequest is one request's method, URL, headers and body, replayed
// for every iteration.
type benchRequest struct {
	url    string
	header http.Header
	body   []byte
}

func (r benchRequest) send(b *testing.B, c *http.Client) {
	req, err := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header = r.header.Clone()
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Fatalf("POST %s: %s", r.url, resp.Status)
	}
}

// countingLogs counts records; a sink keeping a few million records would
// measure the garbage collector.
type countingLogs struct {
	mu      sync.Mutex
	records int
	last    plog.Logs
}

func (c *countingLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *countingLogs) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.mu.Lock()
	c.records += ld.LogRecordCount()
	c.last = ld
	c.mu.Unlock()
	return nil
}

// benchCompare runs both receivers on loopback, each fed by one HTTP
// client with keep-alive sending requests back to back. Before timing, it
// checks that both deliver the same records. Besides items/s it reports
// the process's CPU time per item, client included, which a busy shared
// machine disturbs much less than the rate.
func benchCompare(b *testing.B, perRequest int) {
	evs := benchEvents(perRequest)

	// The CloudEvents side's request, written by the CloudEvents SDK.
	ceSink := &countingLogs{}
	r := start(b, ceSink, nil)
	var ceReq *http.Request
	var err error
	if perRequest == 1 {
		ceReq, err = cehttp.NewHTTPRequestFromEvent(context.Background(), r.url, evs[0])
	} else {
		ceReq, err = cehttp.NewHTTPRequestFromEvents(context.Background(), r.url, evs)
	}
	require.NoError(b, err)
	ceBody, err := io.ReadAll(ceReq.Body)
	require.NoError(b, err)
	ceReq.Header.Set("Traceparent", headerParent)
	ce := benchRequest{url: r.url, header: ceReq.Header, body: ceBody}

	// The OTLP side's request carries the records the receiver makes of
	// those events.
	client := &http.Client{}
	defer client.CloseIdleConnections()
	ce.send(b, client)
	require.Equal(b, perRequest, ceSink.records)
	records := ceSink.last
	body, err := plogotlp.NewExportRequestFromLogs(records).MarshalProto()
	require.NoError(b, err)

	otlpSink := &countingLogs{}
	otlpAddr := freeAddr(b)
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(b, confmap.NewFromStringMap(map[string]any{
		"protocols": map[string]any{"http": map[string]any{"endpoint": otlpAddr}},
	}).Unmarshal(cfg))
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, otlpSink)
	require.NoError(b, err)
	require.NoError(b, rcv.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, rcv.Shutdown(context.Background())) })
	otlp := benchRequest{
		url:    "http://" + otlpAddr + "/v1/logs",
		header: http.Header{"Content-Type": {"application/x-protobuf"}},
		body:   body,
	}
	otlp.send(b, client)
	require.NoError(b, plogtest.CompareLogs(records, otlpSink.last, plogtest.IgnoreObservedTimestamp()),
		"both receivers must deliver the same records")

	run := func(req benchRequest, sink *countingLogs) func(b *testing.B) {
		return func(b *testing.B) {
			sink.mu.Lock()
			sink.records = 0
			sink.mu.Unlock()
			b.ReportAllocs()
			b.SetBytes(int64(len(req.body)))
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				req.send(b, client)
			}
			cpu := processCPU() - cpu0
			b.StopTimer()
			if sink.records != b.N*perRequest {
				b.Fatalf("%d records delivered, want %d", sink.records, b.N*perRequest)
			}
			b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "items/s")
			if cpu > 0 {
				// Client and server both: the same client code on both sides.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*perRequest), "cpu-ns/item")
			}
		}
	}
	b.Run("cloudevents", run(ce, ceSink))
	b.Run("otlphttp", run(otlp, otlpSink))
}
