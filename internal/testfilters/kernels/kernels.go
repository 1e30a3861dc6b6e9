// SPDX-License-Identifier: Apache-2.0

// Package kernels is a test filter that uses every kernel the SDK offers
// (selections computed by the host, and edits staged for a whole
// selection), interleaved with ordinary per-item edits, so that the
// emulator and the real host can be compared on randomized batches and the
// selections checked against pdata.
package kernels

import (
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// Filter edits traces, metrics and logs with kernels.
type Filter struct{}

// Conds are the span conditions the filter marks: span i gets the
// attribute Mark+name when it meets Conds[name]. The test recomputes each
// from pdata.
var Conds = map[string]wasmcol.Cond{
	"prefix":   wasmcol.NameHasPrefix("broker:", "/triggers/", "ünï"),
	"name":     wasmcol.NameIs("x", "", "tab\tnew\nline"),
	"kind":     wasmcol.KindIs(wasmcol.SpanKindServer, wasmcol.SpanKindClient),
	"has":      wasmcol.HasAttr("k0"),
	"equal":    wasmcol.AttrIs("k1", wasmcol.Bool(true), wasmcol.Str("x"), wasmcol.Int(0), wasmcol.Double(0)),
	"attrpre":  wasmcol.AttrHasPrefix("k2", "broker", "/"),
	"resource": wasmcol.ResourceIn(0, 2, 5),
}

// Mark prefixes the attributes that record which conditions a span met.
const Mark = "sel."

// Refined are conditions narrowed with Selection.Where: span i gets
// Mark+name when it meets both Conds[Refined[name][0]] and
// Conds[Refined[name][1]], the second tested by the host on the first's
// spans only.
var Refined = map[string][2]string{
	"has.in.prefix":   {"prefix", "has"},
	"kind.in.has":     {"has", "kind"},
	"name.in.kind":    {"kind", "name"},
	"resource.in.has": {"has", "resource"},
	"attrpre.in.has":  {"has", "attrpre"},
	"equal.in.prefix": {"prefix", "equal"},
}

// ResourceMark is set on the spans of the resources that have the
// attribute k0 and a service.name starting with one of ResourcePrefixes,
// found with ResourcesWhere.
const ResourceMark = Mark + "res"

// ResourcePrefixes are the service.name prefixes ResourceMark wants.
var ResourcePrefixes = []string{"a", "b", "c", "d", "e", "f", "g", "h"}

// Group marks: every span gets GroupMark+"name", its name as ByName
// grouped it, GroupMark+"order", the order of its name's group, and
// GroupMark+"k1", the value of k1 it was grouped under by ByAttr; every
// resource GroupMark+"svc", its service.name as ByAttr grouped it.
const GroupMark = "group."

// ProcessTraces marks every condition's spans, then edits with every
// kernel, with per-span edits between kernel calls to check their order.
func (Filter) ProcessTraces(t wasmcol.Traces) error {
	all := t.SpansWhere(wasmcol.NameHasPrefix(""))
	order := 0
	for name, spans := range all.ByName() {
		spans.SetAttr(GroupMark+"name", wasmcol.Str(name))
		spans.SetAttr(GroupMark+"order", wasmcol.Int(int64(order)))
		order++
	}
	for v, spans := range all.ByAttr("k1") {
		spans.SetAttr(GroupMark+"k1", v)
	}
	for v, rs := range t.ResourcesWhere(wasmcol.HasAttr("service.name")).ByAttr("service.name") {
		rs.SetAttr(GroupMark+"svc", v)
	}
	for _, name := range []string{"prefix", "name", "kind", "has", "equal", "attrpre", "resource"} {
		t.SpansWhere(Conds[name]).SetAttr(Mark+name, wasmcol.Bool(true))
	}
	for name, r := range Refined {
		t.SpansWhere(Conds[r[0]]).Where(Conds[r[1]]).SetAttr(Mark+name, wasmcol.Bool(true))
	}
	var res []int
	for i := range t.ResourcesWhere(wasmcol.HasAttr("k0")).Where(wasmcol.AttrHasPrefix("service.name", ResourcePrefixes...)).All() {
		res = append(res, i)
	}
	if len(res) > 0 {
		t.SpansWhere(wasmcol.ResourceIn(res...)).SetAttr(ResourceMark, wasmcol.Bool(true))
	}
	named := t.SpansWhere(Conds["prefix"])
	for i := range named.All() {
		t.Span(i).SetAttr("per.span", wasmcol.Int(int64(i)))
	}
	named.SetAttr("per.span", wasmcol.Str("overwritten by the kernel, after the per-span edit"))
	kind := t.SpansWhere(Conds["kind"])
	t.SpansWhere(Conds["name"]).And(kind).SetKind(wasmcol.SpanKindInternal)
	t.SpansWhere(Conds["has"]).CopyAttr("k0", "k0.copy")
	t.SpansWhere(Conds["equal"]).RenameAttr("k1", "k1.renamed")
	t.SpansWhere(Conds["attrpre"]).DeleteAttr("k2")
	t.EventsWhere(wasmcol.HasAttr("k1")).CopyAttrToParent("k1", "event.k1")
	mine := t.NoSpans()
	for i := 0; i < t.Len(); i += 3 {
		mine.Add(i)
	}
	mine.Or(named).AndNot(kind).SetAttr("mine", wasmcol.Int(int64(mine.Len())))
	t.SpansWhere(wasmcol.NameIs("tab\tnew\nline")).AndNot(kind).Drop()
	return nil
}

// ProcessMetrics copies point attributes and marks points.
func (Filter) ProcessMetrics(m wasmcol.Metrics) error {
	m.PointsWhere(wasmcol.HasAttr("k0")).CopyAttr("k0", "p.copy")
	m.PointsWhere(wasmcol.AttrIs("k1", wasmcol.Int(3), wasmcol.Str("broker:default.default"))).SetAttr("p.mark", wasmcol.Str("yes"))
	return nil
}

// ProcessLogs copies log attributes onto their scopes and drops some.
func (Filter) ProcessLogs(l wasmcol.Logs) error {
	l.RecordsWhere(wasmcol.HasAttr("k0")).CopyAttrToParent("k0", "scope.k0")
	for v, recs := range l.RecordsWhere(wasmcol.HasAttr("k1")).ByAttr("k1") {
		recs.SetAttr("group.k1", v)
	}
	l.RecordsWhere(wasmcol.AttrHasPrefix("k1", "x", "")).Drop()
	return nil
}
