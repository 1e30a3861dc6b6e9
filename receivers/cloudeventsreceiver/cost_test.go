// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

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

// heapPeak runs f and returns how far HeapInuse rose above where it was,
// sampled every 2 ms.
func heapPeak(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-stopped
	return peak - base
}

// TestBatchOfTinyElementsRefusedEarly: a 20 MiB batch of ten million
// zeros was split whole, one copy and one slot each, before its cost was
// reckoned: 1.1 GiB of heap and 7 s for one request, and sixteen at once
// ended the process. Splitting stops past the most events the records
// budget allows.
func TestBatchOfTinyElementsRefusedEarly(t *testing.T) {
	r := start(t, consumertest.NewNop(), nil)
	body := "[" + strings.Repeat("0,", 10_000_000-1) + "0]" // 20,000,001 bytes
	var code int
	var answer string
	grew := heapPeak(func() {
		code, answer = post(t, r.url, map[string]string{"Content-Type": "application/cloudevents-batch+json"}, body)
	})
	require.Equal(t, http.StatusRequestEntityTooLarge, code, answer)
	require.Contains(t, answer, "the batch holds more than 131072 events")
	// The body itself is 20 MiB, read once and checked once.
	t.Logf("the heap grew by %d MiB", grew>>20)
	require.Less(t, grew, uint64(160<<20), "the heap grew by %d MiB", grew>>20)
}

// TestDeclaredBodyNotAllocatedAhead: a client that declared 1 MiB and
// sent nothing held 1 MiB of heap, for as long as it kept the connection
// (no read timeout by default): 1,000 of them held 1 GiB.
func TestDeclaredBodyNotAllocatedAhead(t *testing.T) {
	r := start(t, consumertest.NewNop(), nil)
	require.Equal(t, time.Minute, r.cfg.ReadTimeout, "a whole request has a minute")
	const n = 200
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	grew := heapPeak(func() {
		for range n {
			c, err := net.Dial("tcp", r.cfg.NetAddr.Endpoint)
			require.NoError(t, err)
			conns = append(conns, c)
			_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nCe-Specversion: 1.0\r\nCe-Id: a\r\nCe-Source: s\r\nCe-Type: t\r\n"+
				"Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n[")
			require.NoError(t, err)
		}
		time.Sleep(time.Second) // for the server to read every header
	})
	// 16 KiB a connection ahead, and the server's own buffers.
	t.Logf("the heap grew by %d KiB for %d connections", grew>>10, n)
	require.Less(t, grew, uint64(n*64<<10), "the heap grew by %d MiB for %d connections", grew>>20, n)
}

// TestWideObjectsCostBounded: pdata finds a key by comparing it with every
// other, so an object of n distinct keys took n²/2 comparisons whatever
// the memory budget: a batch of 20 events of 29,490 keys each (254 KiB)
// took 18.5 s of CPU. The comparisons are charged to the budget, so such
// data stays text, at once.
func TestWideObjectsCostBounded(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)
	var obj strings.Builder
	obj.WriteByte('{')
	for i := 0; obj.Len() < 250<<10; i++ {
		if i > 0 {
			obj.WriteByte(',')
		}
		fmt.Fprintf(&obj, `"%x":0`, i)
	}
	obj.WriteByte('}')
	var batch strings.Builder
	batch.WriteByte('[')
	for i := range 20 {
		if i > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, `{"specversion":"1.0","id":"%d","type":"t","source":"s","datacontenttype":"application/json","data":%s}`, i, obj.String())
	}
	batch.WriteByte(']')
	start := time.Now()
	code, answer := post(t, r.url, map[string]string{"Content-Type": "application/cloudevents-batch+json"}, batch.String())
	took := time.Since(start)
	require.Equal(t, http.StatusAccepted, code, answer)
	require.Equal(t, 20, sink.LogRecordCount())
	body := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
	require.Equal(t, pcommon.ValueTypeStr, body.Type(), "too wide to build: kept as text")
	// 18.5 s before; the bound leaves a slow machine a wide margin.
	require.Less(t, took, 3*time.Second)

	// An object of ordinary width is still built.
	code, answer = post(t, r.url, map[string]string{"Content-Type": "application/cloudevents+json"},
		`{"specversion":"1.0","id":"x","type":"t","source":"s","datacontenttype":"application/json","data":{"a":1,"b":[true],"c":{"d":"e"}}}`)
	require.Equal(t, http.StatusAccepted, code, answer)
	all := sink.AllLogs()
	last := all[len(all)-1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
	require.Equal(t, pcommon.ValueTypeMap, last.Type())
	require.Equal(t, 3, last.Map().Len())
}
