// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"strings"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// The reader accepts every spelling the OTLP/JSON mapping (and pdata)
// accepts, and writes pdata's.
func TestDecodeSpellings(t *testing.T) {
	cases := []struct {
		name   string
		signal int32
		in     string
		want   string // the emulator's output
	}{
		{"snake_case keys", abi.SignalTraces,
			`{"resource_spans":[{"resource":{"dropped_attributes_count":1},"scope_spans":[{"scope":{},"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","parent_span_id":"eee19b7ec3c1b174","start_time_unix_nano":"5","status":{}}]}],"schema_url":"u"}]}`,
			`{"resourceSpans":[{"resource":{"droppedAttributesCount":1},"scopeSpans":[{"scope":{},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","parentSpanId":"eee19b7ec3c1b174","startTimeUnixNano":"5","status":{}}]}],"schemaUrl":"u"}]}`},
		{"enum names", abi.SignalTraces,
			`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"kind":"SPAN_KIND_CONSUMER","status":{"code":"STATUS_CODE_ERROR"}}]}]}]}`,
			`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"kind":5,"status":{"code":2}}]}]}]}`},
		{"numbers as numbers, hex in upper case, status omitted", abi.SignalTraces,
			`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"spanId":"EEE19B7EC3C1B174","flags":"1","endTimeUnixNano":7,"attributes":[{"key":"i","value":{"intValue":12}}]}]}]}]}`,
			`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"spanId":"eee19b7ec3c1b174","flags":1,"endTimeUnixNano":"7","attributes":[{"key":"i","value":{"intValue":"12"}}],"status":{}}]}]}]}`},
		{"deprecated scope spans", abi.SignalTraces,
			`{"resourceSpans":[{"resource":{},"deprecatedScopeSpans":[{"scope":{"name":"old"}}]}]}`,
			`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{"name":"old"}}]}]}`},
		{"deprecated scope metrics and logs", abi.SignalLogs,
			`{"resourceLogs":[{"resource":{},"deprecated_scope_logs":[{"scope":{"name":"old"}}]}]}`,
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{"name":"old"}}]}]}`},
		{"special doubles and enum names in metrics", abi.SignalMetrics,
			`{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"sum":{"dataPoints":[{"asDouble":"Infinity"},{"asDouble":"1.5"},{"asDouble":-0.0}],"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA"}}]}]}]}`,
			`{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"sum":{"dataPoints":[{"asDouble":"Infinity"},{"asDouble":1.5},{"asDouble":-0}],"aggregationTemporality":1}}]}]}]}`},
		{"severity names", abi.SignalLogs,
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"severityNumber":"SEVERITY_NUMBER_WARN3"},{"severityNumber":"SEVERITY_NUMBER_FATAL4"},{"severityNumber":"SEVERITY_NUMBER_TRACE"}]}]}]}`,
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"severityNumber":15,"body":{}},{"severityNumber":24,"body":{}},{"severityNumber":1,"body":{}}]}]}]}`},
		{"zero IDs and empty bytes", abi.SignalLogs,
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"traceId":"","spanId":"0000000000000000","body":{"bytesValue":""}}]}]}]}`,
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"bytesValue":""}}]}]}]}`},
		{"HTML characters unescaped, unicode kept", abi.SignalLogs,
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"stringValue":"<a href=\"x\">&amp;</a> \u00fc 😀"}}]}]}]}`,
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"stringValue":"<a href=\"x\">&amp;</a> ü 😀"}}]}]}]}`},
		{"empty batch", abi.SignalMetrics, `{}`, `{}`},
		{"empty resource list", abi.SignalMetrics, `{"resourceMetrics":[]}`, `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Run(identity{}, c.signal, "", []byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				t.Errorf("got  %s\nwant %s", out, c.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name   string
		signal int32
		in     string
		want   string
	}{
		{"unknown field", abi.SignalTraces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"spanID":"00"}]}]}]}`, `unknown field "spanID"`},
		{"unknown key", abi.SignalLogs, `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"mapValue":{}}}]}]}]}`, `unknown field "mapValue"`},
		{"a key of another message in an AnyValue", abi.SignalLogs, `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"name":"x"}}]}]}]}`, `unknown AnyValue field "name"`},
		{"a key of another message", abi.SignalTraces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"unit":"ms"}]}]}]}`, `unknown field "unit"`},
		{"a key in the wrong case", abi.SignalTraces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"Name":"x"}]}]}]}`, `unknown field "Name"`},
		{"unknown field in a kvlist", abi.SignalLogs, `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"kvlistValue":{"values":[{"key":"k","val":{}}]}}}]}]}]}`, `unknown field "val"`},
		{"two AnyValue fields", abi.SignalLogs, `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"stringValue":"a","intValue":"1"}}]}]}]}`, "holds one value"},
		{"short trace ID", abi.SignalTraces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"traceId":"abcd"}]}]}]}`, "want a 16-byte hex ID"},
		{"non-hex span ID", abi.SignalTraces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"spanId":"zzzzzzzzzzzzzzzz"}]}]}]}`, "want a hex ID"},
		{"negative time", abi.SignalTraces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"startTimeUnixNano":"-1"}]}]}]}`, "want an unsigned integer"},
		{"fractional int", abi.SignalLogs, `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"intValue":"1.5"}}]}]}]}`, "want an integer"},
		{"unknown enum name", abi.SignalTraces, `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"kind":"SERVER"}]}]}]}`, "want an enum"},
		{"bad base64", abi.SignalLogs, `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"bytesValue":"!!"}}]}]}]}`, "bytesValue"},
		{"two metric types", abi.SignalMetrics, `{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"name":"m","gauge":{},"sum":{}}]}]}]}`, `metric "m": more than one of gauge`},
		{"asInt and asDouble", abi.SignalMetrics, `{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"sum":{"dataPoints":[{"asInt":"1","asDouble":1}]}}]}]}]}`, "both asDouble and asInt"},
		{"exemplar with both", abi.SignalMetrics, `{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"histogram":{"dataPoints":[{"exemplars":[{"asInt":"1","asDouble":1}]}]}}]}]}]}`, "an exemplar has both"},
		{"two batches", abi.SignalLogs, `{} {}`, "more than one JSON value"},
		{"not an object", abi.SignalLogs, `[]`, "want a JSON object"},
		{"not JSON", abi.SignalLogs, `{`, "unexpected EOF"},
		{"wrong signal", abi.SignalMetrics, `{"resourceLogs":[]}`, `unknown field "resourceLogs"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(identity{}, c.signal, "", []byte(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}
