// SPDX-License-Identifier: Apache-2.0

package wasmhost_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/benchdata"
	"github.com/wasmcol/wasmcol/internal/testfilters/kernels"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

// TestKernelsEmulatorMatchesHost runs the kernels filter in sdktest's
// emulator and compiled under the real host on randomized batches of every
// signal, and requires identical output: the emulator's kernels are a
// second implementation of the same ABI.
func TestKernelsEmulatorMatchesHost(t *testing.T) {
	p := newPlugin(t, "kernels", 1)
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("traces/%d", seed), func(t *testing.T) {
			in := benchdata.RandomTraces(seed, 200)
			js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(in)
			require.NoError(t, err)
			emuJSON, err := sdktest.Run(kernels.Filter{}, abi.SignalTraces, "{}", js)
			require.NoError(t, err)
			emu, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(emuJSON)
			require.NoError(t, err)
			host, err := p.ProcessTraces(context.Background(), in)
			require.NoError(t, err)
			require.NoError(t, ptracetest.CompareTraces(emu, host))
		})
		t.Run(fmt.Sprintf("metrics/%d", seed), func(t *testing.T) {
			in := benchdata.RandomMetrics(seed, 30)
			js, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(in)
			require.NoError(t, err)
			emuJSON, err := sdktest.Run(kernels.Filter{}, abi.SignalMetrics, "{}", js)
			require.NoError(t, err)
			emu, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(emuJSON)
			require.NoError(t, err)
			host, err := p.ProcessMetrics(context.Background(), in)
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(emu, host))
		})
		t.Run(fmt.Sprintf("logs/%d", seed), func(t *testing.T) {
			in := benchdata.RandomLogs(seed, 100)
			js, err := (&plog.JSONMarshaler{}).MarshalLogs(in)
			require.NoError(t, err)
			emuJSON, err := sdktest.Run(kernels.Filter{}, abi.SignalLogs, "{}", js)
			require.NoError(t, err)
			emu, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(emuJSON)
			require.NoError(t, err)
			host, err := p.ProcessLogs(context.Background(), in)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(emu, host))
		})
	}
}

// wantConds computes, from pdata and independently of the SDK and the
// host, which of the filter's conditions a span meets.
func wantConds(s ptrace.Span, resource int, res pcommon.Map) map[string]bool {
	c := wantConds1(s, resource)
	for name, r := range kernels.Refined {
		c[name] = c[r[0]] && c[r[1]]
	}
	_, has := res.Get("k0")
	svc, ok := res.Get("service.name")
	c["res"] = false
	for _, p := range kernels.ResourcePrefixes {
		c["res"] = c["res"] || has && ok && svc.Type() == pcommon.ValueTypeStr && strings.HasPrefix(svc.Str(), p)
	}
	return c
}

func wantConds1(s ptrace.Span, resource int) map[string]bool {
	a := s.Attributes()
	k1, ok1 := a.Get("k1")
	k2, ok2 := a.Get("k2")
	_, has := a.Get("k0")
	equal := false
	if !ok1 {
		k1 = pcommon.NewValueEmpty()
	}
	if !ok2 {
		k2 = pcommon.NewValueEmpty()
	}
	switch k1.Type() {
	case pcommon.ValueTypeBool:
		equal = k1.Bool()
	case pcommon.ValueTypeStr:
		equal = k1.Str() == "x"
	case pcommon.ValueTypeInt:
		equal = k1.Int() == 0
	case pcommon.ValueTypeDouble:
		equal = k1.Double() == 0
	}
	name := s.Name()
	return map[string]bool{
		"prefix":   strings.HasPrefix(name, "broker:") || strings.HasPrefix(name, "/triggers/") || strings.HasPrefix(name, "ünï"),
		"name":     name == "x" || name == "" || name == "tab\tnew\nline",
		"kind":     s.Kind() == ptrace.SpanKindServer || s.Kind() == ptrace.SpanKindClient,
		"has":      has,
		"equal":    equal,
		"attrpre":  k2.Type() == pcommon.ValueTypeStr && (strings.HasPrefix(k2.Str(), "broker") || strings.HasPrefix(k2.Str(), "/")),
		"resource": resource == 0 || resource == 2 || resource == 5,
	}
}

