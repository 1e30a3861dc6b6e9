// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// metricTidy prefixes metric names, drops negative gauge readings, turns
// int points into doubles and marks every point it keeps.
type metricTidy struct{ Prefix string }

func (f *metricTidy) Init(c wasmcol.Config) error { return c.Decode(f) }

func (f *metricTidy) ProcessMetrics(m wasmcol.Metrics) error {
	for mt := range m.Metrics() {
		mt.SetName(f.Prefix + mt.Name())
		for p := range mt.Points() {
			v := p.Value()
			if v.Kind() == wasmcol.KindInt && v.Int() < 0 {
				p.Drop()
				continue
			}
			if v.Kind() == wasmcol.KindInt {
				p.SetValue(wasmcol.Double(float64(v.Int())))
			}
			p.SetAttr("tidy", wasmcol.Bool(true))
		}
	}
	return nil
}

// The workflow a filter author follows: testdata/<case>/input.json and
// expected.json, checked with Golden (regenerate with go test -update).
func TestGolden(t *testing.T) {
	t.Run("tagger", func(t *testing.T) {
		Golden(t, &tagger{}, `{"key":"env","value":"prod","drop_name":"healthz"}`, "testdata/golden/tagger")
	})
	t.Run("dedup", func(t *testing.T) {
		Golden(t, dedup{}, "", "testdata/golden/dedup")
	})
	t.Run("metrics", func(t *testing.T) {
		Golden(t, &metricTidy{}, `{"Prefix":"app."}`, "testdata/golden/metrics")
	})
}

// fakeTB records what Golden reports; Fatalf ends the goroutine as the
// real one does.
type fakeTB struct {
	testing.TB
	errs  []string
	fatal string
	logs  []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func runGolden(filter any, config, dir string, update bool) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		golden(f, filter, config, dir, update)
	}()
	<-done
	return f
}

