// SPDX-License-Identifier: Apache-2.0

// Package benchdata makes the batches benchmarks share: Knative-shaped
// spans as spans.md describes them, eight attributes each.
package benchdata

import (
	"encoding/binary"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// KnativeTraces is a batch of n spans cycling through the span shapes of an
// OpenCensus-era broker hop (Zipkin receiver output: string tags, missing
// kinds), one resource per service.
func KnativeTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	type shape struct {
		service, name string
		kind          ptrace.SpanKind
	}
	shapes := []shape{
		{"broker-ingress.knative-eventing", "/default/default", ptrace.SpanKindServer},
		{"broker-ingress.knative-eventing", "broker:default.default", ptrace.SpanKindUnspecified},
		{"imc-dispatcher", "knative.dev", ptrace.SpanKindClient},
		{"broker-filter.knative-eventing", "/triggers/default/heartbeat-to-coinflip/1f2e", ptrace.SpanKindServer},
		{"broker-filter.knative-eventing", "trigger:heartbeat-to-coinflip.default", ptrace.SpanKindUnspecified},
		{"activator-service", "throttler_try", ptrace.SpanKindUnspecified},
		{"coinflip-00001-deployment-5d9c7b8f4-x2x7k", "receive", ptrace.SpanKindServer},
		{"heartbeats-deployment-7d9c6b5f4-abcde", "cloudevents.client", ptrace.SpanKindClient},
	}
	spansBy := map[string]ptrace.SpanSlice{}
	for _, sh := range shapes {
		if _, ok := spansBy[sh.service]; ok {
			continue
		}
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", sh.service)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("opencensus")
		spansBy[sh.service] = ss.Spans()
	}
	for i := 0; i < n; i++ {
		sh := shapes[i%len(shapes)]
		s := spansBy[sh.service].AppendEmpty()
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[8:], uint64(i/len(shapes))*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(tid[:8], uint64(i/len(shapes)+1))
		s.SetTraceID(pcommon.TraceID(tid))
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		s.SetSpanID(pcommon.SpanID(sid))
		s.SetName(sh.name)
		s.SetKind(sh.kind)
		s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)*1000))
		s.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)*1000 + 2_500_000))
		a := s.Attributes()
		a.PutStr("http.method", "POST")
		a.PutStr("http.status_code", "202")
		a.PutStr("http.host", "broker-ingress.knative-eventing.svc.cluster.local")
		a.PutStr("messaging.system", "knative")
		a.PutStr("messaging.destination", "broker:default.default")
		a.PutStr("messaging.message_id", fmt.Sprintf("%08x-1c2d-4e5f", i))
		a.PutStr("cloudevents.type", "dev.knative.eventing.samples.heartbeat")
		a.PutStr("cloudevents.source", "https://knative.dev/eventing-contrib/cmd/heartbeats/#default/heartbeats-1")
	}
	return td
}

// OneSpan is the smallest non-empty batch, for per-call overhead.
func OneSpan() ptrace.Traces {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("broker:default.default")
	s.Attributes().PutStr("messaging.system", "knative")
	return td
}
