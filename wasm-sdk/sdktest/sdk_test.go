// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strings"
	"sync"
	"testing"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// These tests drive filters written against the public SDK, as a filter
// author would, so they cover the SDK and the emulator together.

type identity struct{}

func (identity) ProcessTraces(wasmcol.Traces) error   { return nil }
func (identity) ProcessMetrics(wasmcol.Metrics) error { return nil }
func (identity) ProcessLogs(wasmcol.Logs) error       { return nil }

// An identity filter returns every fixture unchanged, to the byte once
// both sides are in the emulator's (pdata's) output form.
func TestIdentityRoundTrip(t *testing.T) {
	for _, c := range []struct {
		file   string
		signal int32
	}{
		{"traces.json", abi.SignalTraces},
		{"metrics.json", abi.SignalMetrics},
		{"logs.json", abi.SignalLogs},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			in := fixture(t, c.file)
			out, err := Run(identity{}, c.signal, "", in)
			if err != nil {
				t.Fatal(err)
			}
			sameBatch(t, c.signal, in, out)
			if want := load(t, c.signal, in).doc(t); !bytes.Equal(out, want) {
				t.Errorf("identity output is not the input re-encoded:\ngot  %s\nwant %s", out, want)
			}
			// And the output reads back as itself.
			again, err := Run(identity{}, c.signal, "", out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("second pass changed the output:\n%s\n%s", out, again)
			}
		})
	}
}

// dumper writes every accessor of every item through the SDK's API.
type dumper struct{ out strings.Builder }

func (d *dumper) p(format string, args ...any) { fmt.Fprintf(&d.out, format+"\n", args...) }

