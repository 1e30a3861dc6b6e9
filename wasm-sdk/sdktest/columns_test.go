// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"slices"
	"strings"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

type columnCase struct {
	table, field int32
	key          string
	want         []string
}

// e repeats "-" (an empty cell) n times.
func e(n int) []string { return slices.Repeat([]string{"-"}, n) }

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

// Every field of every table of testdata/traces.json, as the JSON holds it.
func TestColumnsTraces(t *testing.T) {
	tb := load(t, abi.SignalTraces, fixture(t, "traces.json"))
	const (
		trace1 = "x:5b8efff798038103d269b633813fc60c"
		span0  = "x:eee19b7ec3c1b174"
		span1  = "x:eee19b7ec3c1b173"
	)
	resAttrs := `[service.name=s:checkout host.cpu=i:8 ratio=d:0.25 enabled=b:true raw=x:000102ff ` +
		`tags=o:["a",2,1.5,false] nested=o:{"a":{"deep":"aGk="},"html":"<b>&</b>","z":"last"} nothing=-]`
	cases := []columnCase{
		{abi.TableResource, abi.FieldAttrs, "", []string{resAttrs, "[]"}},
		{abi.TableResource, abi.FieldAttr, "service.name", cat([]string{"s:checkout"}, e(1))},
		{abi.TableResource, abi.FieldAttr, "tags", cat([]string{`o:["a",2,1.5,false]`}, e(1))},
		{abi.TableResource, abi.FieldAttr, "nothing", e(2)},
		{abi.TableResource, abi.FieldAttr, "absent", e(2)},

		{abi.TableScope, abi.FieldName, "", []string{"s:io.opentelemetry.http", "s:", "s:empty-scope", "s:second-resource"}},
		{abi.TableScope, abi.FieldVersion, "", []string{"s:1.2.3", "s:", "s:", "s:"}},
		{abi.TableScope, abi.FieldParent, "", []string{"i:0", "i:0", "i:0", "i:1"}},
		{abi.TableScope, abi.FieldResource, "", []string{"i:0", "i:0", "i:0", "i:1"}},
		{abi.TableScope, abi.FieldAttrs, "", []string{"[scope.attr=s:s]", "[]", "[]", "[]"}},
		{abi.TableScope, abi.FieldAttr, "scope.attr", cat([]string{"s:s"}, e(3))},

		{abi.TableSpan, abi.FieldParent, "", []string{"i:0", "i:0", "i:1", "i:3"}},
		{abi.TableSpan, abi.FieldResource, "", []string{"i:0", "i:0", "i:0", "i:1"}},
		{abi.TableSpan, abi.FieldName, "", []string{"s:GET /api/ünïcödé/日本", "s:", "s:third", "s:🚀 launch"}},
		{abi.TableSpan, abi.FieldTraceID, "", []string{trace1, trace1, "x:0102030405060708090a0b0c0d0e0f10", "x:ffffffffffffffffffffffffffffffff"}},
		{abi.TableSpan, abi.FieldSpanID, "", []string{span0, span1, "x:0102030405060708", "x:ffffffffffffffff"}},
		{abi.TableSpan, abi.FieldParentSpanID, "", cat([]string{span1}, e(3))},
		{abi.TableSpan, abi.FieldTraceState, "", []string{"s:rojo=00f067aa0ba902b7", "s:", "s:", "s:"}},
		{abi.TableSpan, abi.FieldKind, "", []string{"i:2", "i:1", "i:3", "i:5"}},
		{abi.TableSpan, abi.FieldStartTime, "", []string{"i:1544712660000000000", "i:1544712659000000000", "i:0", "i:0"}},
		{abi.TableSpan, abi.FieldTime, "", []string{"i:1544712661000000000", "i:1544712662000000000", "i:0", "i:0"}},
		{abi.TableSpan, abi.FieldStatusCode, "", []string{"i:1", "i:2", "i:0", "i:0"}},
		{abi.TableSpan, abi.FieldStatusMessage, "", []string{"s:all good", "s:", "s:", "s:ünïcödé"}},
		{abi.TableSpan, abi.FieldFlags, "", []string{"i:257", "i:0", "i:0", "i:0"}},
		{abi.TableSpan, abi.FieldAttrs, "", []string{"[http.method=s:GET http.status_code=i:200 empty=s: =s:empty key]", "[]", "[]", "[]"}},
		{abi.TableSpan, abi.FieldAttr, "http.status_code", cat([]string{"i:200"}, e(3))},
		{abi.TableSpan, abi.FieldAttr, "empty", cat([]string{"s:"}, e(3))},
		{abi.TableSpan, abi.FieldAttr, "", cat([]string{"s:empty key"}, e(3))},

		{abi.TableEvent, abi.FieldParent, "", []string{"i:0", "i:0", "i:2"}},
		{abi.TableEvent, abi.FieldName, "", []string{"s:exception", "s:retry", "s:only-event"}},
		{abi.TableEvent, abi.FieldTime, "", []string{"i:1544712660500000000", "i:1544712660600000000", "i:0"}},
		{abi.TableEvent, abi.FieldAttrs, "", []string{"[exception.message=s:boom]", "[]", "[]"}},
		{abi.TableEvent, abi.FieldAttr, "exception.message", cat([]string{"s:boom"}, e(2))},

		{abi.TableLink, abi.FieldParent, "", []string{"i:0", "i:1"}},
		{abi.TableLink, abi.FieldTraceID, "", []string{"x:0af7651916cd43dd8448eb211c80319c", "x:0af7651916cd43dd8448eb211c80319c"}},
		{abi.TableLink, abi.FieldSpanID, "", []string{"x:b7ad6b7169203331", "x:b7ad6b7169203332"}},
		{abi.TableLink, abi.FieldTraceState, "", []string{"s:congo=t61rcWkgMzE", "s:"}},
		{abi.TableLink, abi.FieldFlags, "", []string{"i:1", "i:0"}},
		{abi.TableLink, abi.FieldAttrs, "", []string{"[link.kind=s:follows]", "[]"}},
		{abi.TableLink, abi.FieldAttr, "link.kind", cat([]string{"s:follows"}, e(1))},
	}
	runColumnCases(t, tb, cases)
	wantLens(t, tb, map[int32]int32{abi.TableResource: 2, abi.TableScope: 4, abi.TableSpan: 4, abi.TableEvent: 3, abi.TableLink: 2})
}

