// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGracefulShutdownFlushes sends traces over both receivers, then stops
// wasmcol with SIGTERM while all of them are still inside it, and requires
// every span at the test's receiver, with the filters' attributes, and
// exit status 0.
//
// The shipped config runs with its batch processor told to hold data for
// an hour, so that the spans are provably in flight when the signal
// arrives (the receiver has nothing); only the shutdown's flush (batch,
// the forward connector, the OTLP exporter's queue) can deliver them.
func TestGracefulShutdownFlushes(t *testing.T) {
	sink := startOTLPSink(t)
	hold := map[string]any{"processors": map[string]any{
		"batch": map[string]any{"timeout": "1h", "send_batch_size": 1000000},
	}}
	cfg := shippedConfig(t, hold, "export-otlp.yaml")
	col := startCollector(t, cfg.HealthAddr,
		[]string{"WASMCOL_OTLP_ENDPOINT=" + sink.Addr, "WASMCOL_OTLP_INSECURE=true"}, cfg.Files...)

	base := time.Now().Add(-time.Minute)
	z, _ := knativeOpenCensusTrace(base)
	sendZipkin(t, cfg.ZipkinAddr, z.spans)
	b := &otlpTrace{base: base}
	newest := knativeReleases[len(knativeReleases)-1]
	kn := newKnativeOTelServices(t, cfg, newest)
	knativeOTelTrace(b, kn, newest, 0)
	keda := newOTelService(t, httpProtocol, cfg.OTLPHTTPAddr, map[string]string{"service.name": "keda-http-interceptor"})
	kedaInterceptorTraces(b, keda)
	flushAll(t, append(kn.all(), keda)...)
	want := append(z.want, b.want...)

	// Every client has its answer, so everything is inside wasmcol. The
	// health check still answers, and nothing has left yet.
	status, body, err := getHealth(&http.Client{Timeout: 5 * time.Second}, col.health)
	if err != nil || status != http.StatusOK || body["status"] != "StatusOK" {
		t.Fatalf("health check after sending: %d %v %v", status, body, err)
	}
	time.Sleep(time.Second)
	if n := sink.SpanCount(); n != 0 {
		t.Fatalf("%d spans reached the receiver before the shutdown: the batch processor did not hold them, so this test would not test the flush", n)
	}

	out := col.stop()
	if !strings.Contains(out, "Received signal from OS") {
		t.Errorf("wasmcol exited 0 but did not log that it received the signal")
	}
	// The process has exited: what is not here now never will be.
	if m := missing(spansByID(sink.AllTraces()), want); len(m) > 0 {
		t.Fatalf("%d of %d spans sent before SIGTERM were lost in the shutdown (%d received):\n  %s",
			len(m), len(want), sink.SpanCount(), strings.Join(m, "\n  "))
	}
	checkSpans(t, sink, want)
}
