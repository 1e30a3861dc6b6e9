// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"strings"
	"testing"

	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// These tests change the module's registry, which a real module fills
// once in init, so they run one after another and put it back.

type tracesOnly struct{ id string }

func (tracesOnly) ProcessTraces(Traces) error { return nil }

type logsOnly struct{}

func (logsOnly) ProcessLogs(Logs) error { return nil }

// naming answers filter_name; the registry's choice is what is tested, so
// no other host function is needed.
type naming struct {
	hostcall.Host
	name string
}

func (n naming) FilterName() string { return n.name }

func withRegistry(t *testing.T, fill func()) {
	t.Helper()
	saved, savedNamed, savedNameOf := registered, named, nameOf
	registered, named, nameOf = nil, nil, nil
	t.Cleanup(func() { registered, named, nameOf = saved, savedNamed, savedNameOf })
	fill()
}

func TestChooseOneFilterWhateverTheName(t *testing.T) {
	one := &tracesOnly{id: "one"}
	withRegistry(t, func() { Register(one) })
	for _, name := range []string{"", "knative-hops", "anything"} {
		f, err := chooseFilter(naming{name: name})
		if err != nil || f != one {
			t.Errorf("host names %q: got %v, %v; want the registered filter", name, f, err)
		}
	}
	if nameOf != nil {
		t.Error("Register alone set nameOf: a one-filter module would import filter_name")
	}
}

func TestChooseByName(t *testing.T) {
	a, b := &tracesOnly{id: "a"}, logsOnly{}
	withRegistry(t, func() {
		RegisterAs("a", a)
		RegisterAs("b-logs", b)
	})
	if f, err := chooseFilter(naming{name: "a"}); err != nil || f != a {
		t.Errorf("a: got %v, %v", f, err)
	}
	f, err := chooseFilter(naming{name: "b-logs"})
	if err != nil || f != any(b) {
		t.Errorf("b-logs: got %v, %v", f, err)
	}
	if got := signals(f); got != 4 {
		t.Errorf("signals of b-logs = %d, want logs (4)", got)
	}
}

func TestChooseRefusesUnknownAndMissingNames(t *testing.T) {
	withRegistry(t, func() {
		RegisterAs("zeta", &tracesOnly{})
		RegisterAs("alpha", &tracesOnly{})
	})
	for name, want := range map[string]string{
		"":      `the host named none of this module's filters (alpha, zeta)`,
		"beta":  `this module holds no filter named "beta" (it holds alpha, zeta)`,
		"Alpha": `no filter named "Alpha" (it holds alpha, zeta)`,
	} {
		f, err := chooseFilter(naming{name: name})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("host names %q: got %v, %v; want an error containing %q", name, f, err, want)
		}
	}
}

func TestChooseRefusesMixedRegistration(t *testing.T) {
	withRegistry(t, func() {
		RegisterAs("a", &tracesOnly{})
		Register(&tracesOnly{})
	})
	_, err := chooseFilter(naming{name: "a"})
	if err == nil || !strings.Contains(err.Error(), "both Register and RegisterAs") {
		t.Fatalf("got %v, want the mixing error", err)
	}
}

func TestChooseWithNothingRegistered(t *testing.T) {
	withRegistry(t, func() {})
	_, err := chooseFilter(naming{name: "a"})
	if err == nil || !strings.Contains(err.Error(), "no filter registered") {
		t.Fatalf("got %v, want the no-filter error", err)
	}
}

func TestRegisterAsPanicsOnMistakes(t *testing.T) {
	for what, c := range map[string]struct {
		call func()
		want string
	}{
		"an empty name":                {func() { RegisterAs("", &tracesOnly{}) }, "empty name"},
		"a repeated name":              {func() { RegisterAs("a", &tracesOnly{}); RegisterAs("a", logsOnly{}) }, `twice with the name "a"`},
		"a value that filters nothing": {func() { RegisterAs("a", struct{}{}) }, "implements none of"},
	} {
		t.Run(what, func(t *testing.T) {
			withRegistry(t, func() {})
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, c.want) {
					t.Errorf("RegisterAs with %s: panic %q, want one containing %q", what, msg, c.want)
				}
			}()
			c.call()
		})
	}
}