// Every field of every table of testdata/metrics.json.
func TestColumnsMetrics(t *testing.T) {
	tb := load(t, abi.SignalMetrics, fixture(t, "metrics.json"))
	// Points in order: gauge ×5, sum ×2, histogram ×2, exponential
	// histogram ×2, summary ×2, then the second resource's gauge ×1.
	cases := []columnCase{
		{abi.TableResource, abi.FieldAttrs, "", []string{"[service.name=s:meter]", "[service.name=s:other]"}},
		{abi.TableScope, abi.FieldName, "", []string{"s:meter.lib", "s:"}},
		{abi.TableScope, abi.FieldVersion, "", []string{"s:0.1.0", "s:"}},
		{abi.TableScope, abi.FieldAttrs, "", []string{"[k=b:false]", "[]"}},
		{abi.TableScope, abi.FieldParent, "", []string{"i:0", "i:1"}},

		{abi.TableMetric, abi.FieldName, "", []string{"s:queue.depth", "s:requests", "s:latency", "s:size", "s:rpc.duration", "s:no.data", "s:up"}},
		{abi.TableMetric, abi.FieldDescription, "", []string{"s:items waiting", "s:", "s:", "s:", "s:", "s:a metric with no data", "s:"}},
		{abi.TableMetric, abi.FieldUnit, "", []string{"s:{item}", "s:1", "s:ms", "s:", "s:", "s:", "s:"}},
		{abi.TableMetric, abi.FieldKind, "", []string{"i:1", "i:2", "i:3", "i:4", "i:5", "i:0", "i:1"}},
		{abi.TableMetric, abi.FieldParent, "", []string{"i:0", "i:0", "i:0", "i:0", "i:0", "i:0", "i:1"}},
		{abi.TableMetric, abi.FieldResource, "", []string{"i:0", "i:0", "i:0", "i:0", "i:0", "i:0", "i:1"}},

		{abi.TablePoint, abi.FieldParent, "", []string{"i:0", "i:0", "i:0", "i:0", "i:0", "i:1", "i:1", "i:2", "i:2", "i:3", "i:3", "i:4", "i:4", "i:6"}},
		{abi.TablePoint, abi.FieldResource, "", cat(slices.Repeat([]string{"i:0"}, 13), []string{"i:1"})},
		{abi.TablePoint, abi.FieldValue, "", cat([]string{"i:-42", "d:3.5", "d:NaN", "d:-Inf", "-", "i:9223372036854775807", "d:1e+300"}, e(6), []string{"i:1"})},
		{abi.TablePoint, abi.FieldCount, "", cat(e(7), []string{"i:10", "i:0", "i:12", "i:0", "i:100", "i:0"}, e(1))},
		{abi.TablePoint, abi.FieldSum, "", cat(e(7), []string{"d:123.5", "-", "d:3.25", "-", "d:250.5", "d:0"}, e(1))},
		{abi.TablePoint, abi.FieldStartTime, "", []string{"i:1000", "i:0", "i:0", "i:0", "i:0", "i:1000", "i:1000", "i:1000", "i:0", "i:1000", "i:0", "i:1000", "i:0", "i:0"}},
		{abi.TablePoint, abi.FieldTime, "", cat(slices.Repeat([]string{"i:2000"}, 13), []string{"i:3000"})},
		{abi.TablePoint, abi.FieldFlags, "", []string{"i:1", "i:0", "i:0", "i:0", "i:0", "i:0", "i:0", "i:1", "i:0", "i:1", "i:0", "i:1", "i:0", "i:0"}},
		{abi.TablePoint, abi.FieldAttr, "queue", cat([]string{"s:a", "s:b"}, e(12))},
		{abi.TablePoint, abi.FieldAttrs, "", cat([]string{"[queue=s:a]", "[queue=s:b]", "[]", "[]", "[]", "[]", "[]",
			"[route=s:/a]", "[]", "[dir=s:in]", "[]", "[method=s:Get]", "[]", "[]"})},
	}
	runColumnCases(t, tb, cases)
	wantLens(t, tb, map[int32]int32{abi.TableResource: 2, abi.TableScope: 2, abi.TableMetric: 7, abi.TablePoint: 14})
}

