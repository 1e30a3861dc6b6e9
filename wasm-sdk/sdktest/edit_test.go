// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Small batches for edits. Traces: resource 0 holds scope 0 (spans 0 and 1;
// span 0 has an event and a link) and scope 1 (span 2); resource 1 holds
// scope 2 (span 3) and an empty scope 3.
const editTraces = `{"resourceSpans":[
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r0"}}]},"scopeSpans":[
  {"scope":{"name":"s0","attributes":[{"key":"a","value":{"stringValue":"s0"}}]},"spans":[
   {"name":"span0","kind":1,"attributes":[{"key":"a","value":{"stringValue":"1"}},{"key":"b","value":{"intValue":"2"}},{"key":"c","value":{"boolValue":true}}],
    "events":[{"name":"ev","attributes":[{"key":"a","value":{"stringValue":"e"}}]}],
    "links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"a","value":{"stringValue":"l"}}]}],
    "status":{}},
   {"name":"span1","status":{}}]},
  {"scope":{"name":"s1"},"spans":[{"name":"span2","status":{}}]}]},
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r1"}}]},"scopeSpans":[
  {"scope":{"name":"s2"},"spans":[{"name":"span3","status":{}}]},
  {"scope":{"name":"s3"}}]}]}`

// Metrics: metric 0 gauge (points 0, 1), metric 1 sum (point 2), metric 2
// histogram (point 3), metric 3 exponential histogram (point 4), metric 4
// summary (point 5); all in one scope. Resource 1 holds metric 5 (point 6).
const editMetrics = `{"resourceMetrics":[
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[
  {"name":"g","gauge":{"dataPoints":[{"attributes":[{"key":"a","value":{"stringValue":"p0"}}],"asInt":"1"},{"asDouble":2.5}]}},
  {"name":"s","sum":{"dataPoints":[{"asInt":"3"}],"aggregationTemporality":2,"isMonotonic":true}},
  {"name":"h","histogram":{"dataPoints":[{"count":"1","sum":1,"bucketCounts":["1"]}]}},
  {"name":"e","exponentialHistogram":{"dataPoints":[{"count":"1","positive":{},"negative":{}}]}},
  {"name":"q","summary":{"dataPoints":[{"count":"1","sum":2}]}}]}]},
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"name":"other","gauge":{"dataPoints":[{"asInt":"9"}]}}]}]}]}`

// Logs: records 0 and 1 in scope 0 of resource 0, record 2 in scope 1 of
// resource 1.
const editLogs = `{"resourceLogs":[
 {"resource":{},"scopeLogs":[{"scope":{},"logRecords":[
  {"severityNumber":9,"severityText":"INFO","body":{"stringValue":"hello"},"attributes":[{"key":"a","value":{"stringValue":"x"}}]},
  {"body":{}}]}]},
 {"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"intValue":"1"}}]}]}]}`

type editCase struct {
	name   string
	signal int32
	ops    []byte
	after  []columnCase // read from the result, re-flattened
}

func inputFor(signal int32) string {
	switch signal {
	case abi.SignalTraces:
		return editTraces
	case abi.SignalMetrics:
		return editMetrics
	}
	return editLogs
}

