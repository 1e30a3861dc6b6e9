// SPDX-License-Identifier: Apache-2.0

package jaegerexporter

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func nest(v pcommon.Value, levels int) {
	for range levels {
		v = v.SetEmptySlice().AppendEmpty()
	}
	v.SetStr("bottom")
}

// deepBatch is one span with ordinary attributes, an event and a link, and
// the same with values nested levels deep in the span's, the event's and
// the resource's attributes.
func deepBatch(levels int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	nest(rs.Resource().Attributes().PutEmpty("r"), levels)
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("op")
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{2})
	s.Attributes().PutStr("kept", "v")
	nest(s.Attributes().PutEmpty("shallow"), 3)
	nest(s.Attributes().PutEmpty("deep"), levels)
	ev := s.Events().AppendEmpty()
	ev.SetName("e")
	nest(ev.Attributes().PutEmpty("deep"), levels)
	l := s.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{3})
	l.Attributes().PutInt("n", 1)
	s.Status().SetCode(ptrace.StatusCodeError)
	return td
}

// TestWithoutDeepValues: values nested deeper than maxValueDepth are
// replaced in a copy, everything else copied as it was; a batch without
// them is passed as it is.
func TestWithoutDeepValues(t *testing.T) {
	td := deepBatch(maxValueDepth)
	same, n := withoutDeepValues(td)
	require.Zero(t, n)
	require.NoError(t, ptracetest.CompareTraces(td, same))

	got, n := withoutDeepValues(deepBatch(maxValueDepth + 1))
	require.Equal(t, 3, n)
	want := deepBatch(0)
	rs := want.ResourceSpans().At(0)
	rs.Resource().Attributes().PutStr("r", tooDeepText)
	s := rs.ScopeSpans().At(0).Spans().At(0)
	s.Attributes().PutStr("deep", tooDeepText)
	s.Events().At(0).Attributes().PutStr("deep", tooDeepText)
	require.NoError(t, ptracetest.CompareTraces(want, got))
}

// TestPushTracesWithADeepValue: a client's attribute nested a million deep
// (a 9.5 MB OTLP/HTTP request) is exported with the value replaced, instead
// of overflowing the stack in the translator, a fatal error.
func TestPushTracesWithADeepValue(t *testing.T) {
	f := &fakeCollector{}
	set, logs := observedSettings()
	exp := startExporter(t, testConfig(startFakeCollector(t, f)), set)
	td := deepBatch(1_000_000)
	td.MarkReadOnly() // as when the batch is shared
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	_, accepted := f.snapshot()
	require.Len(t, accepted, 1)
	tags := map[string]string{}
	for _, tag := range accepted[0].Batch.Spans[0].Tags {
		tags[tag.Key] = tag.VStr
	}
	require.Equal(t, tooDeepText, tags["deep"])
	require.Equal(t, "v", tags["kept"])
	require.Equal(t, 1, logs.FilterMessage("replaced attribute values nested too deeply to export").Len())
}