func writeCase(t *testing.T, input, expected string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input.json"), []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	if expected != "" {
		if err := os.WriteFile(filepath.Join(dir, "expected.json"), []byte(expected), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goldenIn = `{"resourceSpans":[{"resource":{"attributes":[{"key":"r","value":{"intValue":"1"}}]},"scopeSpans":[{"scope":{},"spans":[
 {"traceId":"5b8efff798038103d269b633813fc60c","name":"a","attributes":[{"key":"x","value":{"stringValue":"1"}},{"key":"y","value":{"doubleValue":2}}],"status":{}},
 {"name":"b","status":{}}]}]}]}`

func TestGoldenUpdateThenCompare(t *testing.T) {
	dir := writeCase(t, goldenIn+"\n"+goldenIn, "")
	cfg := `{"key":"env","value":"dev"}`
	if f := runGolden(&tagger{}, cfg, dir, true); f.fatal != "" || len(f.errs) > 0 {
		t.Fatalf("update: fatal %q, errors %q", f.fatal, f.errs)
	}
	written, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(written), "\n  \"resourceSpans\"") || strings.Count(string(written), `"resourceSpans"`) != 2 {
		t.Errorf("expected.json is not two indented batches:\n%s", written)
	}
	if f := runGolden(&tagger{}, cfg, dir, false); f.fatal != "" || len(f.errs) > 0 {
		t.Errorf("compare after update: fatal %q, errors %q", f.fatal, f.errs)
	}
	// A different config now differs from what was written.
	f := runGolden(&tagger{}, `{"key":"env","value":"prod"}`, dir, false)
	if len(f.errs) != 2 {
		t.Fatalf("got %d errors, want one per batch: %q", len(f.errs), f.errs)
	}
	want := `resourceSpans[0].scopeSpans[0].spans[1].attributes["env"].stringValue: got "prod", want "dev"`
	if !strings.Contains(f.errs[0], want) || !strings.Contains(f.errs[0], "batch 0") || !strings.Contains(f.errs[1], "batch 1") {
		t.Errorf("errors %q, want them to contain %q", f.errs, want)
	}
}

// Attribute order, number spellings, hex case and snake_case keys are not
// differences; values are.
func TestGoldenSemanticComparison(t *testing.T) {
	same := `{"resource_spans":[{"resource":{"attributes":[{"key":"r","value":{"int_value":1}}]},"scopeSpans":[{"scope":{},"spans":[
 {"trace_id":"5B8EFFF798038103D269B633813FC60C","name":"a","attributes":[{"key":"y","value":{"doubleValue":"2.0"}},{"key":"x","value":{"stringValue":"1"}}],"status":{"code":0}},
 {"name":"b","kind":"SPAN_KIND_UNSPECIFIED"}]}]}]}`
	if f := runGolden(identity{}, "", writeCase(t, goldenIn, same), false); f.fatal != "" || len(f.errs) > 0 {
		t.Errorf("equal batches reported different: fatal %q, errors %q", f.fatal, f.errs)
	}

	cases := []struct {
		name, expected string
		want           []string
	}{
		{"changed value", strings.Replace(goldenIn, `"stringValue":"1"`, `"stringValue":"2"`, 1),
			[]string{`spans[0].attributes["x"].stringValue: got "1", want "2"`}},
		{"value type", strings.Replace(goldenIn, `{"doubleValue":2}`, `{"intValue":"2"}`, 1),
			[]string{`spans[0].attributes["y"].doubleValue: unexpected 2`, `spans[0].attributes["y"].intValue: missing, want "2"`}},
		{"missing attribute", strings.Replace(goldenIn, `{"key":"x","value":{"stringValue":"1"}},`, ``, 1),
			[]string{`spans[0].attributes["x"]: unexpected {"stringValue":"1"}`}},
		{"extra span", strings.Replace(goldenIn, `{"name":"b","status":{}}`, `{"name":"b","status":{}},{"name":"c","status":{}}`, 1),
			[]string{`resourceSpans[0].scopeSpans[0].spans: got 2 items, want 3`}},
		{"field", strings.Replace(goldenIn, `"name":"b"`, `"name":"b","kind":2`, 1),
			[]string{`spans[1].kind: missing, want 2`}},
		{"resource", strings.Replace(goldenIn, `"intValue":"1"`, `"intValue":"5"`, 1),
			[]string{`resourceSpans[0].resource.attributes["r"].intValue: got "1", want "5"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := runGolden(identity{}, "", writeCase(t, goldenIn, c.expected), false)
			if f.fatal != "" || len(f.errs) != 1 {
				t.Fatalf("fatal %q, errors %q; want one error", f.fatal, f.errs)
			}
			for _, w := range c.want {
				if !strings.Contains(f.errs[0], w) {
					t.Errorf("error %q\nwant it to contain %q", f.errs[0], w)
				}
			}
		})
	}
}

func TestGoldenFatal(t *testing.T) {
	cases := []struct {
		name, input, expected string
		filter                any
		want                  string
	}{
		{"missing expected", goldenIn, "", identity{}, "run go test with -update"},
		{"no batch", " \n", "", identity{}, "holds no batch"},
		{"no signal", `{}`, "", identity{}, "want exactly one of resourceSpans"},
		{"two signals", `{"resourceSpans":[],"resourceLogs":[]}`, "", identity{}, "want exactly one of"},
		{"not JSON", `{"resourceSpans":`, "", identity{}, "input.json"},
		{"filter error", goldenIn, goldenIn, failTraces{}, "batch 0: no traces today"},
		{"batch count", goldenIn, goldenIn + goldenIn, identity{}, "holds 2 batches, the filter produced 1"},
		{"bad expected", goldenIn, `{"resourceSpans":[{"oops":1}]}`, identity{}, `expected: sdktest: traces JSON: unknown field "oops"`},
		{"filter for another signal", goldenIn, goldenIn, dedup{}, "does not process traces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := runGolden(c.filter, "", writeCase(t, c.input, c.expected), false)
			if !strings.Contains(f.fatal, c.want) {
				t.Errorf("fatal %q, want it to contain %q", f.fatal, c.want)
			}
		})
	}
}

// A diff stops after maxDiffs lines and says how many it left out.
func TestGoldenDiffLimit(t *testing.T) {
	var spans, changed []string
	for i := range 30 {
		spans = append(spans, fmt.Sprintf(`{"name":"s%d","status":{}}`, i))
		changed = append(changed, fmt.Sprintf(`{"name":"t%d","status":{}}`, i))
	}
	batch := func(s []string) string {
		return `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[` + strings.Join(s, ",") + `]}]}]}`
	}
	f := runGolden(identity{}, "", writeCase(t, batch(spans), batch(changed)), false)
	if len(f.errs) != 1 || strings.Count(f.errs[0], "\n\t") != maxDiffs+1 || !strings.Contains(f.errs[0], "... and 10 more differences") {
		t.Errorf("errors %q", f.errs)
	}
}
