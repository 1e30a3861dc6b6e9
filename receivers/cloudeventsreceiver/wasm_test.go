// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"context"
	"net/http"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wasmcol/wasmcol/internal/wasmtest"
	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
)

// TestWasmFilterSeesEvents runs the receiver into the real wasm processor
// on a logs pipeline, with a Go filter compiled from testdata/guests: the
// filter drops the heartbeats by type and redacts an extension attribute,
// reading the records through the SDK's logs API.
func TestWasmFilterSeesEvents(t *testing.T) {
	sink := new(consumertest.LogsSink)
	f := wasmprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"module": wasmtest.BuildGuest(t, "testdata/guests/eventfilter"),
		"config": map[string]any{
			"drop_types": []string{heartbeatType},
			"redact":     []string{ExtensionPrefix + "user"},
		},
	}).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	proc, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, proc.Shutdown(context.Background())) })
	r := start(t, proc, nil)

	a, b := flip("flip-a", "heads"), flip("flip-b", "tails")
	b.SetExtension("user", "someone@example.com")
	events := []event.Event{heartbeat("hb-1", 1), a, heartbeat("hb-2", 2), b}
	req, err := cehttp.NewHTTPRequestFromEvents(context.Background(), r.url, events)
	require.NoError(t, err)
	code, body := do(t, req)
	require.Equal(t, http.StatusAccepted, code, body)

	// A single event in binary mode goes the same way.
	res := ceClient(t, r.url).Send(context.Background(), heartbeat("hb-3", 3))
	require.True(t, cloudevents.IsACK(res), "send: %v", res)

	got := map[string]plog.LogRecord{}
	for _, ld := range sink.AllLogs() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				id, _ := lrs.At(j).Attributes().Get(AttrEventID)
				got[id.Str()] = lrs.At(j)
			}
		}
	}
	require.Len(t, got, 2, "only the two coinflip replies survive: %v", keys(got))
	require.Contains(t, got, "flip-a")
	require.Contains(t, got, "flip-b")
	user, ok := got["flip-b"].Attributes().Get(ExtensionPrefix + "user")
	require.True(t, ok)
	assert.Equal(t, "REDACTED", user.Str())
	_, ok = got["flip-a"].Attributes().Get(ExtensionPrefix + "user")
	assert.False(t, ok, "the filter adds nothing where there was nothing")
	res0, _ := got["flip-a"].Attributes().Get(ExtensionPrefix + "flip")
	assert.Equal(t, "heads", res0.Str(), "everything else passes through")
	assert.Equal(t, int64(7), got["flip-a"].Body().Map().AsRaw()["id"], "the body survives the filter")
}

func keys(m map[string]plog.LogRecord) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
