// SPDX-License-Identifier: Apache-2.0

package guestprof_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/internal/guestbuild"
	"github.com/wasmcol/wasmcol/internal/guestprof"
	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

func plugin(t *testing.T, ctx context.Context) *wasmhost.Plugin {
	t.Helper()
	return pluginOf(t, ctx, "tagger")
}

func pluginOf(t *testing.T, ctx context.Context, guest string) *wasmhost.Plugin {
	t.Helper()
	bin := guestbuild.Read(t, guestbuild.Go(t, "../wasmhost/testdata/guests/"+guest))
	p, err := wasmhost.New(ctx, wasmhost.Options{Source: guest, Module: bin, PoolSize: 1, Cache: wazero.NewCompilationCache()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// The split sees every process call and the host calls inside it, and
// its parts add up.
func TestSplit(t *testing.T) {
	ctx, split := guestprof.WithSplit(context.Background())
	p := plugin(t, ctx)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	split.Reset() // leave out anything init did
	td := benchdata.KnativeTraces(200)
	for range 5 {
		if _, err := p.ProcessTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	if split.Calls() != 5 {
		t.Errorf("saw %d process calls, want 5", split.Calls())
	}
	if split.HostCalls() < 5*2 { // at least len and column per batch
		t.Errorf("saw %d host calls in 5 batches", split.HostCalls())
	}
	if split.Process() <= 0 || split.Host() <= 0 || split.Host() > split.Process() {
		t.Errorf("process %v, host %v: want 0 < host <= process", split.Process(), split.Host())
	}
	var sum int64
	names := map[string]bool{}
	for _, h := range split.HostTimes() {
		sum += h.Calls
		names[h.Name] = true
	}
	if sum != split.HostCalls() || !names["wasmcol.column"] {
		t.Errorf("host times %v do not account for %d calls", split.HostTimes(), split.HostCalls())
	}
}

// Counts are exact: one process call per batch, the guest's functions by
// name.
func TestCounts(t *testing.T) {
	ctx, counts := guestprof.WithCounts(context.Background())
	p := plugin(t, ctx)
	counts.Reset()
	td := benchdata.KnativeTraces(100)
	for range 3 {
		if _, err := p.ProcessTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int64{}
	for _, c := range counts.Top(1 << 20) {
		got[c.Name] = c.Calls
	}
	if got["wasmcol.len"] < 3 || got["wasmcol.column"] < 3 {
		t.Errorf("host calls len %d, column %d in 3 batches", got["wasmcol.len"], got["wasmcol.column"])
	}
	found := false
	for name, n := range got {
		if n == 3 && name == "github.com_wasmcol_wasmcol_wasm_sdk.exportProcess" {
			found = true
		}
	}
	if !found {
		t.Errorf("the process export was not counted once per batch: %v", got)
	}
}

// Requests splits the host time by what each kernel call asks, read from
// its parameters and guest memory, and accounts for every host call.
func TestRequests(t *testing.T) {
	ctx, split := guestprof.WithSplit(context.Background())
	p := pluginOf(t, ctx, "kernels")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	split.Reset()
	td := benchdata.KnativeTraces(200)
	for range 3 {
		if _, err := p.ProcessTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	var calls int64
	var total time.Duration
	got := map[string]int64{}
	for _, r := range split.Requests() {
		calls += r.Calls
		total += r.Time
		got[r.Name] = r.Calls
	}
	if calls != split.HostCalls() || total != split.Host() {
		t.Errorf("requests add up to %d calls and %v, want %d and %v", calls, total, split.HostCalls(), split.Host())
	}
	// What the kernels test filter asks in every batch (see its Conds and
	// its groups).
	for _, want := range []string{
		`wasmcol.select span name prefix "broker:" and 2 more`,
		`wasmcol.select span name equal "x" and 2 more`,
		`wasmcol.select resource attr "service.name" present`,
		`wasmcol.group span name`,
		`wasmcol.group span attr "k1"`,
		`wasmcol.group resource attr "service.name"`,
		`wasmcol.len span`,
	} {
		if got[want] < 3 {
			t.Errorf("%s: %d calls in 3 batches; requests seen: %v", want, got[want], got)
		}
	}
}