// TestKernelSelectionsMatchPdata checks every selection the host computed,
// as the filter marked it, against the conditions evaluated on pdata, and
// every value copy_attr made against its source.
func TestKernelSelectionsMatchPdata(t *testing.T) {
	p := newPlugin(t, "kernels", 1)
	for seed := uint64(1); seed <= 5; seed++ {
		in := benchdata.RandomTraces(seed, 300)
		out := ptrace.NewTraces()
		in.CopyTo(out)
		out, err := p.ProcessTraces(context.Background(), out)
		require.NoError(t, err)
		got := map[pcommon.SpanID]ptrace.Span{}
		for _, rs := range out.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					got[s.SpanID()] = s
				}
			}
		}
		seen := map[string]int{}
		order := map[string]int{} // each name's group, in order of first appearance
		k1s := map[string]bool{}
		for _, rs := range in.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					if _, ok := order[s.Name()]; !ok {
						order[s.Name()] = len(order)
					}
					if k1, ok := s.Attributes().Get("k1"); ok && groupable(k1) {
						k1s[k1.Type().String()+":"+k1.AsString()] = true
					}
				}
			}
		}
		require.Greater(t, len(k1s), 32, "seed %d: too few values of k1 to need two group calls", seed)
		groupedK1 := 0
		// Resources whose spans were all dropped are gone from out: each
		// is checked against its own service.name, which the filter keeps.
		for ri, rs := range out.ResourceSpans().All() {
			svc, ok := rs.Resource().Attributes().Get("service.name")
			o, marked := rs.Resource().Attributes().Get(kernels.GroupMark + "svc")
			svc, o = orEmpty(svc, ok), orEmpty(o, marked)
			require.Equal(t, ok && groupable(svc), marked, "seed %d resource %d", seed, ri)
			require.True(t, !marked || svc.Equal(o), "seed %d resource %d: grouped under %s %q, has %s %q", seed, ri, o.Type(), o.AsString(), svc.Type(), svc.AsString())
		}
		for ri, rs := range in.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					want := wantConds(s, ri, rs.Resource().Attributes())
					o, kept := got[s.SpanID()]
					if !kept {
						require.True(t, s.Name() == "tab\tnew\nline" && !want["kind"], "span %q dropped", s.Name())
						continue
					}
					for name, w := range want {
						_, marked := o.Attributes().Get(kernels.Mark + name)
						require.Equal(t, w, marked, "seed %d span %q condition %s", seed, s.Name(), name)
						if w {
							seen[name]++
						}
					}
					name, _ := o.Attributes().Get(kernels.GroupMark + "name")
					require.Equal(t, s.Name(), name.AsRaw(), "seed %d: span grouped under another name", seed)
					at, _ := o.Attributes().Get(kernels.GroupMark + "order")
					require.Equal(t, int64(order[s.Name()]), at.AsRaw(), "seed %d span %q: group out of order", seed, s.Name())
					k1, ok := s.Attributes().Get("k1")
					got, marked := o.Attributes().Get(kernels.GroupMark + "k1")
					k1, got = orEmpty(k1, ok), orEmpty(got, marked)
					require.Equal(t, ok && groupable(k1), marked, "seed %d span %q: k1 %s", seed, s.Name(), k1.AsString())
					require.True(t, !marked || k1.Equal(got), "seed %d: grouped under k1 = %s, has %s", seed, got.AsString(), k1.AsString())
					if marked {
						groupedK1++
					}
					if v, ok := s.Attributes().Get("k0"); ok && v.Type() != pcommon.ValueTypeMap && v.Type() != pcommon.ValueTypeSlice {
						c, ok := o.Attributes().Get("k0.copy")
						require.True(t, ok, "seed %d: k0 not copied", seed)
						require.True(t, v.Equal(c), "seed %d: k0 copied as %s, want %s", seed, c.AsString(), v.AsString())
					}
				}
			}
		}
		for name := range kernels.Conds {
			require.Positive(t, seen[name], "seed %d: no span meets %s, the check proves nothing", seed, name)
		}
		for name := range kernels.Refined {
			require.Positive(t, seen[name], "seed %d: no span meets %s, the check proves nothing", seed, name)
		}
		require.Positive(t, seen["res"], "seed %d: no resource selected", seed)
		require.Positive(t, groupedK1, "seed %d: no span grouped by k1", seed)
	}
}

// orEmpty is v, or an Empty value where v is absent, for messages.
func orEmpty(v pcommon.Value, ok bool) pcommon.Value {
	if !ok {
		return pcommon.NewValueEmpty()
	}
	return v
}

// groupable reports a value group files: any but a map or an array.
func groupable(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice, pcommon.ValueTypeEmpty:
		return false
	}
	return true
}
