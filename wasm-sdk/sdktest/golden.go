// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Update makes Golden write expected.json instead of comparing with it:
//
//	go test ./... -update
//
// # Notes
//   - sdktest registers the -update flag. A test package that already
//     defines its own -update panics with "flag redefined"; read
//     sdktest.Update there instead.
var Update = flag.Bool("update", false, "sdktest: write the golden expected.json files instead of comparing")

// Golden runs filter on dir/input.json and compares the result with
// dir/expected.json.
//
//	func TestTagger(t *testing.T) {
//		sdktest.Golden(t, &tagger{}, `{"key":"env"}`, "testdata/tag_env")
//	}
//
// # Notes
//   - The signal is inferred from input.json's top-level key:
//     resourceSpans, resourceMetrics or resourceLogs.
//   - input.json may hold several batches back to back, such as the lines
//     of a file exporter's output. They run in order through one Emulator,
//     so the key-value store and counters carry over, and expected.json
//     holds one result per batch.
//   - The comparison is semantic: attribute order is ignored, and fields
//     are compared as OTLP values, so "5" and 5, or upper- and lowercase
//     hex IDs, are equal. Differences are reported by path.
//   - With -update (see Update) it writes expected.json, indented, instead.
//   - A filter error or invalid input fails the test.
func Golden(t testing.TB, filter any, configJSON string, dir string) {
	t.Helper()
	golden(t, filter, configJSON, dir, *Update)
}

func golden(t testing.TB, filter any, configJSON, dir string, update bool) {
	t.Helper()
	inPath := filepath.Join(dir, "input.json")
	wantPath := filepath.Join(dir, "expected.json")
	in, err := os.ReadFile(inPath)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	batches, err := splitJSON(in)
	if err != nil {
		t.Fatalf("sdktest: %s: %v", inPath, err)
	}
	if len(batches) == 0 {
		t.Fatalf("sdktest: %s holds no batch", inPath)
	}
	e, err := New(filter, configJSON)
	if err != nil {
		t.Fatalf("sdktest: New: %v", err)
	}
	var got [][]byte
	var signals []int32
	for i, b := range batches {
		signal, err := inferSignal(b)
		if err != nil {
			t.Fatalf("sdktest: %s: batch %d: %v", inPath, i, err)
		}
		out, err := e.process(signal, b)
		if err != nil {
			t.Fatalf("sdktest: %s: batch %d: %v", inPath, i, err)
		}
		got = append(got, out)
		signals = append(signals, signal)
	}

	if update {
		var buf bytes.Buffer
		for _, out := range got {
			if err := json.Indent(&buf, out, "", "  "); err != nil {
				t.Fatalf("sdktest: %v", err)
			}
			buf.WriteByte('\n')
		}
		if err := os.WriteFile(wantPath, buf.Bytes(), 0o644); err != nil {
			t.Fatalf("sdktest: %v", err)
		}
		t.Logf("sdktest: wrote %s", wantPath)
		return
	}

	wantRaw, err := os.ReadFile(wantPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("sdktest: %s is missing; run go test with -update to write it", wantPath)
	}
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	want, err := splitJSON(wantRaw)
	if err != nil {
		t.Fatalf("sdktest: %s: %v", wantPath, err)
	}
	if len(want) != len(got) {
		t.Fatalf("sdktest: %s holds %d batches, the filter produced %d", wantPath, len(want), len(got))
	}
	for i := range got {
		diffs, err := compareBatch(signals[i], want[i], got[i])
		if err != nil {
			t.Fatalf("sdktest: %s: batch %d: %v", wantPath, i, err)
		}
		if len(diffs) > 0 {
			t.Errorf("sdktest: batch %d differs from %s (run go test with -update to accept it):\n\t%s",
				i, wantPath, strings.Join(diffs, "\n\t"))
		}
	}
}

// splitJSON splits a stream of JSON values, such as JSON lines.
func splitJSON(b []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []json.RawMessage
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// inferSignal reads a batch's signal from its top-level key.
func inferSignal(b []byte) (int32, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return 0, err
	}
	var found []int32
	for k := range top {
		switch camel(k) {
		case "resourceSpans":
			found = append(found, abi.SignalTraces)
		case "resourceMetrics":
			found = append(found, abi.SignalMetrics)
		case "resourceLogs":
			found = append(found, abi.SignalLogs)
		}
	}
	if len(found) != 1 {
		return 0, errors.New("want exactly one of resourceSpans, resourceMetrics, resourceLogs at the top level")
	}
	return found[0], nil
}

