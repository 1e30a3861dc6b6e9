// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// nopLogs is the smallest filter, for tests of the host services.
type nopLogs struct{}

func (nopLogs) ProcessLogs(wasmcol.Logs) error { return nil }

func newHost(t *testing.T) *callHost {
	t.Helper()
	e, err := New(nopLogs{}, "")
	if err != nil {
		t.Fatal(err)
	}
	return &callHost{e: e}
}

func TestKVLimits(t *testing.T) {
	key256 := strings.Repeat("k", 256)
	val64k := bytes.Repeat([]byte{'v'}, 64<<10)
	cases := []struct {
		name string
		do   func(h *callHost) int32
		want int32
	}{
		{"key of 256 bytes", func(h *callHost) int32 { return h.KVSet(key256, []byte("v")) }, 0},
		{"key of 257 bytes", func(h *callHost) int32 { return h.KVSet(key256+"k", []byte("v")) }, abi.ErrTooLarge},
		{"empty key", func(h *callHost) int32 { return h.KVSet("", []byte("v")) }, abi.ErrTooLarge},
		{"empty key by CAS", func(h *callHost) int32 { return h.KVCAS("", nil, []byte("v")) }, abi.ErrTooLarge},
		{"value of 64 KiB", func(h *callHost) int32 { return h.KVSet("k", val64k) }, 0},
		{"value of 64 KiB + 1", func(h *callHost) int32 { return h.KVSet("k", append(val64k, 'v')) }, abi.ErrTooLarge},
		// Like the host, only writes check sizes, and CAS compares first.
		{"get with a long key", func(h *callHost) int32 { _, rc := h.KVGet(key256 + "k"); return rc }, abi.ErrNotFound},
		{"delete with a long key", func(h *callHost) int32 { return h.KVDelete(key256 + "k") }, 0},
		{"cas with a long key", func(h *callHost) int32 { return h.KVCAS(key256+"k", nil, nil) }, abi.ErrTooLarge},
		{"cas with a large value", func(h *callHost) int32 { return h.KVCAS("k", nil, append(val64k, 'v')) }, abi.ErrTooLarge},
		{"cas that would not swap a large value", func(h *callHost) int32 { return h.KVCAS("k", []byte("old"), append(val64k, 'v')) }, 0},
		{"get absent", func(h *callHost) int32 { _, rc := h.KVGet("absent"); return rc }, abi.ErrNotFound},
		{"delete absent", func(h *callHost) int32 { return h.KVDelete("absent") }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.do(newHost(t)); got != c.want {
				t.Errorf("got %d (%s), want %d (%s)", got, abi.ErrorText(got), c.want, abi.ErrorText(c.want))
			}
		})
	}
}

func TestKVEntryLimit(t *testing.T) {
	h := newHost(t)
	for i := range 10_000 {
		if rc := h.KVSet(fmt.Sprint(i), []byte{1}); rc != 0 {
			t.Fatalf("entry %d: %s", i, abi.ErrorText(rc))
		}
	}
	if rc := h.KVSet("one too many", nil); rc != abi.ErrTooLarge {
		t.Errorf("entry 10,001: got %d, want ErrTooLarge", rc)
	}
	if rc := h.KVCAS("one too many", nil, []byte{1}); rc != abi.ErrTooLarge {
		t.Errorf("entry 10,001 by CAS: got %d, want ErrTooLarge", rc)
	}
	if rc := h.KVSet("0", []byte("replaced")); rc != 0 {
		t.Errorf("replacing an entry of a full store: %s", abi.ErrorText(rc))
	}
	if rc := h.KVDelete("0"); rc != 0 {
		t.Fatal(abi.ErrorText(rc))
	}
	if rc := h.KVSet("one too many", nil); rc != 0 {
		t.Errorf("after a delete: %s", abi.ErrorText(rc))
	}
}

func TestKVSemantics(t *testing.T) {
	h := newHost(t)
	v := []byte("one")
	h.KVSet("k", v)
	v[0] = 'X' // the store copied it
	got, rc := h.KVGet("k")
	if rc != 0 || string(got) != "one" {
		t.Fatalf("get = %q, %d", got, rc)
	}
	got[0] = 'Y' // and hands out copies
	if again, _ := h.KVGet("k"); string(again) != "one" {
		t.Errorf("a caller's change leaked into the store: %q", again)
	}

	steps := []struct {
		name     string
		old, new []byte
		want     int32
		stored   string // "" with absent=true means gone
		absent   bool
	}{
		{"nil old on a present key", nil, []byte("two"), 0, "one", false},
		{"wrong old", []byte("nope"), []byte("two"), 0, "one", false},
		{"right old", []byte("one"), []byte("two"), 1, "two", false},
		{"empty new", []byte("two"), []byte{}, 1, "", false},
		{"empty old matches an empty value, not absence", []byte{}, []byte("three"), 1, "three", false},
	}
	for _, s := range steps {
		if rc := h.KVCAS("k", s.old, s.new); rc != s.want {
			t.Errorf("%s: CAS = %d, want %d", s.name, rc, s.want)
		}
		got, rc := h.KVGet("k")
		if rc != 0 || string(got) != s.stored {
			t.Errorf("%s: stored %q (%d), want %q", s.name, got, rc, s.stored)
		}
	}
	if rc := h.KVCAS("new", []byte{}, []byte("x")); rc != 0 {
		t.Errorf("empty old on an absent key swapped: %d", rc)
	}
	if rc := h.KVCAS("new", nil, []byte("x")); rc != 1 {
		t.Errorf("nil old on an absent key did not swap: %d", rc)
	}
	h.KVSet("empty", nil)
	if got, rc := h.KVGet("empty"); rc != 0 || len(got) != 0 {
		t.Errorf("an empty value reads as %q, %d; want present and empty", got, rc)
	}
}

