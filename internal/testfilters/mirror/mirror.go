// SPDX-License-Identifier: Apache-2.0

// Package mirror is a test filter that reads every field the SDK offers and
// writes what it read into a "mirror" attribute on each span, data point
// and log record, so tests can check every accessor against pdata.
package mirror

import (
	"fmt"
	"strconv"
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// Filter mirrors traces, metrics and logs.
type Filter struct{}

// Key is the attribute the filter writes.
const Key = "mirror"

// Value renders a value as kind:text, with doubles in Go's shortest 'g' form.
func Value(v wasmcol.Value) string {
	if v.Kind() == wasmcol.KindDouble {
		return "3:" + strconv.FormatFloat(v.Double(), 'g', -1, 64)
	}
	return strconv.Itoa(int(v.Kind())) + ":" + v.AsString()
}

func attrs(it wasmcol.Item) string {
	var b strings.Builder
	for k, v := range it.Attrs() {
		fmt.Fprintf(&b, "%s=%s,", k, Value(v))
	}
	return b.String()
}

func scope(s wasmcol.Scope) string {
	return fmt.Sprintf("scope=%s@%s{%s}|res{%s}", s.Name(), s.Version(), attrs(s), attrs(s.Resource()))
}

// ProcessTraces mirrors every span.
func (Filter) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		var b strings.Builder
		fmt.Fprintf(&b, "name=%s|kind=%d|tid=%s|sid=%s|psid=%s|ts=%s|start=%d|end=%d|status=%d:%s|flags=%d|%s|res{%s}|attrs{%s}",
			s.Name(), s.Kind(), s.TraceID(), s.SpanID(), s.ParentSpanID(), s.TraceState(), s.StartTime(), s.EndTime(),
			s.Status(), s.StatusMessage(), s.Flags(), scope(s.Scope()), attrs(s.Resource()), attrs(s))
		for e := range s.Events() {
			fmt.Fprintf(&b, "|event=%s@%d{%s}", e.Name(), e.Time(), attrs(e))
		}
		for l := range s.Links() {
			fmt.Fprintf(&b, "|link=%s/%s/%s{%s}", l.TraceID(), l.SpanID(), l.TraceState(), attrs(l))
		}
		s.SetAttr(Key, wasmcol.Str(b.String()))
	}
	return nil
}

// ProcessMetrics mirrors every data point.
func (Filter) ProcessMetrics(m wasmcol.Metrics) error {
	for p := range m.Points() {
		mt := p.Metric()
		sum, hasSum := p.Sum()
		p.SetAttr(Key, wasmcol.Str(fmt.Sprintf("metric=%s|unit=%s|desc=%s|type=%d|%s|start=%d|time=%d|value=%s|count=%d|sum=%s/%t|flags=%d|attrs{%s}",
			mt.Name(), mt.Unit(), mt.Description(), mt.Type(), scope(mt.Scope()), p.StartTime(), p.Time(), Value(p.Value()),
			p.Count(), strconv.FormatFloat(sum, 'g', -1, 64), hasSum, p.Flags(), attrs(p))))
	}
	return nil
}

// ProcessLogs mirrors every log record.
func (Filter) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		r.SetAttr(Key, wasmcol.Str(fmt.Sprintf("body=%s|sev=%d/%s|tid=%s|sid=%s|time=%d|obs=%d|flags=%d|%s|attrs{%s}",
			Value(r.Body()), r.Severity(), r.SeverityText(), r.TraceID(), r.SpanID(), r.Time(), r.ObservedTime(), r.Flags(),
			scope(r.Scope()), attrs(r))))
	}
	return nil
}