func TestEditOps(t *testing.T) {
	const (
		tr = abi.SignalTraces
		me = abi.SignalMetrics
		lo = abi.SignalLogs
	)
	cases := []editCase{
		// Attributes on every table that has them.
		{"set new attr on resource", tr, setAttr(abi.TableResource, 1, "new", str("v")),
			[]columnCase{{abi.TableResource, abi.FieldAttrs, "", []string{"[a=s:r0]", "[a=s:r1 new=s:v]"}}}},
		{"set attr on scope", tr, setAttr(abi.TableScope, 0, "a", num(7)),
			[]columnCase{{abi.TableScope, abi.FieldAttr, "a", cat([]string{"i:7"}, e(3))}}},
		{"replace attr in place keeps order", tr, setAttr(abi.TableSpan, 0, "a", dbl(1.5)),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[a=d:1.5 b=i:2 c=b:true]", "[]", "[]", "[]"}}}},
		{"set attr on event", tr, setAttr(abi.TableEvent, 0, "x", boolean(false)),
			[]columnCase{{abi.TableEvent, abi.FieldAttrs, "", []string{"[a=s:e x=b:false]"}}}},
		{"set attr on link", tr, setAttr(abi.TableLink, 0, "x", raw(0, 1, 0xff)),
			[]columnCase{{abi.TableLink, abi.FieldAttrs, "", []string{"[a=s:l x=x:0001ff]"}}}},
		{"set attr on point", me, setAttr(abi.TablePoint, 5, "q", str("")),
			[]columnCase{{abi.TablePoint, abi.FieldAttr, "q", cat(e(5), []string{"s:"}, e(1))}}},
		{"set attr on log", lo, setAttr(abi.TableLog, 2, "ü", str("日本")),
			[]columnCase{{abi.TableLog, abi.FieldAttr, "ü", cat(e(2), []string{"s:日本"})}}},
		{"set attr with empty key", lo, setAttr(abi.TableLog, 1, "", num(0)),
			[]columnCase{{abi.TableLog, abi.FieldAttrs, "", []string{"[a=s:x]", "[=i:0]", "[]"}}}},
		{"delete attr moves the last into its place, as pcommon does", tr, delAttr(abi.TableSpan, 0, "a"),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[c=b:true b=i:2]", "[]", "[]", "[]"}}}},
		{"delete absent attr", tr, delAttr(abi.TableSpan, 1, "a"),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[a=s:1 b=i:2 c=b:true]", "[]", "[]", "[]"}}}},
		{"rename attr appends the new key, then removes the old as pcommon does", tr, renAttr(abi.TableSpan, 0, "a", "z"),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[z=s:1 b=i:2 c=b:true]", "[]", "[]", "[]"}}}},
		{"rename onto an existing attr replaces it", tr, renAttr(abi.TableSpan, 0, "a", "b"),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[c=b:true b=s:1]", "[]", "[]", "[]"}}}},
		{"rename absent attr does nothing", tr, renAttr(abi.TableSpan, 0, "nope", "a"),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[a=s:1 b=i:2 c=b:true]", "[]", "[]", "[]"}}}},
		{"rename to itself keeps it", tr, renAttr(abi.TableSpan, 0, "b", "b"),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[a=s:1 b=i:2 c=b:true]", "[]", "[]", "[]"}}}},
		{"attr ops on a point of every type", me, ops(setAttr(abi.TablePoint, 3, "h", num(1)), setAttr(abi.TablePoint, 4, "e", num(2)),
			setAttr(abi.TablePoint, 5, "s", num(3)), renAttr(abi.TablePoint, 0, "a", "b")),
			[]columnCase{{abi.TablePoint, abi.FieldAttrs, "", []string{"[b=s:p0]", "[]", "[]", "[h=i:1]", "[e=i:2]", "[s=i:3]", "[]"}}}},

		// Settable fields.
		{"span fields", tr, ops(setField(abi.TableSpan, 1, abi.FieldName, str("renamed ✓")), setField(abi.TableSpan, 1, abi.FieldKind, num(5)),
			setField(abi.TableSpan, 1, abi.FieldStatusCode, num(2)), setField(abi.TableSpan, 1, abi.FieldStatusMessage, str("bad")),
			setField(abi.TableSpan, 1, abi.FieldTraceState, str("k=v"))),
			[]columnCase{
				{abi.TableSpan, abi.FieldName, "", []string{"s:span0", "s:renamed ✓", "s:span2", "s:span3"}},
				{abi.TableSpan, abi.FieldKind, "", []string{"i:1", "i:5", "i:0", "i:0"}},
				{abi.TableSpan, abi.FieldStatusCode, "", []string{"i:0", "i:2", "i:0", "i:0"}},
				{abi.TableSpan, abi.FieldStatusMessage, "", []string{"s:", "s:bad", "s:", "s:"}},
				{abi.TableSpan, abi.FieldTraceState, "", []string{"s:", "s:k=v", "s:", "s:"}},
			}},
		{"span fields back to their zero values", tr, ops(setField(abi.TableSpan, 0, abi.FieldName, str("")), setField(abi.TableSpan, 0, abi.FieldKind, num(0))),
			[]columnCase{{abi.TableSpan, abi.FieldName, "", []string{"s:", "s:span1", "s:span2", "s:span3"}},
				{abi.TableSpan, abi.FieldKind, "", []string{"i:0", "i:0", "i:0", "i:0"}}}},
		{"scope fields", tr, ops(setField(abi.TableScope, 2, abi.FieldName, str("n")), setField(abi.TableScope, 2, abi.FieldVersion, str("v2"))),
			[]columnCase{{abi.TableScope, abi.FieldName, "", []string{"s:s0", "s:s1", "s:n", "s:s3"}},
				{abi.TableScope, abi.FieldVersion, "", []string{"s:", "s:", "s:v2", "s:"}}}},
		{"metric fields", me, ops(setField(abi.TableMetric, 2, abi.FieldName, str("h2")), setField(abi.TableMetric, 2, abi.FieldDescription, str("d")),
			setField(abi.TableMetric, 2, abi.FieldUnit, str("s"))),
			[]columnCase{{abi.TableMetric, abi.FieldName, "", []string{"s:g", "s:s", "s:h2", "s:e", "s:q", "s:other"}},
				{abi.TableMetric, abi.FieldDescription, "", []string{"s:", "s:", "s:d", "s:", "s:", "s:"}},
				{abi.TableMetric, abi.FieldUnit, "", []string{"s:", "s:", "s:s", "s:", "s:", "s:"}}}},
		{"point value switches int and double", me, ops(setField(abi.TablePoint, 0, abi.FieldValue, dbl(0.25)),
			setField(abi.TablePoint, 1, abi.FieldValue, num(-3)), setField(abi.TablePoint, 2, abi.FieldValue, num(4))),
			[]columnCase{{abi.TablePoint, abi.FieldValue, "", cat([]string{"d:0.25", "i:-3", "i:4"}, e(3), []string{"i:9"})}}},
		{"log body of every kind", lo, ops(setField(abi.TableLog, 0, abi.FieldValue, raw(1)), setField(abi.TableLog, 1, abi.FieldValue, boolean(true)),
			setField(abi.TableLog, 2, abi.FieldValue, dbl(2))),
			[]columnCase{{abi.TableLog, abi.FieldValue, "", []string{"x:01", "b:true", "d:2"}}}},
		{"log body string and int", lo, ops(setField(abi.TableLog, 0, abi.FieldValue, num(5)), setField(abi.TableLog, 1, abi.FieldValue, str(""))),
			[]columnCase{{abi.TableLog, abi.FieldValue, "", []string{"i:5", "s:", "i:1"}}}},
		{"log severity", lo, ops(setField(abi.TableLog, 1, abi.FieldSeverity, num(24)), setField(abi.TableLog, 1, abi.FieldSeverityText, str("FATAL4")),
			setField(abi.TableLog, 0, abi.FieldSeverity, num(0)), setField(abi.TableLog, 0, abi.FieldSeverityText, str(""))),
			[]columnCase{{abi.TableLog, abi.FieldSeverity, "", []string{"i:0", "i:24", "i:0"}},
				{abi.TableLog, abi.FieldSeverityText, "", []string{"s:", "s:FATAL4", "s:"}}}},

		// Order: ops apply in sequence, drops last.
		{"later set wins", tr, ops(setAttr(abi.TableSpan, 1, "k", num(1)), setAttr(abi.TableSpan, 1, "k", num(2))),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[a=s:1 b=i:2 c=b:true]", "[k=i:2]", "[]", "[]"}}}},
		{"rename then set the old key", tr, ops(renAttr(abi.TableSpan, 0, "c", "d"), setAttr(abi.TableSpan, 0, "c", str("new"))),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[a=s:1 b=i:2 d=b:true c=s:new]", "[]", "[]", "[]"}}}},
		{"delete then set appends", tr, ops(delAttr(abi.TableSpan, 0, "b"), setAttr(abi.TableSpan, 0, "b", num(9))),
			[]columnCase{{abi.TableSpan, abi.FieldAttrs, "", []string{"[a=s:1 c=b:true b=i:9]", "[]", "[]", "[]"}}}},
		{"set then drop in the same call", tr, ops(drop(abi.TableSpan, 0), setField(abi.TableSpan, 0, abi.FieldName, str("x"))),
			[]columnCase{{abi.TableSpan, abi.FieldName, "", []string{"s:span1", "s:span2", "s:span3"}}}},
		{"dropping twice is one drop", tr, ops(drop(abi.TableSpan, 1), drop(abi.TableSpan, 1)),
			[]columnCase{{abi.TableSpan, abi.FieldName, "", []string{"s:span0", "s:span2", "s:span3"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := load(t, c.signal, []byte(inputFor(c.signal)))
			if err := tb.apply([][]byte{c.ops}); err != nil {
				t.Fatal(err)
			}
			runColumnCases(t, load(t, c.signal, tb.doc(t)), c.after)
		})
	}
}

// Any invalid op fails the whole call and applies nothing, wherever it
// sits in the list; every case starts with a valid op to prove it.
func TestEditAllOrNothing(t *testing.T) {
	valid := map[int32][]byte{
		abi.SignalTraces:  ops(setField(abi.TableSpan, 0, abi.FieldName, str("changed")), drop(abi.TableSpan, 1)),
		abi.SignalMetrics: ops(setField(abi.TableMetric, 0, abi.FieldName, str("changed")), drop(abi.TablePoint, 0)),
		abi.SignalLogs:    ops(setAttr(abi.TableLog, 0, "a", str("changed")), drop(abi.TableLog, 1)),
	}
	truncated := setAttr(abi.TableSpan, 0, "k", str("value"))
	cases := []struct {
		name   string
		signal int32
		bad    []byte
		want   string // in the error
	}{
		{"unknown op", abi.SignalTraces, abi.AppendEditHeader(nil, 9, abi.TableSpan, 0), "unknown op 9"},
		{"op zero", abi.SignalTraces, abi.AppendEditHeader(nil, 0, abi.TableSpan, 0), "unknown op 0"},
		{"unknown table", abi.SignalTraces, drop(99, 0), "no such table"},
		{"table zero", abi.SignalTraces, setAttr(0, 0, "k", str("v")), "no such table"},
		{"table of another signal", abi.SignalTraces, drop(abi.TableLog, 0), "no such table in a traces batch"},
		{"point table in logs", abi.SignalLogs, setAttr(abi.TablePoint, 0, "k", str("v")), "no such table in a logs batch"},
		{"index out of range", abi.SignalTraces, drop(abi.TableSpan, 4), "index out of range"},
		{"huge index", abi.SignalLogs, setAttr(abi.TableLog, 1<<31, "k", str("v")), "index out of range"},
		{"attr on metric", abi.SignalMetrics, setAttr(abi.TableMetric, 0, "k", str("v")), "no attributes"},
		{"delete attr on metric", abi.SignalMetrics, delAttr(abi.TableMetric, 0, "k"), "no attributes"},
		{"rename attr on metric", abi.SignalMetrics, renAttr(abi.TableMetric, 0, "k", "j"), "no attributes"},
		{"attr value Other", abi.SignalTraces, setAttr(abi.TableSpan, 0, "k", other(`{"a":1}`)), "must be a string"},
		{"attr value List", abi.SignalTraces, setAttr(abi.TableSpan, 0, "k", list()), "must be a string"},
		{"attr value Empty", abi.SignalTraces, setAttr(abi.TableSpan, 0, "k", empty()), "must be a string"},
		{"unknown value tag", abi.SignalTraces, append(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "k"), 42), "malformed"},
		{"truncated list", abi.SignalTraces, truncated[:len(truncated)-2], "malformed"},
		{"truncated header", abi.SignalTraces, []byte{abi.OpDrop, abi.TableSpan, 0}, "malformed"},
		{"bool byte above 1", abi.SignalLogs, append(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableLog, 0), "k"), abi.TagBool, 2), "malformed"},
		{"span time not settable", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldTime, num(1)), "not settable on a span"},
		{"span trace id not settable", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldTraceID, raw(make([]byte, 16)...)), "not settable"},
		{"span name int", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldName, num(1)), "want a string"},
		{"span kind string", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldKind, str("server")), "want an int"},
		{"span kind 6", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldKind, num(6)), "out of range 0..5"},
		{"span kind -1", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldKind, num(-1)), "out of range"},
		{"status code 3", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldStatusCode, num(3)), "out of range 0..2"},
		{"status message bytes", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldStatusMessage, raw('x')), "want a string"},
		{"set field Other", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldName, other("[]")), "cannot be set"},
		{"set field Empty", abi.SignalTraces, setField(abi.TableSpan, 0, abi.FieldName, empty()), "cannot be set"},
		{"event name not settable", abi.SignalTraces, setField(abi.TableEvent, 0, abi.FieldName, str("x")), "not settable on a event"},
		{"link trace state not settable", abi.SignalTraces, setField(abi.TableLink, 0, abi.FieldTraceState, str("x")), "not settable on a link"},
		{"resource has no fields", abi.SignalTraces, setField(abi.TableResource, 0, abi.FieldName, str("x")), "not settable on a resource"},
		{"scope name int", abi.SignalTraces, setField(abi.TableScope, 0, abi.FieldName, num(1)), "want a string"},
		{"unknown field", abi.SignalTraces, setField(abi.TableSpan, 0, 200, str("x")), "not settable"},
		{"metric kind not settable", abi.SignalMetrics, setField(abi.TableMetric, 0, abi.FieldKind, num(2)), "not settable on a metric"},
		{"metric unit double", abi.SignalMetrics, setField(abi.TableMetric, 0, abi.FieldUnit, dbl(1)), "want a string"},
		{"histogram point value", abi.SignalMetrics, setField(abi.TablePoint, 3, abi.FieldValue, num(1)), "only gauge and sum points"},
		{"exponential histogram point value", abi.SignalMetrics, setField(abi.TablePoint, 4, abi.FieldValue, dbl(1)), "only gauge and sum points"},
		{"summary point value", abi.SignalMetrics, setField(abi.TablePoint, 5, abi.FieldValue, num(1)), "only gauge and sum points"},
		{"point value string", abi.SignalMetrics, setField(abi.TablePoint, 0, abi.FieldValue, str("1")), "want an int or a double"},
		{"point value bool", abi.SignalMetrics, setField(abi.TablePoint, 0, abi.FieldValue, boolean(true)), "want an int or a double"},
		{"point count not settable", abi.SignalMetrics, setField(abi.TablePoint, 3, abi.FieldCount, num(1)), "not settable on a point"},
		{"log body Other", abi.SignalLogs, setField(abi.TableLog, 0, abi.FieldValue, other(`{}`)), "cannot be set"},
		{"log body Empty", abi.SignalLogs, setField(abi.TableLog, 0, abi.FieldValue, empty()), "cannot be set"},
		{"severity 25", abi.SignalLogs, setField(abi.TableLog, 0, abi.FieldSeverity, num(25)), "out of range 0..24"},
		{"severity -1", abi.SignalLogs, setField(abi.TableLog, 0, abi.FieldSeverity, num(-1)), "out of range"},
		{"severity text int", abi.SignalLogs, setField(abi.TableLog, 0, abi.FieldSeverityText, num(1)), "want a string"},
		{"log time not settable", abi.SignalLogs, setField(abi.TableLog, 0, abi.FieldTime, num(1)), "not settable on a log"},
		{"drop resource", abi.SignalTraces, drop(abi.TableResource, 0), "only spans, metrics, points and logs"},
		{"drop scope", abi.SignalLogs, drop(abi.TableScope, 0), "only spans"},
		{"drop event", abi.SignalTraces, drop(abi.TableEvent, 0), "only spans"},
		{"drop link", abi.SignalTraces, drop(abi.TableLink, 0), "only spans"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(inputFor(c.signal))
			tb := load(t, c.signal, in)
			before := tb.doc(t)
			// The bad op follows valid ones, in a second edit list; it comes
			// last so that a truncated op stays truncated.
			err := tb.apply([][]byte{valid[c.signal], ops(valid[c.signal], c.bad)})
			if err == nil {
				t.Fatal("apply succeeded, want an error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "no edit applied") {
				t.Errorf("error %q, want it to contain %q and say nothing was applied", err, c.want)
			}
			if after := tb.doc(t); !bytes.Equal(after, before) {
				t.Errorf("the batch changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// Drops remove items; the containers they empty go too, and containers
// that arrived empty stay.
func TestEditDrops(t *testing.T) {
	cases := []struct {
		name   string
		signal int32
		ops    []byte
		want   string
	}{
		{"one span", abi.SignalTraces, drop(abi.TableSpan, 1), `{"resourceSpans":[
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r0"}}]},"scopeSpans":[
  {"scope":{"name":"s0","attributes":[{"key":"a","value":{"stringValue":"s0"}}]},"spans":[
   {"name":"span0","kind":1,"attributes":[{"key":"a","value":{"stringValue":"1"}},{"key":"b","value":{"intValue":"2"}},{"key":"c","value":{"boolValue":true}}],
    "events":[{"name":"ev","attributes":[{"key":"a","value":{"stringValue":"e"}}]}],
    "links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"a","value":{"stringValue":"l"}}]}],
    "status":{}}]},
  {"scope":{"name":"s1"},"spans":[{"name":"span2","status":{}}]}]},
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r1"}}]},"scopeSpans":[
  {"scope":{"name":"s2"},"spans":[{"name":"span3","status":{}}]},
  {"scope":{"name":"s3"}}]}]}`},
		{"the last span of a scope removes the scope", abi.SignalTraces, drop(abi.TableSpan, 2), `{"resourceSpans":[
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r0"}}]},"scopeSpans":[
  {"scope":{"name":"s0","attributes":[{"key":"a","value":{"stringValue":"s0"}}]},"spans":[
   {"name":"span0","kind":1,"attributes":[{"key":"a","value":{"stringValue":"1"}},{"key":"b","value":{"intValue":"2"}},{"key":"c","value":{"boolValue":true}}],
    "events":[{"name":"ev","attributes":[{"key":"a","value":{"stringValue":"e"}}]}],
    "links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"a","value":{"stringValue":"l"}}]}],
    "status":{}},
   {"name":"span1","status":{}}]}]},
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r1"}}]},"scopeSpans":[
  {"scope":{"name":"s2"},"spans":[{"name":"span3","status":{}}]},
  {"scope":{"name":"s3"}}]}]}`},
		{"every span of a resource removes the resource", abi.SignalTraces, ops(drop(abi.TableSpan, 0), drop(abi.TableSpan, 1), drop(abi.TableSpan, 2)), `{"resourceSpans":[
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r1"}}]},"scopeSpans":[
  {"scope":{"name":"s2"},"spans":[{"name":"span3","status":{}}]},
  {"scope":{"name":"s3"}}]}]}`},
		{"a resource keeps the empty scope it arrived with", abi.SignalTraces, drop(abi.TableSpan, 3), `{"resourceSpans":[
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r0"}}]},"scopeSpans":[
  {"scope":{"name":"s0","attributes":[{"key":"a","value":{"stringValue":"s0"}}]},"spans":[
   {"name":"span0","kind":1,"attributes":[{"key":"a","value":{"stringValue":"1"}},{"key":"b","value":{"intValue":"2"}},{"key":"c","value":{"boolValue":true}}],
    "events":[{"name":"ev","attributes":[{"key":"a","value":{"stringValue":"e"}}]}],
    "links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"a","value":{"stringValue":"l"}}]}],
    "status":{}},
   {"name":"span1","status":{}}]},
  {"scope":{"name":"s1"},"spans":[{"name":"span2","status":{}}]}]},
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r1"}}]},"scopeSpans":[
  {"scope":{"name":"s3"}}]}]}`},
		{"every span", abi.SignalTraces, ops(drop(abi.TableSpan, 3), drop(abi.TableSpan, 2), drop(abi.TableSpan, 1), drop(abi.TableSpan, 0)), `{"resourceSpans":[
 {"resource":{"attributes":[{"key":"a","value":{"stringValue":"r1"}}]},"scopeSpans":[{"scope":{"name":"s3"}}]}]}`},
		{"a metric and its points", abi.SignalMetrics, drop(abi.TableMetric, 0), `{"resourceMetrics":[
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[
  {"name":"s","sum":{"dataPoints":[{"asInt":"3"}],"aggregationTemporality":2,"isMonotonic":true}},
  {"name":"h","histogram":{"dataPoints":[{"count":"1","sum":1,"bucketCounts":["1"]}]}},
  {"name":"e","exponentialHistogram":{"dataPoints":[{"count":"1","positive":{},"negative":{}}]}},
  {"name":"q","summary":{"dataPoints":[{"count":"1","sum":2}]}}]}]},
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"name":"other","gauge":{"dataPoints":[{"asInt":"9"}]}}]}]}]}`},
		{"one point keeps its metric", abi.SignalMetrics, drop(abi.TablePoint, 0), `{"resourceMetrics":[
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[
  {"name":"g","gauge":{"dataPoints":[{"asDouble":2.5}]}},
  {"name":"s","sum":{"dataPoints":[{"asInt":"3"}],"aggregationTemporality":2,"isMonotonic":true}},
  {"name":"h","histogram":{"dataPoints":[{"count":"1","sum":1,"bucketCounts":["1"]}]}},
  {"name":"e","exponentialHistogram":{"dataPoints":[{"count":"1","positive":{},"negative":{}}]}},
  {"name":"q","summary":{"dataPoints":[{"count":"1","sum":2}]}}]}]},
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"name":"other","gauge":{"dataPoints":[{"asInt":"9"}]}}]}]}]}`},
		{"the last point of every type removes its metric", abi.SignalMetrics,
			ops(drop(abi.TablePoint, 2), drop(abi.TablePoint, 3), drop(abi.TablePoint, 4), drop(abi.TablePoint, 5)), `{"resourceMetrics":[
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[
  {"name":"g","gauge":{"dataPoints":[{"attributes":[{"key":"a","value":{"stringValue":"p0"}}],"asInt":"1"},{"asDouble":2.5}]}}]}]},
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"name":"other","gauge":{"dataPoints":[{"asInt":"9"}]}}]}]}]}`},
		{"the last point of a resource removes it all the way up", abi.SignalMetrics, drop(abi.TablePoint, 6), `{"resourceMetrics":[
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[
  {"name":"g","gauge":{"dataPoints":[{"attributes":[{"key":"a","value":{"stringValue":"p0"}}],"asInt":"1"},{"asDouble":2.5}]}},
  {"name":"s","sum":{"dataPoints":[{"asInt":"3"}],"aggregationTemporality":2,"isMonotonic":true}},
  {"name":"h","histogram":{"dataPoints":[{"count":"1","sum":1,"bucketCounts":["1"]}]}},
  {"name":"e","exponentialHistogram":{"dataPoints":[{"count":"1","positive":{},"negative":{}}]}},
  {"name":"q","summary":{"dataPoints":[{"count":"1","sum":2}]}}]}]}]}`},
		{"a metric and one of its points", abi.SignalMetrics, ops(drop(abi.TablePoint, 1), drop(abi.TableMetric, 0), drop(abi.TableMetric, 5)), `{"resourceMetrics":[
 {"resource":{},"scopeMetrics":[{"scope":{},"metrics":[
  {"name":"s","sum":{"dataPoints":[{"asInt":"3"}],"aggregationTemporality":2,"isMonotonic":true}},
  {"name":"h","histogram":{"dataPoints":[{"count":"1","sum":1,"bucketCounts":["1"]}]}},
  {"name":"e","exponentialHistogram":{"dataPoints":[{"count":"1","positive":{},"negative":{}}]}},
  {"name":"q","summary":{"dataPoints":[{"count":"1","sum":2}]}}]}]}]}`},
		{"one log", abi.SignalLogs, drop(abi.TableLog, 0), `{"resourceLogs":[
 {"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{}}]}]},
 {"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"intValue":"1"}}]}]}]}`},
		{"every log", abi.SignalLogs, ops(drop(abi.TableLog, 0), drop(abi.TableLog, 1), drop(abi.TableLog, 2)), `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := load(t, c.signal, []byte(inputFor(c.signal)))
			if err := tb.apply([][]byte{c.ops}); err != nil {
				t.Fatal(err)
			}
			sameBatch(t, c.signal, []byte(c.want), tb.doc(t))
		})
	}
}

// The emulator keeps the order of what survives, which the semantic
// comparison above would not notice.
func TestEditDropKeepsOrder(t *testing.T) {
	tb := load(t, abi.SignalTraces, []byte(editTraces))
	if err := tb.apply([][]byte{drop(abi.TableSpan, 1)}); err != nil {
		t.Fatal(err)
	}
	after := load(t, abi.SignalTraces, tb.doc(t))
	got := after.cells(t, abi.TableSpan, abi.FieldName, "")
	if want := []string{"s:span0", "s:span2", "s:span3"}; !slices.Equal(got, want) {
		t.Errorf("spans %q, want %q", got, want)
	}
	if got, want := after.cells(t, abi.TableScope, abi.FieldName, ""), []string{"s:s0", "s:s1", "s:s2", "s:s3"}; !slices.Equal(got, want) {
		t.Errorf("scopes %q, want %q", got, want)
	}
}

// TestEditLeavesOneCopyOfAKey: as on the host, an edited key a client sent
// twice is left once; keys no edit names stay as they came.
func TestEditLeavesOneCopyOfAKey(t *testing.T) {
	in := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"s","attributes":[` +
		`{"key":"secret","value":{"stringValue":"hunter2"}},{"key":"other","value":{"stringValue":"o"}},` +
		`{"key":"secret","value":{"stringValue":"hunter3"}},{"key":"other","value":{"stringValue":"o2"}}]}]}]}]}`
	for name, c := range map[string]struct {
		ops  []byte
		want string
	}{
		"delete": {delAttr(abi.TableSpan, 0, "secret"), "[other=s:o2 other=s:o]"},
		"set":    {setAttr(abi.TableSpan, 0, "secret", str("***")), "[secret=s:*** other=s:o other=s:o2]"},
		"rename": {renAttr(abi.TableSpan, 0, "secret", "other"), "[other=s:hunter2]"},
	} {
		tb := load(t, abi.SignalTraces, []byte(in))
		if err := tb.apply([][]byte{c.ops}); err != nil {
			t.Fatal(err)
		}
		if got := load(t, abi.SignalTraces, tb.doc(t)).cells(t, abi.TableSpan, abi.FieldAttrs, ""); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: %v, want %s", name, got, c.want)
		}
	}
}
