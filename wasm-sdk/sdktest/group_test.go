// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// grouper groups every span by name (more names than one group call
// takes) and by the attribute v, and stops ByName's loop early once.
type grouper struct{}

func (grouper) ProcessTraces(t wasmcol.Traces) error {
	all := t.SpansWhere(wasmcol.NameHasPrefix(""))
	k := 0
	for name, spans := range all.ByName() {
		spans.SetAttr("name", wasmcol.Str(name))
		spans.SetAttr("order", wasmcol.Int(int64(k)))
		k++
	}
	k = 0
	for _, spans := range all.ByName() {
		if k == 5 {
			break
		}
		spans.SetAttr("first5", wasmcol.Bool(true))
		k++
	}
	for v, spans := range all.ByAttr("v") {
		spans.SetAttr("v.group", v)
	}
	return nil
}

// TestGroupByNameAndAttr: ByName visits every name once, in order of first
// appearance, with exactly its spans, across the several host calls 70
// names take; ByAttr tells values apart by kind and leaves out absent,
// map and array values; breaking out of the loop stops it.
func TestGroupByNameAndAttr(t *testing.T) {
	const n, names = 300, 70
	values := []string{`{"stringValue":"1"}`, `{"intValue":"1"}`, `{"doubleValue":1}`, `{"boolValue":true}`,
		`{"bytesValue":"MQ=="}`, `{"kvlistValue":{}}`, `{"arrayValue":{}}`}
	var b strings.Builder
	b.WriteString(`{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		attrs := ""
		if j := i % (len(values) + 1); j < len(values) {
			attrs = `{"key":"v","value":` + values[j] + `}`
		}
		fmt.Fprintf(&b, `{"name":"n%d","attributes":[%s],"status":{}}`, (i*11)%names, attrs)
	}
	b.WriteString(`]}]}]}`)
	out, err := Run(grouper{}, abi.SignalTraces, "", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					Name       string
					Attributes []struct {
						Key   string
						Value map[string]any
					}
				}
			}
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	order := map[string]int{}
	for i, s := range doc.ResourceSpans[0].ScopeSpans[0].Spans {
		if _, ok := order[s.Name]; !ok {
			order[s.Name] = len(order)
		}
		got := map[string]string{}
		for _, a := range s.Attributes {
			v, _ := json.Marshal(a.Value)
			got[a.Key] = string(v)
		}
		if want := fmt.Sprintf(`{"stringValue":%q}`, s.Name); got["name"] != want {
			t.Errorf("span %d: grouped under %s, want %s", i, got["name"], want)
		}
		if want := fmt.Sprintf(`{"intValue":"%d"}`, order[s.Name]); got["order"] != want {
			t.Errorf("span %d (%s): group %s, want %s", i, s.Name, got["order"], want)
		}
		if first := order[s.Name] < 5; first != (got["first5"] != "") {
			t.Errorf("span %d (%s, group %d): first5 is %q", i, s.Name, order[s.Name], got["first5"])
		}
		j := i % (len(values) + 1)
		if wantV := j < 5; wantV != (got["v.group"] != "") || wantV && got["v.group"] != got["v"] {
			t.Errorf("span %d: v %s grouped under %q", i, got["v"], got["v.group"])
		}
	}
	if len(order) != names {
		t.Fatalf("%d names, want %d", len(order), names)
	}
}

// TestGroupClearsBytesPastN: a sel_len longer than ceil(n/8), as the
// SDK's words make it, leaves no bit set past n once every item is
// grouped, as ABI.md says and the host does (TestGroupAgreesWithTheABI).
func TestGroupClearsBytesPastN(t *testing.T) {
	in := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"},{"name":"a"}]}]}]}`
	e, err := New(identity{}, "")
	if err != nil {
		t.Fatal(err)
	}
	h := &callHost{e: e, t: load(t, abi.SignalTraces, []byte(in))}
	sel := []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	out := make([]byte, 2*len(sel))
	if _, k := h.Group(abi.TableSpan, abi.FieldName, "", sel, out, nil); k != 2 {
		t.Fatalf("group: %d, want 2", k)
	}
	if want := make([]byte, 8); string(sel) != string(want) {
		t.Errorf("every span grouped, sel left %x", sel)
	}
	if out[0] != 0b101 || out[8] != 0b010 {
		t.Errorf("bitmaps %x", out)
	}
}
