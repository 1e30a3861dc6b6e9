// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// costlyJSON is 180 KB of empty arrays in an array: as pdata, 60,000
// values of up to 128 bytes each, about 40 times its size.
var costlyJSON = "[" + strings.Repeat("[],", 60_000) + "[]]"

// TestSetJSONCostBounded: JSON is decoded only while what its values cost
// stays within the budget, and giving up costs about the budget; ordinary
// JSON is decoded whole.
func TestSetJSONCostBounded(t *testing.T) {
	var before, after runtime.MemStats
	v := pcommon.NewValueEmpty()
	budget := 256 << 10
	runtime.ReadMemStats(&before)
	err := setJSON(v, []byte(costlyJSON), &budget)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, errJSONTooCostly)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(3*256<<10))

	budget = 1 << 20
	doc := `{"result":"heads","flips":[` + strings.Repeat(`{"n":1,"side":"tails"},`, 100) + `{"n":2}]}`
	require.NoError(t, setJSON(v, []byte(doc), &budget))
	flips, ok := v.Map().Get("flips")
	require.True(t, ok)
	require.Equal(t, 101, flips.Slice().Len(), "decoded whole")
}

// TestStructuredBodiesBoundedPerRequest: the events of one request are
// decoded into structured bodies while they cost at most
// maxStructuredCost; from the event that passes it on, JSON data is kept
// as text, whole: what the attempt cost counts, so that a request cannot
// make every event try. (A 19 MiB batch of such data decoded into 307 MiB
// before.)
func TestStructuredBodiesBoundedPerRequest(t *testing.T) {
	restore := maxStructuredCost
	maxStructuredCost = 1 << 20
	defer func() { maxStructuredCost = restore }()
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)
	events := make([]event.Event, 3)
	for i, data := range []string{`{"a":1}`, costlyJSON, `{"b":2}`} {
		events[i] = cloudevents.NewEvent()
		events[i].SetID("e")
		events[i].SetType("t")
		events[i].SetSource("s")
		require.NoError(t, events[i].SetData(cloudevents.ApplicationJSON, []byte(data)))
	}
	req, err := cehttp.NewHTTPRequestFromEvents(context.Background(), r.url, events)
	require.NoError(t, err)
	code, body := do(t, req)
	require.Equal(t, http.StatusAccepted, code, body)
	recs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, recs.Len())
	require.Equal(t, pcommon.ValueTypeMap, recs.At(0).Body().Type())
	require.Equal(t, costlyJSON, recs.At(1).Body().Str(), "kept as text")
	require.Equal(t, `{"b":2}`, recs.At(2).Body().Str(), "the budget is spent")
}

// TestRecordsCostBoundedPerRequest: a request whose log records would cost
// more than maxRecordsCost (512 bytes a record, 160 an extension
// attribute) is refused whole, 413, before its records are built: a 19
// MiB batch of minimal events took 155 MiB as log records, one of events
// with 1,000 extensions each 172 MiB.
func TestRecordsCostBoundedPerRequest(t *testing.T) {
	restore := maxRecordsCost
	maxRecordsCost = 4 << 10
	defer func() { maxRecordsCost = restore }()
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)
	batch := func(n, extensions int) []event.Event {
		events := make([]event.Event, n)
		for i := range events {
			events[i] = cloudevents.NewEvent()
			events[i].SetID("e")
			events[i].SetType("t")
			events[i].SetSource("s")
			for j := range extensions {
				events[i].SetExtension(fmt.Sprintf("x%d", j), "v")
			}
		}
		return events
	}
	for _, c := range []struct {
		name               string
		events, extensions int
		code               int
	}{
		{"within", 4, 2, http.StatusAccepted},                        // 4 × (512 + 2 × 160) = 3,328
		{"many events", 9, 0, http.StatusRequestEntityTooLarge},      // 4,608
		{"many extensions", 2, 10, http.StatusRequestEntityTooLarge}, // 4,224
	} {
		req, err := cehttp.NewHTTPRequestFromEvents(context.Background(), r.url, batch(c.events, c.extensions))
		require.NoError(t, err)
		code, body := do(t, req)
		require.Equal(t, c.code, code, "%s: %s", c.name, body)
		if code != http.StatusAccepted {
			require.Contains(t, body, "would take more than 0 MiB as log records; nothing was accepted")
		}
	}
	require.Equal(t, 4, sink.LogRecordCount())
}