// Every field of every table of testdata/logs.json.
func TestColumnsLogs(t *testing.T) {
	tb := load(t, abi.SignalLogs, fixture(t, "logs.json"))
	cases := []columnCase{
		{abi.TableResource, abi.FieldAttr, "service.name", cat([]string{"s:logger"}, e(1))},
		{abi.TableScope, abi.FieldName, "", []string{"s:log.lib", "s:second", "s:"}},
		{abi.TableScope, abi.FieldVersion, "", []string{"s:2.0", "s:", "s:"}},
		{abi.TableScope, abi.FieldParent, "", []string{"i:0", "i:0", "i:1"}},

		{abi.TableLog, abi.FieldParent, "", []string{"i:0", "i:0", "i:0", "i:0", "i:0", "i:0", "i:1", "i:2"}},
		{abi.TableLog, abi.FieldResource, "", []string{"i:0", "i:0", "i:0", "i:0", "i:0", "i:0", "i:0", "i:1"}},
		{abi.TableLog, abi.FieldTraceID, "", cat([]string{"x:5b8efff798038103d269b633813fc60c"}, e(7))},
		{abi.TableLog, abi.FieldSpanID, "", cat([]string{"x:eee19b7ec3c1b174"}, e(7))},
		{abi.TableLog, abi.FieldTime, "", cat([]string{"i:1544712660300000000", "i:1544712660400000000"}, slices.Repeat([]string{"i:0"}, 6))},
		{abi.TableLog, abi.FieldObservedTime, "", cat([]string{"i:1544712660300000001", "i:0", "i:1544712660500000000"}, slices.Repeat([]string{"i:0"}, 5))},
		{abi.TableLog, abi.FieldSeverity, "", []string{"i:17", "i:9", "i:0", "i:0", "i:0", "i:0", "i:24", "i:0"}},
		{abi.TableLog, abi.FieldSeverityText, "", []string{"s:ERROR", "s:", "s:", "s:", "s:", "s:", "s:FATAL4", "s:"}},
		{abi.TableLog, abi.FieldFlags, "", cat([]string{"i:1"}, slices.Repeat([]string{"i:0"}, 7))},
		{abi.TableLog, abi.FieldValue, "", []string{"s:disk full: /var/ünïcödé", `o:{"msg":"structured","n":2.5}`, "o:[1,true]",
			"i:-7", "x:000102", "-", "d:1.25", "s:"}},
		{abi.TableLog, abi.FieldAttrs, "", cat([]string{`[code=i:28 detail=o:{"a":["x","/w=="],"b":2}]`}, slices.Repeat([]string{"[]"}, 5),
			[]string{"[x=b:true]", "[]"})},
		{abi.TableLog, abi.FieldAttr, "x", cat(e(6), []string{"b:true"}, e(1))},
	}
	runColumnCases(t, tb, cases)
	wantLens(t, tb, map[int32]int32{abi.TableResource: 2, abi.TableScope: 3, abi.TableLog: 8})
}