// attrs renders an item's Attrs(). It takes both shapes the SDK has had,
// an iterator and a slice of {Key, Value}, so that this test keeps
// compiling while the SDK's API settles.
func attrs(a any) string {
	var parts []string
	add := func(k string, v wasmcol.Value) {
		parts = append(parts, fmt.Sprintf("%s=%d:%s", k, v.Kind(), v.AsString()))
	}
	if seq, ok := a.(iter.Seq2[string, wasmcol.Value]); ok {
		for k, v := range seq {
			add(k, v)
		}
	} else {
		rv := reflect.ValueOf(a)
		for i := range rv.Len() {
			kv := rv.Index(i)
			add(kv.FieldByName("Key").String(), kv.FieldByName("Value").Interface().(wasmcol.Value))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (d *dumper) ProcessTraces(t wasmcol.Traces) error {
	for r := range t.Resources() {
		d.p("resource %d %s", r.Index(), attrs(r.Attrs()))
	}
	for s := range t.Spans() {
		sc := s.Scope()
		d.p("span %d %q kind=%d trace=%s span=%s parent=%s(empty=%v) ts=%q start=%d end=%d dur=%s status=%d %q flags=%d res=%d scope=%d %q %q %s",
			s.Index(), s.Name(), s.Kind(), s.TraceID(), s.SpanID(), s.ParentSpanID(), s.ParentSpanID().IsEmpty(), s.TraceState(),
			s.StartTime(), s.EndTime(), s.Duration(), s.Status(), s.StatusMessage(), s.Flags(), s.Resource().Index(),
			sc.Index(), sc.Name(), sc.Version(), attrs(s.Attrs()))
		for ev := range s.Events() {
			d.p("  event %d %q time=%d span=%d %s", ev.Index(), ev.Name(), ev.Time(), ev.Span().Index(), attrs(ev.Attrs()))
		}
		for l := range s.Links() {
			d.p("  link %d trace=%s span=%s ts=%q %s", l.Index(), l.TraceID(), l.SpanID(), l.TraceState(), attrs(l.Attrs()))
		}
	}
	return nil
}

func (d *dumper) ProcessMetrics(m wasmcol.Metrics) error {
	d.p("metrics=%d points=%d", m.Len(), m.PointCount())
	for mt := range m.Metrics() {
		d.p("metric %d %q %q %q type=%d res=%d scope=%q", mt.Index(), mt.Name(), mt.Description(), mt.Unit(), mt.Type(),
			mt.Resource().Index(), mt.Scope().Name())
		for p := range mt.Points() {
			sum, hasSum := p.Sum()
			d.p("  point %d metric=%d start=%d time=%d value=%d:%s count=%d sum=%v,%v flags=%d res=%d %s", p.Index(), p.Metric().Index(),
				p.StartTime(), p.Time(), p.Value().Kind(), p.Value().AsString(), p.Count(), sum, hasSum, p.Flags(), p.Resource().Index(), attrs(p.Attrs()))
		}
	}
	return nil
}

func (d *dumper) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		d.p("log %d body=%d:%s sev=%d %q trace=%s span=%s time=%d observed=%d flags=%d res=%d scope=%q %s", r.Index(), r.Body().Kind(),
			r.Body().AsString(), r.Severity(), r.SeverityText(), r.TraceID(), r.SpanID(), r.Time(), r.ObservedTime(), r.Flags(),
			r.Resource().Index(), r.Scope().Name(), attrs(r.Attrs()))
	}
	return nil
}

func TestSDKReadsEveryAccessor(t *testing.T) {
	cases := []struct {
		file   string
		signal int32
		want   string
	}{
		{"traces.json", abi.SignalTraces, `resource 0 [service.name=1:checkout host.cpu=2:8 ratio=3:0.25 enabled=4:true raw=5:AAEC/w== tags=7:["a",2,1.5,false] nested=7:{"a":{"deep":"aGk="},"html":"<b>&</b>","z":"last"} nothing=0:]
resource 1 []
span 0 "GET /api/ünïcödé/日本" kind=2 trace=5b8efff798038103d269b633813fc60c span=eee19b7ec3c1b174 parent=eee19b7ec3c1b173(empty=false) ts="rojo=00f067aa0ba902b7" start=1544712660000000000 end=1544712661000000000 dur=1s status=1 "all good" flags=257 res=0 scope=0 "io.opentelemetry.http" "1.2.3" [http.method=1:GET http.status_code=2:200 empty=1: =1:empty key]
  event 0 "exception" time=1544712660500000000 span=0 [exception.message=1:boom]
  event 1 "retry" time=1544712660600000000 span=0 []
  link 0 trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203331 ts="congo=t61rcWkgMzE" [link.kind=1:follows]
span 1 "" kind=1 trace=5b8efff798038103d269b633813fc60c span=eee19b7ec3c1b173 parent=0000000000000000(empty=true) ts="" start=1544712659000000000 end=1544712662000000000 dur=3s status=2 "" flags=0 res=0 scope=0 "io.opentelemetry.http" "1.2.3" []
  link 1 trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203332 ts="" []
span 2 "third" kind=3 trace=0102030405060708090a0b0c0d0e0f10 span=0102030405060708 parent=0000000000000000(empty=true) ts="" start=0 end=0 dur=0s status=0 "" flags=0 res=0 scope=1 "" "" []
  event 2 "only-event" time=0 span=2 []
span 3 "🚀 launch" kind=5 trace=ffffffffffffffffffffffffffffffff span=ffffffffffffffff parent=0000000000000000(empty=true) ts="" start=0 end=0 dur=0s status=0 "ünïcödé" flags=0 res=1 scope=3 "second-resource" "" []
`},
		{"metrics.json", abi.SignalMetrics, `metrics=7 points=14
metric 0 "queue.depth" "items waiting" "{item}" type=1 res=0 scope="meter.lib"
  point 0 metric=0 start=1000 time=2000 value=2:-42 count=0 sum=0,false flags=1 res=0 [queue=1:a]
  point 1 metric=0 start=0 time=2000 value=3:3.5 count=0 sum=0,false flags=0 res=0 [queue=1:b]
  point 2 metric=0 start=0 time=2000 value=3:NaN count=0 sum=0,false flags=0 res=0 []
  point 3 metric=0 start=0 time=2000 value=3:-Inf count=0 sum=0,false flags=0 res=0 []
  point 4 metric=0 start=0 time=2000 value=0: count=0 sum=0,false flags=0 res=0 []
metric 1 "requests" "" "1" type=2 res=0 scope="meter.lib"
  point 5 metric=1 start=1000 time=2000 value=2:9223372036854775807 count=0 sum=0,false flags=0 res=0 []
  point 6 metric=1 start=1000 time=2000 value=3:1e+300 count=0 sum=0,false flags=0 res=0 []
metric 2 "latency" "" "ms" type=3 res=0 scope="meter.lib"
  point 7 metric=2 start=1000 time=2000 value=0: count=10 sum=123.5,true flags=1 res=0 [route=1:/a]
  point 8 metric=2 start=0 time=2000 value=0: count=0 sum=0,false flags=0 res=0 []
metric 3 "size" "" "" type=4 res=0 scope="meter.lib"
  point 9 metric=3 start=1000 time=2000 value=0: count=12 sum=3.25,true flags=1 res=0 [dir=1:in]
  point 10 metric=3 start=0 time=2000 value=0: count=0 sum=0,false flags=0 res=0 []
metric 4 "rpc.duration" "" "" type=5 res=0 scope="meter.lib"
  point 11 metric=4 start=1000 time=2000 value=0: count=100 sum=250.5,true flags=1 res=0 [method=1:Get]
  point 12 metric=4 start=0 time=2000 value=0: count=0 sum=0,true flags=0 res=0 []
metric 5 "no.data" "a metric with no data" "" type=0 res=0 scope="meter.lib"
metric 6 "up" "" "" type=1 res=1 scope=""
  point 13 metric=6 start=0 time=3000 value=2:1 count=0 sum=0,false flags=0 res=1 []
`},
		{"logs.json", abi.SignalLogs, `log 0 body=1:disk full: /var/ünïcödé sev=17 "ERROR" trace=5b8efff798038103d269b633813fc60c span=eee19b7ec3c1b174 time=1544712660300000000 observed=1544712660300000001 flags=1 res=0 scope="log.lib" [code=2:28 detail=7:{"a":["x","/w=="],"b":2}]
log 1 body=7:{"msg":"structured","n":2.5} sev=9 "" trace=00000000000000000000000000000000 span=0000000000000000 time=1544712660400000000 observed=0 flags=0 res=0 scope="log.lib" []
log 2 body=7:[1,true] sev=0 "" trace=00000000000000000000000000000000 span=0000000000000000 time=0 observed=1544712660500000000 flags=0 res=0 scope="log.lib" []
log 3 body=2:-7 sev=0 "" trace=00000000000000000000000000000000 span=0000000000000000 time=0 observed=0 flags=0 res=0 scope="log.lib" []
log 4 body=5:AAEC sev=0 "" trace=00000000000000000000000000000000 span=0000000000000000 time=0 observed=0 flags=0 res=0 scope="log.lib" []
log 5 body=0: sev=0 "" trace=00000000000000000000000000000000 span=0000000000000000 time=0 observed=0 flags=0 res=0 scope="log.lib" []
log 6 body=3:1.25 sev=24 "FATAL4" trace=00000000000000000000000000000000 span=0000000000000000 time=0 observed=0 flags=0 res=0 scope="second" [x=4:true]
log 7 body=1: sev=0 "" trace=00000000000000000000000000000000 span=0000000000000000 time=0 observed=0 flags=0 res=1 scope="" []
`},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			d := &dumper{}
			if _, err := Run(d, c.signal, "", fixture(t, c.file)); err != nil {
				t.Fatal(err)
			}
			if got := d.out.String(); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

// tagger is a typical filter: it reads its config in Init and edits.
type tagger struct {
	Key, Value string
	DropName   string `json:"drop_name"`
}

func (f *tagger) Init(c wasmcol.Config) error {
	if err := c.Decode(f); err != nil {
		return err
	}
	if f.Key == "" {
		return errors.New("tagger: key is required")
	}
	c.Host().Logf(wasmcol.LevelInfo, "tagging with %s", f.Key)
	return nil
}

func (f *tagger) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		s.SetAttr(f.Key, wasmcol.Str(f.Value))
		if s.Name() == f.DropName {
			s.Drop()
			if err := t.Host().Count("dropped", 1); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestRunTagger(t *testing.T) {
	in := []byte(`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[
		{"name":"keep","status":{}},{"name":"noise","status":{}}]}]}]}`)
	e, err := New(&tagger{}, `{"key":"env","value":"prod","drop_name":"noise"}`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Traces(in)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, abi.SignalTraces, []byte(`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[
		{"name":"keep","attributes":[{"key":"env","value":{"stringValue":"prod"}}],"status":{}}]}]}]}`), out)
	if got := e.Counters(); len(got) != 1 || got["dropped"] != 1 {
		t.Errorf("counters %v", got)
	}
	if got := e.LogLines(); len(got) != 1 || got[0] != "info: tagging with env" {
		t.Errorf("log lines %q", got)
	}
}

type failing struct{ err error }

func (f failing) ProcessLogs(wasmcol.Logs) error { return f.err }

type panicking struct{}

func (panicking) ProcessMetrics(m wasmcol.Metrics) error {
	var nilMap map[string]int
	nilMap[m.Metric(0).Name()]++
	return nil
}

type otherKind struct{}

// ProcessLogs copies a map attribute, which the host refuses to set.
func (otherKind) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		r.SetAttr("ok", wasmcol.Int(1))
		r.SetAttr("copy", r.Body())
	}
	return nil
}

type failTraces struct{}

func (failTraces) ProcessTraces(wasmcol.Traces) error { return errors.New("no traces today") }

type initFails struct{ identity }

func (initFails) Init(wasmcol.Config) error { return errors.New("init: no way") }

func TestRunErrors(t *testing.T) {
	logs := []byte(`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{"kvlistValue":{}}}]}]}]}`)
	metrics := []byte(`{"resourceMetrics":[{"resource":{},"scopeMetrics":[{"scope":{},"metrics":[{"name":"m"}]}]}]}`)
	traces := []byte(`{"resourceSpans":[]}`)
	sentinel := errors.New("filter says no")
	cases := []struct {
		name   string
		filter any
		config string
		signal int32
		in     []byte
		want   string
	}{
		{"filter error", failing{sentinel}, "", abi.SignalLogs, logs, "filter says no"},
		{"empty error message", failing{errors.New("")}, "", abi.SignalLogs, logs, "no message"},
		{"panic", panicking{}, "", abi.SignalMetrics, metrics, "panic: assignment to entry in nil map"},
		{"read-only value in an edit", otherKind{}, "", abi.SignalLogs, logs, "edit 1 rejected, no edit applied"},
		{"signal the filter lacks", failing{}, "", abi.SignalTraces, traces, "wasmcol: this filter does not process traces"},
		{"unknown signal", failing{}, "", 3, logs, "sdktest: unknown signal 3"},
		{"failing traces filter", failTraces{}, "", abi.SignalTraces, traces, "no traces today"},
		{"Init error", initFails{}, "", abi.SignalTraces, traces, "init: no way"},
		{"config error", &tagger{}, `{"key":"k","typo":1}`, abi.SignalTraces, traces, `config: json: unknown field "typo"`},
		{"not a filter", struct{}{}, "", abi.SignalTraces, traces, "sdktest: struct {} implements none of"},
		{"nil filter", nil, "", abi.SignalTraces, traces, "implements none of"},
		{"bad input", identity{}, "", abi.SignalLogs, []byte(`{"resourceLogs":[{"resource":{},"bogus":1}]}`), `sdktest: logs JSON: unknown field "bogus"`},
		{"input of another signal", identity{}, "", abi.SignalLogs, traces, `unknown field "resourceSpans"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Run(c.filter, c.signal, c.config, c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if out != nil {
				t.Errorf("a failed call returned output %s", out)
			}
		})
	}
	// The host keeps 4 KiB of a failure message.
	long := strings.Repeat("é", 3000)
	if _, err := Run(failing{errors.New(long)}, abi.SignalLogs, "", logs); err == nil || err.Error() != long[:4096] {
		t.Errorf("a long message came back as %d bytes, want 4096", len(fmt.Sprint(err)))
	}
	// Only the message crosses the host boundary.
	if _, err := Run(failing{sentinel}, abi.SignalLogs, "", logs); errors.Is(err, sentinel) || err.Error() != sentinel.Error() {
		t.Errorf("error %v: want the same message without the identity", err)
	}
}

// dedup drops log records whose body it has seen in any earlier batch, via
// the shared key-value store, and counts what it drops.
type dedup struct{}

func (dedup) ProcessLogs(l wasmcol.Logs) error {
	kv := l.Host().KV()
	for r := range l.Records() {
		stored, err := kv.CompareAndSwap("seen/"+r.Body().AsString(), nil, []byte{1})
		if err != nil {
			return err
		}
		if !stored {
			r.Drop()
			if err := l.Host().Count("duplicates", 1); err != nil {
				return err
			}
		}
	}
	return nil
}

func logBatch(bodies ...string) []byte {
	var recs []string
	for _, b := range bodies {
		recs = append(recs, fmt.Sprintf(`{"body":{"stringValue":%q}}`, b))
	}
	return []byte(`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[` + strings.Join(recs, ",") + `]}]}]}`)
}

func TestEmulatorKeepsStateAcrossBatches(t *testing.T) {
	e, err := New(dedup{}, "")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ in, want []byte }{
		{logBatch("a", "b"), logBatch("a", "b")},
		{logBatch("b", "c"), logBatch("c")},
		{logBatch("a", "c"), []byte(`{}`)},
	}
	for i, s := range steps {
		out, err := e.Logs(s.in)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		sameBatch(t, abi.SignalLogs, s.want, out)
	}
	if got := e.Counters()["duplicates"]; got != 3 {
		t.Errorf("duplicates = %d, want 3", got)
	}
	// A fresh emulator is a fresh processor.
	fresh, _ := New(dedup{}, "")
	if out, _ := fresh.Logs(logBatch("a")); !bytes.Contains(out, []byte(`"a"`)) {
		t.Errorf("a new emulator saw an old key: %s", out)
	}
}

// remembering tags each record with the body of the first record of the
// batch before: right only if it copies the string it keeps.
type remembering struct {
	prev  string
	clone bool
}

func (f *remembering) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		if f.prev != "" {
			r.SetAttr("prev", wasmcol.Str(f.prev))
		}
	}
	f.prev = l.Record(0).Body().Str()
	if f.clone {
		f.prev = strings.Clone(f.prev)
	}
	return nil
}

// A string read from a column is valid only until the filter returns: in a
// Wasm module the next batch's columns reuse the memory. The emulator
// expires it at once, so a filter that keeps one without copying fails
// under go test as it would in the Collector.
func TestColumnStringsExpire(t *testing.T) {
	for _, clone := range []bool{false, true} {
		e, err := New(&remembering{clone: clone}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Logs(logBatch("first")); err != nil {
			t.Fatal(err)
		}
		out, err := e.Logs(logBatch("second"))
		if err != nil {
			t.Fatal(err)
		}
		kept := load(t, abi.SignalLogs, out).cells(t, abi.TableLog, abi.FieldAttr, "prev")[0]
		if clone && kept != "s:first" {
			t.Errorf("a cloned string came back as %q", kept)
		}
		if !clone && (kept == "s:first" || !strings.HasPrefix(kept, "s:")) {
			t.Errorf("a kept column string still reads %q after its batch", kept)
		}
	}
}

// bigTagger adds a 1 MiB attribute and checks one that arrives.
type bigTagger struct{ big string }

func (f bigTagger) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		if got := r.Attr("in").Str(); got != "" && got != f.big {
			return fmt.Errorf("read %d bytes, want %d", len(got), len(f.big))
		}
		r.SetAttr("out", wasmcol.Str(f.big))
	}
	return nil
}

func TestLargeAttribute(t *testing.T) {
	big := strings.Repeat("ä日", 1<<20/5) + "end" // about 1 MiB of multi-byte UTF-8
	in := []byte(`{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"body":{},"attributes":[` +
		`{"key":"in","value":{"stringValue":"` + big + `"}}]}]}]}]}`)
	out, err := Run(bigTagger{big}, abi.SignalLogs, "", in)
	if err != nil {
		t.Fatal(err)
	}
	tb := load(t, abi.SignalLogs, out)
	if got := tb.cells(t, abi.TableLog, abi.FieldAttr, "out")[0]; got != "s:"+big {
		t.Errorf("the 1 MiB attribute came back as %d bytes", len(got))
	}
}

// Emulators share nothing, so tests may run them in parallel (go test
// -race checks this).
func TestParallelEmulators(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := New(dedup{}, "")
			if err != nil {
				errs <- err
				return
			}
			body := fmt.Sprint(i)
			for range 3 {
				if _, err := e.Logs(logBatch(body)); err != nil {
					errs <- err
					return
				}
			}
			if got := e.Counters()["duplicates"]; got != 2 {
				errs <- fmt.Errorf("emulator %d: %d duplicates, want 2", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// attrMixer reads attributes as filters do: a key twice in a row (the
// second read from the column Attr kept), keys alternating between tables
// and between string copies of one key. It writes what it read.
type attrMixer struct{ k string }

func (f attrMixer) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		got := r.Resource().Attr("k").Str() + "/" + r.Attr("k").Str() + r.Attr("k").Str() + r.Attr("j").Str() + "/" + r.Attr(f.k).Str()
		r.SetAttr("seen", wasmcol.Str(got))
	}
	return nil
}

// Attr keeps the column it read last for the next read of the same key;
// it must never answer another key or another table from it.
func TestAttrReadsTheRightColumn(t *testing.T) {
	e, err := New(attrMixer{k: strings.Clone("k")}, "")
	if err != nil {
		t.Fatal(err)
	}
	batch := func(res string, recs ...string) []byte {
		return []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"k","value":{"stringValue":"` + res +
			`"}}]},"scopeLogs":[{"scope":{},"logRecords":[` + strings.Join(recs, ",") + `]}]}]}`)
	}
	rec := func(k, j string) string {
		var kvs []string
		if k != "" {
			kvs = append(kvs, `{"key":"k","value":{"stringValue":"`+k+`"}}`)
		}
		if j != "" {
			kvs = append(kvs, `{"key":"j","value":{"stringValue":"`+j+`"}}`)
		}
		return `{"attributes":[` + strings.Join(kvs, ",") + `]}`
	}
	for i, step := range []struct {
		in   []byte
		want []string
	}{
		{batch("R1", rec("a", "b"), rec("c", ""), rec("", "d")), []string{"s:R1/aab/a", "s:R1/cc/c", "s:R1/d/"}},
		{batch("R2", rec("e", "f")), []string{"s:R2/eef/e"}},
	} {
		out, err := e.Logs(step.in)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if got := load(t, abi.SignalLogs, out).cells(t, abi.TableLog, abi.FieldAttr, "seen"); !reflect.DeepEqual(got, step.want) {
			t.Errorf("batch %d: read %q, want %q", i, got, step.want)
		}
	}
}
