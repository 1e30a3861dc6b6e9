// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// engineStats lists the live engines reachable from ps (their p.eng and
// their running generation's engine), with the type bytes each compiled.
func engineStats(ps []*Plugin) (n int, total int, desc string) {
	seen := map[*engine]bool{}
	for _, p := range ps {
		p.mu.Lock()
		es := []*engine{p.eng, p.gen.Load().eng}
		p.mu.Unlock()
		for _, e := range es {
			if seen[e] {
				continue
			}
			seen[e] = true
			engines.Lock()
			n++
			total += e.typeBytes
			desc += fmt.Sprintf(" [%p refs=%d typeBytes=%d modules=%d]", e, e.refs, e.typeBytes, len(e.modules))
			engines.Unlock()
		}
	}
	return
}

// A plugin leaving a full engine took whatever engine the cache's plugins
// shared then, without asking whether that one was full: K plugins leaving
// one full engine piled their next modules into the same new one. An
// author with K processors (K module sources, reload on) staggering the
// reloads left each plugin on a different engine, pinning there the types
// of the other plugins' dead modules: with K = 4, engines of 6.0, 4.5, 3.0
// and 1.5 MB of type sections, 10 modules' worth where 4 run, and +152 MiB
// of heap (review of attack round 28a).
func TestRenewIntoAFullEngineIsBounded(t *testing.T) {
	ctx := context.Background()
	small := watModule(t, filter(`(func $attack)`), false)
	const K, types = 4, 99_990
	ps := make([]*Plugin, K)
	for i := range ps {
		p, err := New(ctx, Options{Source: fmt.Sprintf("p%d", i), Module: small, PoolSize: 1})
		require.NoError(t, err)
		defer p.Close(ctx)
		ps[i] = p
	}
	seed := int64(5000)
	mod := func() []byte { seed++; return withTypes(t, small, seed, types) }
	// Warm-up, so that a reload's own buffers are in the baseline: one
	// plugin, one module of new types, then back.
	require.NoError(t, ps[0].Reload(ctx, mod()))
	require.NoError(t, ps[0].Reload(ctx, small))
	before := liveHeap()
	// Round r: plugins r..K-1 reload a module of new types each; plugin
	// r-1 stays where it is.
	for r := 0; r < K; r++ {
		for i := r; i < K; i++ {
			require.NoError(t, ps[i].Reload(ctx, mod()))
		}
	}
	after := liveHeap()
	n, total, desc := engineStats(ps)
	grew := int64(after) - int64(before)
	t.Logf("%d plugins, each now running one module of %d new types: live heap +%d MiB; %d engines, %d bytes of type sections compiled in them (%.1f modules' worth):%s",
		K, types, grew>>20, n, total, float64(total)/float64(sectionSize(mod(), secType)), desc)
	// K running modules are needed; the design allows each engine 1 MiB
	// plus one module (about 2 modules' worth here).
	for _, p := range ps {
		e := p.gen.Load().eng
		engines.Lock()
		tb := e.typeBytes
		engines.Unlock()
		require.LessOrEqual(t, tb, maxEngineTypeBytes+sectionSize(mod(), secType),
			"an engine holds more than 1 MiB + one module of types")
	}
	// The heap holds the K running modules themselves (their types twice,
	// in the store and in the compiled module, and their code): logged,
	// not bounded here. What must not be is a dead module's types.
	require.LessOrEqual(t, total, K*sectionSize(mod(), secType), "dead modules' types pinned in the engines")
}