func runColumnCases(t *testing.T, tb *tables, cases []columnCase) {
	t.Helper()
	for _, c := range cases {
		name := tableName(c.table) + "/" + fieldName(c.field)
		if c.key != "" || c.field == abi.FieldAttr {
			name += "/" + c.key
		}
		t.Run(name, func(t *testing.T) {
			got := tb.cells(t, c.table, c.field, c.key)
			if !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func wantLens(t *testing.T, tb *tables, want map[int32]int32) {
	t.Helper()
	for table := int32(abi.TableResource); table <= abi.TableLog; table++ {
		n, ok := want[table]
		if !ok {
			n = abi.ErrArgument // a table of another signal
		}
		if got := tb.length(table); got != n {
			t.Errorf("Len(%s) = %d, want %d", tableName(table), got, n)
		}
	}
}

func fieldName(f int32) string {
	names := []string{"Attr", "Attrs", "Parent", "Name", "Version", "TraceID", "SpanID", "ParentSpanID",
		"TraceState", "Kind", "StartTime", "Time", "StatusCode", "StatusMessage", "Flags", "Description",
		"Unit", "Value", "Count", "Sum", "Severity", "SeverityText", "ObservedTime", "Resource"}
	if f >= 0 && int(f) < len(names) {
		return names[f]
	}
	return "field?"
}

// A field a table lacks, an unknown field or table, and a table of another
// signal are all ErrArgument; the matrix is checked exhaustively against
// the fields the cases above exercise.
func TestColumnErrors(t *testing.T) {
	batches := map[int32]*tables{
		abi.SignalTraces:  load(t, abi.SignalTraces, fixture(t, "traces.json")),
		abi.SignalMetrics: load(t, abi.SignalMetrics, fixture(t, "metrics.json")),
		abi.SignalLogs:    load(t, abi.SignalLogs, fixture(t, "logs.json")),
	}
	for signal, tb := range batches {
		for table := int32(0); table <= abi.TableLog+1; table++ {
			for field := int32(-1); field <= abi.FieldResource+1; field++ {
				_, rc := tb.column(table, field, "k")
				sig, known := signalOf[table]
				ok := known && (sig == 0 || sig == signal) && hasField[table][field]
				if ok && rc != 0 || !ok && rc != abi.ErrArgument {
					t.Errorf("signal %d: column(%s, %s) = %d, want ok=%v", signal, tableName(table), fieldName(field), rc, ok)
				}
			}
		}
	}
	// The matrix itself, spelled out for the fields that are easy to get
	// wrong: which tables have no resource, flags, attributes or name.
	tr := batches[abi.SignalTraces]
	for _, c := range []struct{ table, field int32 }{
		{abi.TableResource, abi.FieldParent}, {abi.TableResource, abi.FieldResource}, {abi.TableResource, abi.FieldName},
		{abi.TableEvent, abi.FieldResource}, {abi.TableLink, abi.FieldResource},
		{abi.TableLink, abi.FieldName}, {abi.TableEvent, abi.FieldFlags}, {abi.TableSpan, abi.FieldValue},
		{abi.TableScope, abi.FieldFlags},
	} {
		if _, rc := tr.column(c.table, c.field, ""); rc != abi.ErrArgument {
			t.Errorf("column(%s, %s) = %d, want ErrArgument", tableName(c.table), fieldName(c.field), rc)
		}
	}
	m := batches[abi.SignalMetrics]
	for _, f := range []int32{abi.FieldAttr, abi.FieldAttrs, abi.FieldFlags, abi.FieldValue} {
		if _, rc := m.column(abi.TableMetric, f, ""); rc != abi.ErrArgument {
			t.Errorf("column(metric, %s) = %d, want ErrArgument", fieldName(f), rc)
		}
	}
}

// Map and array values render as pcommon's Value.AsString does.
func TestOtherJSON(t *testing.T) {
	kv := func(k string, v anyValue) keyValue { return keyValue{Key: k, Value: v} }
	m := func(kvs ...keyValue) anyValue { return anyValue{kind: kindKVList, kvs: kvs} }
	a := func(vs ...anyValue) anyValue { return anyValue{kind: kindArray, arr: vs} }
	cases := []struct {
		name string
		v    anyValue
		want string
	}{
		{"sorted keys", m(kv("b", strValue("x")), kv("a", intValue(1))), `{"a":1,"b":"x"}`},
		{"no HTML escaping", m(kv("h", strValue("<a&b>"))), `{"h":"<a&b>"}`},
		{"bytes in base64", a(anyValue{kind: abi.TagBytes, raw: []byte{0xff, 0}}), `["/wA="]`},
		{"empty value is null", a(anyValue{}), `[null]`},
		{"bool and double", a(anyValue{kind: abi.TagBool, num: 1}, doubleValue(1e21), doubleValue(0.5)), `[true,1e+21,0.5]`},
		{"later duplicate wins", m(kv("k", intValue(1)), kv("k", intValue(2))), `{"k":2}`},
		{"nested", m(kv("l", a(m(kv("z", strValue("ü")))))), `{"l":[{"z":"ü"}]}`},
		{"empty map", m(), `{}`},
		{"empty array", a(), `[]`},
		{"NaN cannot be encoded", a(doubleValue(nan())), ``},
		{"large int stays exact", a(intValue(1<<62 + 1)), `[4611686018427387905]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.v.otherJSON(); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
			w := newColWriter(nil, 1)
			if !c.v.write(w) {
				t.Fatal("refused")
			}
			col := cells(t, w.Bytes(), 1)[0]
			if want := "o:" + c.want; col != want {
				t.Errorf("column cell %q, want %q", col, want)
			}
		})
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func TestColumnLargeAndUnicodeValues(t *testing.T) {
	big := strings.Repeat("ü", 1<<19) // 1 MiB of UTF-8
	in := `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[` +
		`{"body":{"stringValue":"` + big + `"},"attributes":[{"key":"日本","value":{"stringValue":"` + big + `"}}]}]}]}]}`
	tb := load(t, abi.SignalLogs, []byte(in))
	if got := tb.cells(t, abi.TableLog, abi.FieldAttr, "日本"); len(got) != 1 || got[0] != "s:"+big {
		t.Errorf("1 MiB attribute: got %d cells, first %d bytes", len(got), len(got[0]))
	}
	if got := tb.cells(t, abi.TableLog, abi.FieldValue, ""); got[0] != "s:"+big {
		t.Errorf("1 MiB body: got %d bytes", len(got[0]))
	}
}

// TestColumnDeepValue: as on the host, a body nested deeper than
// maxValueDepth is refused to column (ErrTooLarge); one as deep as allowed
// crosses.
func TestColumnDeepValue(t *testing.T) {
	nested := func(levels int) string {
		return strings.Repeat(`{"arrayValue":{"values":[`, levels) + `{"intValue":"1"}` + strings.Repeat(`]}}`, levels)
	}
	for _, c := range []struct {
		levels int
		rc     int32
	}{{maxValueDepth, 0}, {maxValueDepth + 1, abi.ErrTooLarge}} {
		in := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":` + nested(c.levels) + `}]}]}]}`
		tb := load(t, abi.SignalLogs, []byte(in))
		if _, rc := tb.column(abi.TableLog, abi.FieldValue, ""); rc != c.rc {
			t.Errorf("%d levels: column rc %d, want %d", c.levels, rc, c.rc)
		}
	}
}
