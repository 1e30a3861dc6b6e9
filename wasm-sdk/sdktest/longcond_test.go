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

// longConds marks spans with conditions of more values than the host takes
// in one call (abi.MaxKernelArgs), which the SDK asks in parts, through
// SpansWhere and through Where: span n is named "s<n>" in resource n.
type longConds struct{}

func (longConds) ProcessTraces(t wasmcol.Traces) error {
	var names []string
	var vals []wasmcol.Value
	var res []int
	for i := 0; i < 2*abi.MaxKernelArgs+10; i += 2 { // the even ones
		names = append(names, fmt.Sprint("s", i))
		vals = append(vals, wasmcol.Str(fmt.Sprint("s", i)))
		res = append(res, i)
	}
	all := t.SpansWhere(wasmcol.NameHasPrefix("s"))
	t.SpansWhere(wasmcol.NameIs(names...)).SetAttr("by.name", wasmcol.Bool(true))
	all.Where(wasmcol.NameIs(names...)).SetAttr("by.where", wasmcol.Bool(true))
	t.SpansWhere(wasmcol.ResourceIn(res...)).SetAttr("by.resource", wasmcol.Bool(true))
	t.SpansWhere(wasmcol.AttrIs("n", vals...)).SetAttr("by.attr", wasmcol.Bool(true))
	return nil
}

func TestConditionsLongerThanOneCall(t *testing.T) {
	const n = 2*abi.MaxKernelArgs + 20
	var b strings.Builder
	b.WriteString(`{"resourceSpans":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"name":"s%d","attributes":[{"key":"n","value":{"stringValue":"s%d"}}],"status":{}}]}]}`, i, i)
	}
	b.WriteString(`]}`)
	out, err := Run(longConds{}, abi.SignalTraces, "", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					Name       string
					Attributes []struct{ Key string }
				}
			}
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ResourceSpans) != n {
		t.Fatalf("%d resources out, want %d", len(doc.ResourceSpans), n)
	}
	for i, rs := range doc.ResourceSpans {
		s := rs.ScopeSpans[0].Spans[0]
		has := map[string]bool{}
		for _, a := range s.Attributes {
			has[a.Key] = true
		}
		want := i%2 == 0 && i < 2*abi.MaxKernelArgs+10
		for _, k := range []string{"by.name", "by.where", "by.resource", "by.attr"} {
			if has[k] != want {
				t.Errorf("span %s: %s is %v, want %v", s.Name, k, has[k], want)
			}
		}
	}
}

// TestRefineRefusesPerItem: Refine on an attribute refuses only when a
// selected item holds a value a column refuses (nested past the limit),
// and then leaves the selection as it came; Select refuses for any item.
// The host's TestAttrTestsRefuseAsTheColumn holds it to the same.
func TestRefineRefusesPerItem(t *testing.T) {
	deep := strings.Repeat(`{"kvlistValue":{"values":[{"key":"a","value":`, maxValueDepth+1) + `{"intValue":"1"}` + strings.Repeat(`}]}}`, maxValueDepth+1)
	in := `{"resourceSpans":[{"scopeSpans":[{"spans":[` +
		`{"name":"a","attributes":[{"key":"k","value":{"stringValue":"x"}}]},` +
		`{"name":"b","attributes":[{"key":"k","value":` + deep + `}]},` +
		`{"name":"c","attributes":[{"key":"k","value":{"stringValue":"v"}}]}]}]}]}`
	e, err := New(identity{}, "")
	if err != nil {
		t.Fatal(err)
	}
	h := &callHost{e: e, t: load(t, abi.SignalTraces, []byte(in))}
	v := abi.AppendStrValue(abi.AppendU32(nil, 1), "v")
	if rc := h.Select(abi.TableSpan, abi.FieldAttr, "k", abi.MatchEqual, v, make([]byte, 1)); rc != abi.ErrTooLarge {
		t.Errorf("select over a deep value: %d, want ErrTooLarge", rc)
	}
	for _, c := range []struct {
		sel, want byte
		rc        int32
	}{
		{0b101, 0b100, 1},               // the deep value not selected: answered
		{0b111, 0b111, abi.ErrTooLarge}, // selected, after a non-match: refused, sel as it came
		{0b010, 0b010, abi.ErrTooLarge},
	} {
		sel := []byte{c.sel}
		if rc := h.Refine(abi.TableSpan, abi.FieldAttr, "k", abi.MatchEqual, v, sel); rc != c.rc || sel[0] != c.want {
			t.Errorf("refine of %03b: %d and %03b, want %d and %03b", c.sel, rc, sel[0], c.rc, c.want)
		}
	}
}

// TestEditWhereTakesOneWholeEdit: the emulator refuses an edit_where
// operation that is not exactly one edit, as the host does (its
// TestEditWhereTakesOneWholeEdit), and stages nothing.
func TestEditWhereTakesOneWholeEdit(t *testing.T) {
	in := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"}]}]}]}`
	e, err := New(identity{}, "")
	if err != nil {
		t.Fatal(err)
	}
	h := &callHost{e: e, t: load(t, abi.SignalTraces, []byte(in))}
	set := abi.AppendStrValue(abi.AppendStr(abi.AppendEditHeader(nil, abi.OpSetAttr, abi.TableSpan, 0), "k"), "v")
	for name, op := range map[string][]byte{
		"trailing edit": append(append([]byte(nil), set...), abi.AppendEditHeader(nil, abi.OpDrop, abi.TableSpan, 0)...),
		"trailing junk": append(append([]byte(nil), set...), 0xEE),
		"cut short":     set[:len(set)-1],
		"unknown op":    abi.AppendEditHeader(nil, 9, abi.TableSpan, 0),
	} {
		if rc := h.EditWhere(op, []byte{3}); rc != abi.ErrEncoding || h.staged != 0 {
			t.Errorf("%s: edit_where answered %d, %d bytes staged", name, rc, h.staged)
		}
	}
	if rc := h.EditWhere(set, []byte{3}); rc != 2 {
		t.Errorf("one whole SetAttr on two spans: %d", rc)
	}
}
