// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

func protoRoundTrip(t *testing.T, doc any) []byte {
	t.Helper()
	var back any
	var err error
	switch d := doc.(type) {
	case *tracesData:
		back, err = unmarshalTraces(marshalTraces(d))
	case *metricsData:
		back, err = unmarshalMetrics(marshalMetrics(d))
	case *logsData:
		back, err = unmarshalLogs(marshalLogs(d))
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := encodeOTLP(back)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every field of the rich fixtures survives JSON → protobuf → JSON.
func TestProtoRoundTrip(t *testing.T) {
	for _, c := range []struct {
		file   string
		signal int32
	}{
		{"traces.json", abi.SignalTraces},
		{"metrics.json", abi.SignalMetrics},
		{"logs.json", abi.SignalLogs},
	} {
		t.Run(c.file, func(t *testing.T) {
			tb := load(t, c.signal, fixture(t, c.file))
			want := tb.doc(t)
			if got := protoRoundTrip(t, tb.root()); !bytes.Equal(got, want) {
				t.Errorf("round trip changed the batch:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

// testdata/*.pb are the JSON fixtures as pdata's protobuf marshaler
// encodes them (see testdata/protogen): the decoder must read every field
// back. With TestProtoRoundTrip this pins the encoder's field numbers too,
// since a field it wrote under the wrong number would not come back.
func TestProtoReadsPdata(t *testing.T) {
	for _, c := range []struct {
		name   string
		signal int32
	}{
		{"traces", abi.SignalTraces},
		{"metrics", abi.SignalMetrics},
		{"logs", abi.SignalLogs},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := unmarshalSignal(c.signal, fixture(t, c.name+".pb"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeOTLP(doc)
			if err != nil {
				t.Fatal(err)
			}
			if want := load(t, c.signal, fixture(t, c.name+".json")).doc(t); !bytes.Equal(got, want) {
				t.Errorf("decoded pdata's encoding as\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// knownLogs is an ExportLogsServiceRequest assembled by hand from
// opentelemetry-proto's field numbers, independent of the encoder.
var knownLogs = mustHex(strings.Join([]string{
	"0a2a",           // resource_logs (1), 42 bytes
	"0a09",           //   resource (1), 9 bytes
	"0a07",           //     attributes (1), 7 bytes
	"0a016b", "1202", //       key (1) "k"; value (2), 2 bytes
	"1805",           //         int_value (3) 5
	"121d",           //   scope_logs (2), 29 bytes
	"0a03", "0a0173", //     scope (1): name (1) "s"
	"1216",               //     log_records (2), 22 bytes
	"090700000000000000", //       time_unix_nano (1, fixed64) 7
	"1009",               //       severity_number (2) 9
	"2a04", "0a026869",   //       body (5): string_value (1) "hi"
	"4501000000", //       flags (8, fixed32) 1
}, ""))

const knownLogsJSON = `{"resourceLogs":[{"resource":{"attributes":[{"key":"k","value":{"intValue":"5"}}]},` +
	`"scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"7","severityNumber":9,"body":{"stringValue":"hi"},"flags":1}]}]}]}`

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestProtoKnownBytes(t *testing.T) {
	d, err := unmarshalLogs(knownLogs)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := encodeOTLP(d); string(got) != knownLogsJSON {
		t.Errorf("decoded\n%s\nwant\n%s", got, knownLogsJSON)
	}
	fromJSON, err := parseLogs([]byte(knownLogsJSON))
	if err != nil {
		t.Fatal(err)
	}
	if got := marshalLogs(fromJSON); !bytes.Equal(got, knownLogs) {
		t.Errorf("encoded\n%x\nwant\n%x", got, knownLogs)
	}
}

// What other encoders may write: unpacked repeated scalars, unknown
// fields, the deprecated scope field, repeated oneof members.
func TestProtoDecodeVariants(t *testing.T) {
	msg := func(field int, parts ...func(*pbuf)) func(*pbuf) {
		return func(p *pbuf) {
			p.msg(field, func(c *pbuf) {
				for _, part := range parts {
					part(c)
				}
			})
		}
	}
	build := func(parts ...func(*pbuf)) []byte {
		var p pbuf
		for _, part := range parts {
			part(&p)
		}
		return p.b
	}
	fixed := func(field int, v uint64) func(*pbuf) { return func(p *pbuf) { p.alwaysFixed64(field, v) } }
	varint := func(field int, v uint64) func(*pbuf) { return func(p *pbuf) { p.varint(field, v) } }
	str := func(field int, s string) func(*pbuf) { return func(p *pbuf) { p.str(field, s) } }
	unknown := func(p *pbuf) { p.varint(99, 1); p.str(98, "skip me"); p.fixed32(97, 1); p.alwaysFixed64(96, 1) }

	cases := []struct {
		name   string
		signal int32
		in     []byte
		want   string
	}{
		{"unpacked bucket counts and bounds", abi.SignalMetrics, build(msg(1, msg(2, msg(2,
			str(1, "h"), msg(9, msg(1, fixed(6, 1), fixed(6, 2), fixed(7, 0x3ff0000000000000))))))),
			`{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"name":"h","histogram":{"dataPoints":[{"bucketCounts":["1","2"],"explicitBounds":[1]}]}}]}]}]}`},
		{"unpacked exponential buckets and a negative scale", abi.SignalMetrics, build(msg(1, msg(2, msg(2,
			msg(10, msg(1, varint(6, 3), msg(8, varint(1, 1), varint(2, 4), varint(2, 5)))))))),
			`{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"exponentialHistogram":{"dataPoints":[{"scale":-2,"positive":{"offset":-1,"bucketCounts":["4","5"]},"negative":{}}]}}]}]}]}`},
		{"unknown fields everywhere", abi.SignalLogs, build(unknown, msg(1, unknown, msg(2, unknown, msg(2, unknown, str(3, "x"))))),
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"severityText":"x","body":{}}]}]}]}`},
		{"deprecated scope spans", abi.SignalTraces, build(msg(1, msg(1000, msg(1, str(1, "old"))))),
			`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{"name":"old"}}]}]}`},
		{"scope spans win over deprecated ones", abi.SignalTraces, build(msg(1, msg(1000, msg(1, str(1, "old"))), msg(2, msg(1, str(1, "new"))))),
			`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{"name":"new"}}]}]}`},
		{"the last oneof member wins", abi.SignalLogs, build(msg(1, msg(2, msg(2, msg(5, str(1, "first"), varint(3, 1<<64-1)))))),
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"intValue":"-1"}}]}]}]}`},
		{"the last metric type wins", abi.SignalMetrics, build(msg(1, msg(2, msg(2, msg(5), msg(7, varint(3, 1)))))),
			`{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"sum":{"isMonotonic":true}}]}]}]}`},
		{"empty string and empty bytes keep their type", abi.SignalLogs, build(msg(1, msg(2, msg(2, msg(5, func(p *pbuf) { p.raw(7, nil) }),
			msg(6, str(1, "k"), msg(2, func(p *pbuf) { p.raw(1, nil) })))))),
			`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"bytesValue":""},"attributes":[{"key":"k","value":{"stringValue":""}}]}]}]}]}`},
		{"empty", abi.SignalTraces, nil, `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := unmarshalSignal(c.signal, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := encodeOTLP(doc); string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestProtoDecodeErrors(t *testing.T) {
	for n := 1; n < len(knownLogs); n++ {
		if _, err := unmarshalLogs(knownLogs[:n]); err == nil {
			t.Errorf("the first %d of %d bytes decoded without error", n, len(knownLogs))
		}
	}
	span := func(field []byte) []byte {
		var p pbuf
		p.msg(1, func(c *pbuf) { c.msg(2, func(c *pbuf) { c.raw(2, field) }) })
		return p.b
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"wrong wire type", span([]byte{0x35, 1, 0, 0, 0}), "field 6 has wire type 5, want 0"},
		{"short trace ID", span([]byte{0x0a, 2, 1, 2}), "an ID of 2 bytes, want 16"},
		{"field number 0", []byte{0x02, 0}, "bad field number 0"},
		{"wire type 3 (groups) in an unknown field", []byte{0x13}, "unsupported wire type 3"},
		{"length past the end", []byte{0x0a, 5, 0}, "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := unmarshalTraces(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// otlpFilter uses the escape hatch through the SDK: it reads the batch as
// protobuf, then replaces it with replace(that), if replace is set.
type otlpFilter struct {
	got     []byte
	replace func([]byte) []byte
	alsoSet bool // also edit an item, which the SDK refuses
}

func (f *otlpFilter) ProcessLogs(l wasmcol.Logs) error {
	b, err := l.OTLP()
	if err != nil {
		return err
	}
	f.got = b
	if f.replace != nil {
		if err := l.SetOTLP(f.replace(b)); err != nil {
			return err
		}
	}
	if f.alsoSet {
		l.Record(0).SetAttr("k", wasmcol.Int(1))
	}
	return nil
}

func TestOTLPEscapeHatch(t *testing.T) {
	in := fixture(t, "logs.json")
	t.Run("get", func(t *testing.T) {
		f := &otlpFilter{}
		out, err := Run(f, abi.SignalLogs, "", in)
		if err != nil {
			t.Fatal(err)
		}
		d, err := unmarshalLogs(f.got)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := encodeOTLP(d)
		sameBatch(t, abi.SignalLogs, in, got)
		sameBatch(t, abi.SignalLogs, in, out)
	})
	t.Run("set the same batch", func(t *testing.T) {
		out, err := Run(&otlpFilter{replace: func(b []byte) []byte { return b }}, abi.SignalLogs, "", in)
		if err != nil {
			t.Fatal(err)
		}
		sameBatch(t, abi.SignalLogs, in, out)
	})
	t.Run("set another batch", func(t *testing.T) {
		out, err := Run(&otlpFilter{replace: func([]byte) []byte { return knownLogs }}, abi.SignalLogs, "", in)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != knownLogsJSON {
			t.Errorf("got %s", out)
		}
	})
	t.Run("set an empty batch", func(t *testing.T) {
		out, err := Run(&otlpFilter{replace: func([]byte) []byte { return nil }}, abi.SignalLogs, "", in)
		if err != nil || string(out) != "{}" {
			t.Errorf("got %s, %v; want {}", out, err)
		}
	})
	t.Run("set garbage", func(t *testing.T) {
		out, err := Run(&otlpFilter{replace: func([]byte) []byte { return []byte{0x0a, 9} }}, abi.SignalLogs, "", in)
		if err == nil || !strings.Contains(err.Error(), "SetOTLP payload: truncated") || out != nil {
			t.Errorf("got %s, %v", out, err)
		}
	})
	t.Run("set and edit", func(t *testing.T) {
		_, err := Run(&otlpFilter{replace: func(b []byte) []byte { return b }, alsoSet: true}, abi.SignalLogs, "", in)
		if err == nil || !strings.Contains(err.Error(), "cannot also edit items") {
			t.Errorf("error %v", err)
		}
	})
}

// The SDK refuses to send edits after SetOTLP, so the emulator's own
// check needs a host driven by hand.
func TestOTLPSetWithEditsFails(t *testing.T) {
	e, err := New(nopLogs{}, "")
	if err != nil {
		t.Fatal(err)
	}
	h := &callHost{e: e, t: load(t, abi.SignalLogs, []byte(editLogs))}
	if rc := h.OTLPSet(knownLogs); rc != 0 {
		t.Fatal(abi.ErrorText(rc))
	}
	if rc := h.Edit(drop(abi.TableLog, 0)); rc != 0 {
		t.Fatal(abi.ErrorText(rc))
	}
	if _, err := e.finish(h, abi.SignalLogs); err == nil || !strings.Contains(err.Error(), "both replaced the batch and edited it") {
		t.Errorf("error %v", err)
	}
}
