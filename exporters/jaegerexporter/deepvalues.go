// SPDX-License-Identifier: Apache-2.0

package jaegerexporter

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The translator renders a map or slice attribute as JSON through pcommon's
// AsString, which recurses in encoding/json once a level with no limit: a
// client's attribute nested 800,000 deep (7.5 MB over OTLP/HTTP, within
// the receiver's limit) overflowed the stack, a fatal error that took the
// Collector and its queue with it, and 450,000 levels cost 890 MB of
// stack. Values nested deeper than maxValueDepth are replaced before the
// translator sees them, in a copy, since the batch may be shared.

// maxValueDepth is how deeply maps and slices may nest in an attribute the
// exporter sends. Real attributes nest a few levels.
const maxValueDepth = 64

// tooDeepText replaces a value nested deeper than maxValueDepth.
const tooDeepText = "<value nested more than 64 levels deep, not exported>"

// tooDeep reports whether v nests maps and slices more than levels deep.
// It recurses at most levels+1 times.
func tooDeep(v pcommon.Value, levels int) bool {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		if levels == 0 {
			return true
		}
		for _, e := range v.Map().All() {
			if tooDeep(e, levels-1) {
				return true
			}
		}
	case pcommon.ValueTypeSlice:
		if levels == 0 {
			return true
		}
		s := v.Slice()
		for i := range s.Len() {
			if tooDeep(s.At(i), levels-1) {
				return true
			}
		}
	}
	return false
}

func mapTooDeep(m pcommon.Map) bool {
	for _, v := range m.All() {
		if tooDeep(v, maxValueDepth) {
			return true
		}
	}
	return false
}

func spanTooDeep(s ptrace.Span) bool {
	if mapTooDeep(s.Attributes()) {
		return true
	}
	for i := range s.Events().Len() {
		if mapTooDeep(s.Events().At(i).Attributes()) {
			return true
		}
	}
	for i := range s.Links().Len() {
		if mapTooDeep(s.Links().At(i).Attributes()) {
			return true
		}
	}
	return false
}

// withoutDeepValues returns td, or, if any attribute in it nests too
// deeply, a copy with each such value replaced by tooDeepText, and how
// many were. Everything else is copied as it is; what holds no deep value
// is copied by pdata's CopyTo, whose recursion is then bounded too.
func withoutDeepValues(td ptrace.Traces) (ptrace.Traces, int) {
	deep := false
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len() && !deep; i++ {
		rs := rss.At(i)
		deep = mapTooDeep(rs.Resource().Attributes())
		for j := 0; j < rs.ScopeSpans().Len() && !deep; j++ {
			ss := rs.ScopeSpans().At(j)
			deep = mapTooDeep(ss.Scope().Attributes())
			for k := 0; k < ss.Spans().Len() && !deep; k++ {
				deep = spanTooDeep(ss.Spans().At(k))
			}
		}
	}
	if !deep {
		return td, 0
	}
	out := ptrace.NewTraces()
	replaced := 0
	copyAttrs := func(src, dst pcommon.Map) {
		dst.EnsureCapacity(src.Len())
		for k, v := range src.All() {
			if tooDeep(v, maxValueDepth) {
				dst.PutStr(k, tooDeepText)
				replaced++
				continue
			}
			v.CopyTo(dst.PutEmpty(k))
		}
	}
	for i := range rss.Len() {
		rs, nrs := rss.At(i), out.ResourceSpans().AppendEmpty()
		nrs.SetSchemaUrl(rs.SchemaUrl())
		copyAttrs(rs.Resource().Attributes(), nrs.Resource().Attributes())
		nrs.Resource().SetDroppedAttributesCount(rs.Resource().DroppedAttributesCount())
		for j := range rs.ScopeSpans().Len() {
			ss, nss := rs.ScopeSpans().At(j), nrs.ScopeSpans().AppendEmpty()
			nss.SetSchemaUrl(ss.SchemaUrl())
			sc, nsc := ss.Scope(), nss.Scope()
			nsc.SetName(sc.Name())
			nsc.SetVersion(sc.Version())
			copyAttrs(sc.Attributes(), nsc.Attributes())
			nsc.SetDroppedAttributesCount(sc.DroppedAttributesCount())
			for k := range ss.Spans().Len() {
				s, ns := ss.Spans().At(k), nss.Spans().AppendEmpty()
				if !spanTooDeep(s) {
					s.CopyTo(ns)
					continue
				}
				copySpan(s, ns, copyAttrs)
			}
		}
	}
	return out, replaced
}

// copySpan copies every field of s to ns, its attributes and those of its
// events and links through copyAttrs.
func copySpan(s, ns ptrace.Span, copyAttrs func(src, dst pcommon.Map)) {
	ns.SetTraceID(s.TraceID())
	ns.SetSpanID(s.SpanID())
	ns.TraceState().FromRaw(s.TraceState().AsRaw())
	ns.SetParentSpanID(s.ParentSpanID())
	ns.SetFlags(s.Flags())
	ns.SetName(s.Name())
	ns.SetKind(s.Kind())
	ns.SetStartTimestamp(s.StartTimestamp())
	ns.SetEndTimestamp(s.EndTimestamp())
	copyAttrs(s.Attributes(), ns.Attributes())
	ns.SetDroppedAttributesCount(s.DroppedAttributesCount())
	for i := range s.Events().Len() {
		e, ne := s.Events().At(i), ns.Events().AppendEmpty()
		ne.SetTimestamp(e.Timestamp())
		ne.SetName(e.Name())
		copyAttrs(e.Attributes(), ne.Attributes())
		ne.SetDroppedAttributesCount(e.DroppedAttributesCount())
	}
	ns.SetDroppedEventsCount(s.DroppedEventsCount())
	for i := range s.Links().Len() {
		l, nl := s.Links().At(i), ns.Links().AppendEmpty()
		nl.SetTraceID(l.TraceID())
		nl.SetSpanID(l.SpanID())
		nl.TraceState().FromRaw(l.TraceState().AsRaw())
		nl.SetFlags(l.Flags())
		copyAttrs(l.Attributes(), nl.Attributes())
		nl.SetDroppedAttributesCount(l.DroppedAttributesCount())
	}
	ns.SetDroppedLinksCount(s.DroppedLinksCount())
	ns.Status().SetCode(s.Status().Code())
	ns.Status().SetMessage(s.Status().Message())
}