// Processors loading the same module share its compilation, and its
// types, in one engine. The engine's room was checked before compile
// looked the module up, so a module of more than half of
// maxEngineTypeBytes of types was compiled again, in a runtime of its
// own, by every processor that loaded it: four processors, four engines
// and three more compilations (review of attack round 28a).
func TestSameModuleIsStillShared(t *testing.T) {
	ctx := context.Background()
	small := watModule(t, filter(`(func $attack)`), false)
	big := withTypes(t, small, 77, 45_000) // ~690 KB of types: fits 1 MiB alone
	t.Logf("type section %d bytes", sectionSize(big, secType))
	p0, err := New(ctx, Options{Source: "p0", Module: big, PoolSize: 1})
	require.NoError(t, err)
	defer p0.Close(ctx)
	before := liveHeap()
	c0 := compilesStarted.Load()
	const K = 4
	var ps []*Plugin
	for i := 1; i < K; i++ {
		p, err := New(ctx, Options{Source: fmt.Sprintf("p%d", i), Module: big, PoolSize: 1})
		require.NoError(t, err)
		defer p.Close(ctx)
		ps = append(ps, p)
	}
	after := liveHeap()
	n, _, desc := engineStats(append(ps, p0))
	t.Logf("%d more processors of the same module: live heap +%d MiB, %d compilations, %d engines:%s",
		K-1, (int64(after)-int64(before))>>20, compilesStarted.Load()-c0, n, desc)
	for i, p := range ps {
		require.Same(t, p0.gen.Load().module, p.gen.Load().module,
			"processor %d loading the same module compiled it again in another engine", i+1)
	}
}

// The same on a reload of the bytes already running, which took a new
// engine and compiled them again.
func TestReloadOfTheSameBytesKeepsItsEngine(t *testing.T) {
	ctx := context.Background()
	small := watModule(t, filter(`(func $attack)`), false)
	big := withTypes(t, small, 78, 45_000)
	p, err := New(ctx, Options{Source: "p", Module: big, PoolSize: 1})
	require.NoError(t, err)
	defer p.Close(ctx)
	g0 := p.gen.Load()
	before := compilesStarted.Load()
	require.NoError(t, p.Reload(ctx, big))
	g1 := p.gen.Load()
	t.Logf("compilations started by the reload of the same bytes: %d; same engine: %v", compilesStarted.Load()-before, g0.eng == g1.eng)
	require.Same(t, g0.eng, g1.eng, "the reload of the running bytes moved to a new engine")
}

// Two reloads at once on one plugin. One replaced the engine and dropped
// the plugin's hold on the old while the other still compiled there, and
// Plugin.engine had handed that one the engine without a hold of its own:
// once the first retired the generation running on the old engine, the
// runtime closed under the second's start, "runtime closed with
// exit_code(0)" in 2 rounds of 3 (review of attack round 28a).
func TestConcurrentReloadsKeepTheirEngine(t *testing.T) {
	ctx := context.Background()
	small := watModule(t, filter(`(func $attack)`), false)
	mid := withTypes(t, small, 90, 40_000) // ~600 KB of types
	var fails []error
	for round := 0; round < 3; round++ {
		p, err := New(ctx, Options{Source: "c", Module: mid, PoolSize: 1})
		require.NoError(t, err)
		// A module slow to compile, with few types (fits the engine),
		// and one of new types (does not fit: renews).
		pads := ""
		for i := 0; i < 5; i++ {
			pads += fmt.Sprintf("(func $pad%d_%d %s)", round, i, bigBody(100_000))
		}
		slow := watModule(t, filter(`(func $attack) `+pads), false)
		renewing := withTypes(t, small, int64(91+round), 30_000)
		var wg sync.WaitGroup
		var e1, e2 error
		var d1, d2 time.Duration
		wg.Add(2)
		go func() { defer wg.Done(); b := time.Now(); e1 = p.Reload(ctx, slow); d1 = time.Since(b) }()
		time.Sleep(50 * time.Millisecond)
		go func() { defer wg.Done(); b := time.Now(); e2 = p.Reload(ctx, renewing); d2 = time.Since(b) }()
		wg.Wait()
		t.Logf("round %d: slow reload %v: %v; renewing reload %v: %v", round, d1, e1, d2, e2)
		if e1 != nil {
			fails = append(fails, e1)
		}
		if e2 != nil {
			fails = append(fails, e2)
		}
		_, perr := p.ProcessTraces(ctx, oneSpan())
		if perr != nil {
			fails = append(fails, fmt.Errorf("process after: %w", perr))
		}
		require.NoError(t, p.Close(ctx))
	}
	require.Empty(t, fails, "concurrent reloads of valid modules failed")
}

// bigBody is a function body of n i32 additions, slow to compile.
func bigBody(n int) string {
	b := []byte("(local $x i32) ")
	for i := 0; i < n; i++ {
		b = append(b, "(local.set $x (i32.add (local.get $x) (i32.const 1))) "...)
	}
	return string(b)
}