// compareBatch lists the differences between two batches of one signal,
// as paths; none means equal.
func compareBatch(signal int32, want, got []byte) ([]string, error) {
	w, err := canonical(signal, want)
	if err != nil {
		return nil, fmt.Errorf("expected: %w", err)
	}
	g, err := canonical(signal, got)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	var d differ
	d.diff("", w, g)
	if d.more > 0 {
		d.lines = append(d.lines, fmt.Sprintf("... and %d more differences", d.more))
	}
	return d.lines, nil
}

// canonical is a batch as a generic tree in which every spelling of a
// value has become one (via the model) and every attribute list has become
// a kvMap, so that order does not matter and paths name keys.
func canonical(signal int32, b []byte) (any, error) {
	var doc any
	var err error
	switch signal {
	case abi.SignalTraces:
		doc, err = parseTraces(b)
	case abi.SignalMetrics:
		doc, err = parseMetrics(b)
	default:
		doc, err = parseLogs(b)
	}
	if err != nil {
		return nil, err
	}
	norm, err := encodeOTLP(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(norm))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return kvMaps(tree, ""), nil
}

// kvMap is an attribute list keyed by attribute key. A repeated key gets
// a "#2", "#3" suffix so that no attribute is lost from the comparison.
type kvMap map[string]any

// kvListFields are the OTLP fields that hold a list of KeyValue.
var kvListFields = map[string]bool{"attributes": true, "filteredAttributes": true, "metadata": true}

func kvMaps(v any, field string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "kvlistValue" {
				if inner, ok := e.(map[string]any); ok {
					if vals, ok := inner["values"]; ok {
						inner["values"] = kvMaps(vals, "attributes")
					}
					continue
				}
			}
			v[k] = kvMaps(e, k)
		}
		return v
	case []any:
		if !kvListFields[field] {
			for i, e := range v {
				v[i] = kvMaps(e, "")
			}
			return v
		}
		m := kvMap{}
		for _, e := range v {
			kv, _ := e.(map[string]any)
			key, _ := kv["key"].(string)
			name := key
			for n := 2; ; n++ {
				if _, dup := m[name]; !dup {
					break
				}
				name = key + "#" + strconv.Itoa(n)
			}
			m[name] = kvMaps(kv["value"], "")
		}
		return m
	}
	return v
}

// differ collects the first differences between two trees.
type differ struct {
	lines []string
	more  int
}

const maxDiffs = 20

func (d *differ) add(format string, args ...any) {
	if len(d.lines) >= maxDiffs {
		d.more++
		return
	}
	d.lines = append(d.lines, fmt.Sprintf(format, args...))
}

func (d *differ) diff(path string, want, got any) {
	switch w := want.(type) {
	case map[string]any:
		if g, ok := got.(map[string]any); ok {
			d.diffMaps(path, w, g, func(k string) string { return join(path, k) })
			return
		}
	case kvMap:
		if g, ok := got.(kvMap); ok {
			d.diffMaps(path, w, g, func(k string) string { return path + "[" + strconv.Quote(k) + "]" })
			return
		}
	case []any:
		if g, ok := got.([]any); ok {
			if len(w) != len(g) {
				d.add("%s: got %d items, want %d", orTop(path), len(g), len(w))
			}
			for i := range min(len(w), len(g)) {
				d.diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
			}
			return
		}
	default:
		if render(want) == render(got) {
			return
		}
	}
	d.add("%s: got %s, want %s", orTop(path), render(got), render(want))
}

func (d *differ) diffMaps(path string, w, g map[string]any, sub func(string) string) {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range w {
			if !yield(k) {
				return
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok && !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		wv, inW := w[k]
		gv, inG := g[k]
		switch {
		case !inG:
			d.add("%s: missing, want %s", sub(k), render(wv))
		case !inW:
			d.add("%s: unexpected %s", sub(k), render(gv))
		default:
			d.diff(sub(k), wv, gv)
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orTop(path string) string {
	if path == "" {
		return "(batch)"
	}
	return path
}

// render is a short JSON rendering of a tree for a difference report.
func render(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if len(s) > 200 {
		s = s[:200] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
