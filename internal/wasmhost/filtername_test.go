// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/internal/guestbuild"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// The bundle guest holds two filters, "tag" (traces) and "logs" (logs),
// and runs the one Options.FilterName names, through filter_name.

func newNamed(t *testing.T, bin []byte, name, config string) (*Plugin, error) {
	t.Helper()
	p, err := New(context.Background(), Options{Source: "bundle", Module: bin, FilterName: name, Config: []byte(config), PoolSize: 1})
	if err == nil {
		t.Cleanup(func() { _ = p.Close(context.Background()) })
	}
	return p, err
}

func oneSpan() ptrace.Traces {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
	return td
}

func spanTag(t *testing.T, td ptrace.Traces) string {
	t.Helper()
	v, ok := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("bundle")
	require.True(t, ok, "the span has no bundle attribute")
	return v.Str()
}

func TestFilterNameChoosesTheFilter(t *testing.T) {
	bin := guestbuild.Read(t, guestbuild.Go(t, "testdata/guests/bundle"))
	ctx := context.Background()

	tag, err := newNamed(t, bin, "tag", `{"value":"configured"}`)
	require.NoError(t, err)
	assert.Equal(t, int32(abi.SignalTraces), tag.Signals(), "the signals are the named filter's")
	out, err := tag.ProcessTraces(ctx, oneSpan())
	require.NoError(t, err)
	assert.Equal(t, "configured", spanTag(t, out), "the named filter ran, with its config")

	logs, err := newNamed(t, bin, "logs", "")
	require.NoError(t, err)
	assert.Equal(t, int32(abi.SignalLogs), logs.Signals())
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("r")
	outLogs, err := logs.ProcessLogs(ctx, ld)
	require.NoError(t, err)
	v, _ := outLogs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("bundle")
	assert.Equal(t, "logs", v.Str())

	// One module, so one compilation and one copy of its code, whatever
	// filter each plugin runs.
	assert.Same(t, tag.gen.Load().module, logs.gen.Load().module)
	assert.Same(t, tag.eng, logs.eng)
}

func TestFilterNameUnknownOrMissingFailsTheStart(t *testing.T) {
	bin := guestbuild.Read(t, guestbuild.Go(t, "testdata/guests/bundle"))
	for name, want := range map[string]string{
		"":     "bundle: init failed: wasmcol: the host named none of this module's filters (logs, tag)",
		"nope": `bundle: init failed: wasmcol: this module holds no filter named "nope" (it holds logs, tag)`,
	} {
		_, err := newNamed(t, bin, name, "")
		require.Error(t, err, "FilterName %q", name)
		assert.Contains(t, err.Error(), want)
	}
}

// A module of one filter runs it whatever the host names, and does not
// even import filter_name: built with this SDK, it still runs on a host
// that predates the import.
func TestFilterNameOneFilterModule(t *testing.T) {
	noop := guestbuild.Read(t, guestbuild.Go(t, "testdata/guests/noop"))
	p, err := newNamed(t, noop, "knative-hops", "")
	require.NoError(t, err)
	assert.Equal(t, int32(abi.SignalTraces|abi.SignalMetrics|abi.SignalLogs), p.Signals())
	_, err = p.ProcessTraces(context.Background(), oneSpan())
	require.NoError(t, err)

	bundle := guestbuild.Read(t, guestbuild.Go(t, "testdata/guests/bundle"))
	assert.False(t, importsFilterName(t, noop), "a Register module imports filter_name")
	assert.True(t, importsFilterName(t, bundle), "a RegisterAs module does not import filter_name")
}

func importsFilterName(t *testing.T, bin []byte) bool {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	m, err := r.CompileModule(ctx, bin)
	require.NoError(t, err)
	for _, fn := range m.ImportedFunctions() {
		if mod, name, _ := fn.Import(); mod == abi.ModuleName && name == abi.FuncFilterName {
			return true
		}
	}
	return false
}