func TestCounters(t *testing.T) {
	names := []struct {
		name string
		want int32
	}{
		{"requests", 0},
		{"a.b_c.9", 0},
		{strings.Repeat("x", 64), 0},
		{strings.Repeat("x", 65), abi.ErrArgument},
		{"", abi.ErrArgument},
		{"Upper", abi.ErrArgument},
		{"dash-ed", abi.ErrArgument},
		{"space d", abi.ErrArgument},
		{"ünï", abi.ErrArgument},
	}
	for _, c := range names {
		if got := newHost(t).CounterAdd(c.name, 1); got != c.want {
			t.Errorf("CounterAdd(%q) = %d, want %d", c.name, got, c.want)
		}
	}

	h := newHost(t)
	for i := range 64 {
		if rc := h.CounterAdd(fmt.Sprintf("c%d", i), int64(i)); rc != 0 {
			t.Fatalf("counter %d: %s", i, abi.ErrorText(rc))
		}
	}
	if rc := h.CounterAdd("c64", 1); rc != abi.ErrTooLarge {
		t.Errorf("65th name: got %d, want ErrTooLarge", rc)
	}
	if rc := h.CounterAdd("c3", -10); rc != 0 {
		t.Errorf("an existing name when full: %s", abi.ErrorText(rc))
	}
	got := h.e.Counters()
	if len(got) != 64 || got["c3"] != -7 || got["c63"] != 63 {
		t.Errorf("counters: %d names, c3=%d c63=%d", len(got), got["c3"], got["c63"])
	}
	got["c0"] = 99 // a copy
	if h.e.Counters()["c0"] != 0 {
		t.Error("Counters returned the live map")
	}
}

// Outside a batch (during Init) there are no tables to read or edit, and
// the OTLP escape hatch is not emulated.
func TestHostOutOfOrder(t *testing.T) {
	h := newHost(t)
	if rc := h.Len(abi.TableResource); rc != abi.ErrState {
		t.Errorf("Len during Init = %d, want ErrState", rc)
	}
	if _, rc := h.Column(abi.TableResource, abi.FieldAttrs, "", nil); rc != abi.ErrState {
		t.Errorf("Column during Init = %d, want ErrState", rc)
	}
	if rc := h.Edit(drop(abi.TableLog, 0)); rc != abi.ErrState {
		t.Errorf("Edit during Init = %d, want ErrState", rc)
	}
	if _, rc := h.OTLPGet(); rc != abi.ErrState {
		t.Errorf("OTLPGet = %d, want ErrState", rc)
	}
	if rc := h.OTLPSet([]byte{}); rc != abi.ErrState {
		t.Errorf("OTLPSet = %d, want ErrState", rc)
	}
}

func TestConfigAndLogs(t *testing.T) {
	if got := string(newHost(t).Config()); got != "{}" {
		t.Errorf("no config reads as %q, want {}", got)
	}
	e, err := New(nopLogs{}, `{"a": [1, 2]}`)
	if err != nil {
		t.Fatal(err)
	}
	h := &callHost{e: e}
	if got := string(h.Config()); got != `{"a": [1, 2]}` {
		t.Errorf("config %q", got)
	}
	h.Log(abi.LogDebug, "d")
	h.Log(abi.LogInfo, "ünï")
	h.Log(abi.LogWarn, "")
	h.Log(abi.LogError, "e")
	h.Log(7, "odd level")
	h.Log(abi.LogInfo, "trailing newlines\n\n")
	h.Log(abi.LogInfo, strings.Repeat("x", 3000))
	h.Fail("stray")
	want := []string{"debug: d", "info: ünï", "warn: ", "error: e", "info: odd level", "info: trailing newlines",
		"info: " + strings.Repeat("x", 2048), "fail: stray"}
	if got := e.LogLines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("log lines %q, want %q", got, want)
	}
	if _, err := New(nopLogs{}, `{"a":`); err == nil {
		t.Error("New accepted config that is not JSON")
	}
}
