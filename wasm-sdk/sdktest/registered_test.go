// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"strings"
	"testing"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// This test binary is a module holding two filters, as the built-ins are
// one holding four. The other tests pass their filters directly and never
// consult the registry.
func init() {
	wasmcol.RegisterAs("tag-a", marker("a"))
	wasmcol.RegisterAs("tag-b", marker("b"))
}

// marker sets filter=<its value> on every span.
type marker string

func (m marker) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		s.SetAttr("filter", wasmcol.Str(string(m)))
	}
	return nil
}

func TestRegisteredRunsTheNamedFilter(t *testing.T) {
	in := fixture(t, "traces.json")
	for _, name := range []string{"tag-a", "tag-b"} {
		f, err := Registered(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := Run(f, abi.SignalTraces, "", in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := `"filter","value":{"stringValue":"` + strings.TrimPrefix(name, "tag-") + `"}`
		if n, spans := strings.Count(string(out), want), load(t, abi.SignalTraces, in).length(abi.TableSpan); n != int(spans) || n == 0 {
			t.Errorf("%s: %d spans of %d carry %s", name, n, spans, want)
		}
	}
}

func TestRegisteredRefusesNamesTheModuleLacks(t *testing.T) {
	for name, want := range map[string]string{
		"":      "wasmcol: the host named none of this module's filters (tag-a, tag-b)",
		"tag-c": `wasmcol: this module holds no filter named "tag-c" (it holds tag-a, tag-b)`,
	} {
		f, err := Registered(name)
		if err == nil || err.Error() != want {
			t.Errorf("Registered(%q) = %v, %v; want the error %q", name, f, err, want)
		}
	}
}
