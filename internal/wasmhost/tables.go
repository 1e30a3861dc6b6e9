// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"errors"
	"slices"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

const numTables = abi.TableLog + 1

// tables is the flattened view of the batch under processing. The batch
// itself never leaves the host: the guest asks for columns of these tables,
// and the index is built once per call, on first use, into slices that are
// reused from call to call.
type tables struct {
	signal  int32
	traces  ptrace.Traces
	metrics pmetric.Metrics
	logs    plog.Logs

	// A weighing's sum and cap (see weigh), and otlp_get's weight of the
	// batch, once weighed in the call.
	weight, weightCap int
	otlpWeight        int
	otlpWeighed       bool

	built [numTables]bool
	// kcols are the columns kernels built this call, kept so that several
	// selects over one field build it once; their buffers are reused from
	// call to call.
	kcols []kernelColumn
	kused int
	// spanNames, eventNames and memo serve selects (selectfast.go).
	spanNames, eventNames nameView
	memo                  []selectMemo
	memoUsed              int
	res                   []pcommon.Resource
	scopes                []scopeRef
	// scopeSpans is each scope's spans, for traces.
	scopeSpans []ptrace.SpanSlice
	spans      []spanRef
	events     []eventRef
	links      []linkRef
	mets       []metricRef
	points     []pointRef
	records    []logRef

	// selKey and selList hold the current select's request, copied out of
	// guest memory, and match its decoded test.
	selKey, selList []byte
	match           matcher
	// selSaved is a refine's selection as it came, for a fast path that
	// must give way to the column.
	selSaved []byte
	// intSetBuf holds a select's set of wanted kinds or resources.
	intSetBuf []bool
	// grp is group's scratch.
	grp grouping

	// maxColumn bounds a column as it is built; mem is the shared budget
	// its growth is taken from meanwhile, taken how much.
	maxColumn int
	mem       *hostMemory
	taken     int64

	// guard is the call's deadline, which a select checks as it goes.
	guard *guard
	// inGuest is set while the guest runs, when a host function may be
	// stopped at its deadline, and validating while its edits are
	// validated (buildCheck).
	inGuest, validating bool
	// visits counts the steps of the builds of the call (visit), and
	// jsonWork the work of rendering values as JSON (jsonWriter.tick).
	visits, jsonWork int
	// steps counts the steps taken since the last check (step).
	steps int
	// keep is the most of the kernel columns' buffers kept for the next
	// call.
	keep int
}

// checkDeadline stops the call, every 1,024 items, once its deadline has
// passed: a select of 256 long values over 100,000 long names took a
// second in one host call.
func (t *tables) checkDeadline(i int) {
	if i&1023 == 1023 && t.guard != nil {
		t.guard.check()
	}
}

// buildCheck is checkDeadline for building the index, which a host
// function may start, or the validation of the edits after the guest has
// returned. A host function is stopped as checkDeadline stops it, which
// wazero turns into the call's end. Validation is outside wazero: there
// the build gives way with errBuildDeadline, which validate recovers. It
// once went to the end of the batch: a guest that staged one drop and
// returned had 2 million empty metrics indexed in 233-707 ms under a 10
// ms timeout (attack round 24).
func (t *tables) buildCheck(i int) {
	if i&1023 == 1023 { // first, and small enough to inline: it runs an item
		t.buildCheckNow()
	}
}

// visit counts one step of building the index, a resource, scope or item
// counted or indexed, or of filling a column, and checks the deadline
// every 1,024: each loop of a build visits, so that no shape of batch (2
// million empty resources, or scopes, or metrics in one scope) runs one
// without a check.
func (t *tables) visit() {
	t.visits++
	t.buildCheck(t.visits)
}

func (t *tables) buildCheckNow() {
	switch {
	case t.guard == nil:
	case t.inGuest:
		t.guard.check()
	case t.validating && t.guard.expired():
		panic(errBuildDeadline)
	}
}

// errBuildDeadline stops an index built while the edits are validated,
// once the call's deadline has passed.
var errBuildDeadline = errors.New("the call's deadline passed while the index was built")

// indexNsPerItem is the least an item of the index is taken to cost to
// build. Allocating the index for 2 million log records (48 MB, which
// the collector may have to help mark or the system to fault in) took
// 103-119 ms before the build's first check, under a 10 ms timeout; the
// build itself 100-350 ns an item.
const indexNsPerItem = 20

// reckon stops, as buildCheck would at the deadline, a build of items
// that the call's time left cannot hold at indexNsPerItem, before
// anything is allocated. During validation the deadline has not passed,
// so the build gives way with errBuildTooLong: the edits do not fit the
// time left, which is not the guest's failing.
func (t *tables) reckon(items int) { t.reckonNs(int64(items) * indexNsPerItem) }

// reckonNs is reckon for work reckoned at ns nanoseconds.
func (t *tables) reckonNs(ns int64) {
	if t.guard == nil || !t.inGuest && !t.validating {
		return
	}
	if d := t.guard.deadline.Load(); d == 0 || now()+ns <= d {
		return
	}
	if t.inGuest {
		t.guard.stop(stopReckoned)
		panic(errBuildDeadline)
	}
	panic(errBuildTooLong)
}

// reckonGrowth reckons the growth of an index of n entries of size bytes
// by append: a new array about twice as large, into which the old is
// copied in one step. The events' and links' indexes grow so, as they
// are built; 8 million events on one span, the growths unreckoned, ran
// 45-105 ms past the deadline (attack round 27a). Counting them first,
// as the spans are, cost coinflip a pass over every span.
func (t *tables) reckonGrowth(n, size int) { t.reckonBytes(2 * (n + 1) * size) }

// freshNsPerByte is what a byte of memory allocated and written in one
// step, which no deadline check can split, is reckoned to cost: the
// system may have to fault its pages in, and on virtual machines a 4 KiB
// page took 10-20 us (64 MiB took 210-290 ms to touch; region_linux.go).
// A 16 MB result, made afresh by every otlp_get of one log record of a
// 16 MB body, took 44-133 ms a batch under a 10 ms timeout (attack round
// 26); warm, it takes 1.3 ms, but which pages are warm is not known.
const freshNsPerByte = 4

// reckonBytes is reckon for n bytes about to be allocated and written.
func (t *tables) reckonBytes(n int) {
	if n > 0 {
		t.reckonNs(int64(n) * freshNsPerByte)
	}
}

// errBuildTooLong stops, during validation, an index build that reckon
// shows the time left cannot hold.
var errBuildTooLong = errors.New("indexing the batch for its edits would not finish in the time left")

type scopeRef struct {
	scope pcommon.InstrumentationScope
	res   int32
}

// spanRef, eventRef and linkRef name an item by its place in the batch
// rather than hold pdata's pointers: an index of pointers cost a write
// barrier per pointer to build while the collector marks, and a clearing
// pass to release so as not to keep the batch alive. Building and
// releasing it took a third of coinflip's Wasm side, and half of that
// went (BenchmarkIndexBuild; BENCHMARKS.md, 2026-12-06, late morning).
// Reaching an item costs two more loads. k is the item's index in its
// scope's spans, or in its span's events or links.
type spanRef struct {
	scope, res, k int32
}

type eventRef struct {
	span, k int32
}

type linkRef struct {
	span, k int32
}

// span is span i; the table must be built and i in range.
func (t *tables) span(i int32) ptrace.Span {
	r := &t.spans[i]
	return t.scopeSpans[r.scope].At(int(r.k))
}

func (t *tables) event(i int32) ptrace.SpanEvent {
	r := &t.events[i]
	return t.span(r.span).Events().At(int(r.k))
}

func (t *tables) link(i int32) ptrace.SpanLink {
	r := &t.links[i]
	return t.span(r.span).Links().At(int(r.k))
}

type metricRef struct {
	m          pmetric.Metric
	scope, res int32
}

// pointRef names a data point by its metric and its index among the
// metric's points, without pointers, as spanRef does for spans: with four
// pdata wrappers in each (80 bytes), a 4 MiB request of 2 million empty
// gauge points cost 975 MiB and seconds to index, past any deadline
// (attack round 16); now 24 MiB.
type pointRef struct {
	metric, res, k int32
}

// point is one data point of whichever type its metric has, for the call.
type point struct {
	typ  pmetric.MetricType
	num  pmetric.NumberDataPoint
	hist pmetric.HistogramDataPoint
	exp  pmetric.ExponentialHistogramDataPoint
	summ pmetric.SummaryDataPoint
}

// point is data point i; the table must be built and i in range.
func (t *tables) point(i int32) point {
	r := &t.points[i]
	return metricPoint(t.mets[r.metric].m, int(r.k))
}

// metricPoint is data point k of m.
func metricPoint(m pmetric.Metric, k int) point {
	p := point{typ: m.Type()}
	switch p.typ {
	case pmetric.MetricTypeGauge:
		p.num = m.Gauge().DataPoints().At(k)
	case pmetric.MetricTypeSum:
		p.num = m.Sum().DataPoints().At(k)
	case pmetric.MetricTypeHistogram:
		p.hist = m.Histogram().DataPoints().At(k)
	case pmetric.MetricTypeExponentialHistogram:
		p.exp = m.ExponentialHistogram().DataPoints().At(k)
	case pmetric.MetricTypeSummary:
		p.summ = m.Summary().DataPoints().At(k)
	}
	return p
}

type logRef struct {
	rec        plog.LogRecord
	scope, res int32
}

func (t *tables) reset(signal int32) {
	t.signal = signal
	t.otlpWeighed = false
	t.built = [numTables]bool{}
	t.kused = 0
	t.spanNames.reset()
	t.eventNames.reset()
	t.memoUsed = 0
	t.grp.reset()
	t.res = t.res[:0]
	t.scopes = t.scopes[:0]
	t.scopeSpans = t.scopeSpans[:0]
	t.spans = t.spans[:0]
	t.events = t.events[:0]
	t.links = t.links[:0]
	t.mets = t.mets[:0]
	t.points = t.points[:0]
	t.records = t.records[:0]
}

// release drops references to the batch so that pooled slices do not keep
// old pdata alive between calls.
func (t *tables) release(k *keeper) {
	clear(t.res)
	clear(t.scopes)
	clear(t.scopeSpans)
	clear(t.mets)
	clear(t.points)
	clear(t.records)
	t.traces, t.metrics, t.logs = ptrace.Traces{}, pmetric.Metrics{}, plog.Logs{}
	t.reset(0)
	// The index of one huge batch is not kept for the next, as callState.end
	// does for its buffers: 600,000 events would pin 4.8 MB to the
	// instance.
	t.res, t.scopes, t.spans = kept(k, t.res), kept(k, t.scopes), kept(k, t.spans)
	t.scopeSpans = kept(k, t.scopeSpans)
	t.events, t.links, t.mets = kept(k, t.events), kept(k, t.links), kept(k, t.mets)
	t.points, t.records = kept(k, t.points), kept(k, t.records)
	t.spanNames.names, t.spanNames.heads, t.spanNames.kinds = kept(k, t.spanNames.names), kept(k, t.spanNames.heads), kept(k, t.spanNames.kinds)
	t.eventNames.names, t.eventNames.heads = kept(k, t.eventNames.names), kept(k, t.eventNames.heads)
	t.grp.trim(k)
	// Kernel column buffers stay for the next call, within a budget.
	kept := 0
	for i := range t.kcols {
		if kept += cap(t.kcols[i].data); kept > t.keep {
			t.kcols[i].data = nil
		}
	}
	// So do the memo's and the request copies, while small: sixteen large
	// selects would otherwise leave half a MiB behind in every instance,
	// outside any budget.
	kept = cap(t.selKey) + cap(t.selList) + cap(t.selSaved)
	for _, m := range t.memo {
		kept += cap(m.key) + cap(m.list) + cap(m.bits)
	}
	if kept > maxKeptMemo {
		t.memo, t.selKey, t.selList, t.selSaved = nil, nil, nil, nil
	}
	// The set of resources has a byte a resource: kept on its own terms,
	// so that a batch of many resources does not drop the memo with it.
	if cap(t.intSetBuf) > maxKeptMemo {
		t.intSetBuf = nil
	}
	// The matcher's buffers stay, their references to this call's
	// strings and list do not. They hold abi.MaxKernelArgs values at
	// most, about 20 KiB: dropping them past 64 values, as this did,
	// made a filter that selects the spans of 54 resources grow them
	// again in every batch.
	m := &t.match
	clear(m.vals[:cap(m.vals)])
	clear(m.strs[:cap(m.strs)])
	clear(m.words[:cap(m.words)])
}

// has reports whether table exists for the current signal.
func (t *tables) has(table int32) bool {
	switch table {
	case abi.TableResource, abi.TableScope:
		return t.signal != 0
	case abi.TableSpan, abi.TableEvent, abi.TableLink:
		return t.signal == abi.SignalTraces
	case abi.TableMetric, abi.TablePoint:
		return t.signal == abi.SignalMetrics
	case abi.TableLog:
		return t.signal == abi.SignalLogs
	}
	return false
}

// count is the number of items in table, building the index if needed, or
// ErrArgument for a table the signal does not have.
func (t *tables) count(table int32) int32 {
	if !t.has(table) {
		return abi.ErrArgument
	}
	t.build(table)
	switch table {
	case abi.TableResource:
		return int32(len(t.res))
	case abi.TableScope:
		return int32(len(t.scopes))
	case abi.TableSpan:
		return int32(len(t.spans))
	case abi.TableEvent:
		return int32(len(t.events))
	case abi.TableLink:
		return int32(len(t.links))
	case abi.TableMetric:
		return int32(len(t.mets))
	case abi.TablePoint:
		return int32(len(t.points))
	default:
		return int32(len(t.records))
	}
}

func (t *tables) build(table int32) {
	if t.built[table] {
		return
	}
	switch table {
	case abi.TableEvent, abi.TableLink:
		t.build(abi.TableSpan)
		i := int32(0)
		for _, spans := range t.scopeSpans {
			for k := 0; k < spans.Len(); k++ {
				if sp := spans.At(k); table == abi.TableEvent {
					for j := range int32(sp.Events().Len()) {
						if len(t.events) == cap(t.events) {
							t.reckonGrowth(len(t.events), 8)
						}
						t.events = append(t.events, eventRef{i, j})
						if j&1023 == 1023 {
							t.buildCheckNow()
						}
					}
				} else {
					for j := range int32(sp.Links().Len()) {
						if len(t.links) == cap(t.links) {
							t.reckonGrowth(len(t.links), 8)
						}
						t.links = append(t.links, linkRef{i, j})
						if j&1023 == 1023 {
							t.buildCheckNow()
						}
					}
				}
				if i&1023 == 1023 {
					t.buildCheckNow()
				}
				i++
			}
		}
	default:
		// Resources, scopes and the signal's main table come in one pass.
		switch t.signal {
		case abi.SignalTraces:
			t.buildTraces()
		case abi.SignalMetrics:
			t.buildMetrics()
		case abi.SignalLogs:
			t.buildLogs()
		}
	}
	t.built[table] = true
}

func (t *tables) markBase(main int32) {
	t.built[abi.TableResource], t.built[abi.TableScope], t.built[main] = true, true, true
}

func (t *tables) buildTraces() {
	rss := t.traces.ResourceSpans()
	// Counted first, as for metrics: grown by append, 2 million spans
	// allocated 131 MiB a call for an index of 24.
	t.reckon(rss.Len())
	scopes, total := 0, 0
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			total += sss.At(j).Spans().Len()
			t.visit()
		}
		scopes += sss.Len()
		t.visit()
	}
	t.reckon(rss.Len() + scopes + total)
	t.spans = slices.Grow(t.spans, total)
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		ri := int32(len(t.res))
		t.res = append(t.res, rs.Resource())
		t.visit()
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			si := int32(len(t.scopes))
			t.scopes = append(t.scopes, scopeRef{ss.Scope(), ri})
			t.visit()
			spans := ss.Spans()
			t.scopeSpans = append(t.scopeSpans, spans)
			for k := range int32(spans.Len()) {
				t.spans = append(t.spans, spanRef{si, ri, k})
				if k&1023 == 1023 { // a local count: an item costs a nanosecond or two
					t.buildCheckNow()
				}
			}
		}
	}
	t.markBase(abi.TableSpan)
}

func (t *tables) buildMetrics() {
	rms := t.metrics.ResourceMetrics()
	// Counted first, so that the index is allocated once at its size:
	// grown by append, 2 million empty metrics allocated 271 MiB a call.
	t.reckon(rms.Len())
	scopes, metrics, points := 0, 0, 0
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			metrics += ms.Len()
			for k := 0; k < ms.Len(); k++ {
				points += pointCount(ms.At(k))
				t.visit()
			}
			t.visit()
		}
		scopes += sms.Len()
		t.visit()
	}
	t.reckon(rms.Len() + scopes + metrics + points)
	t.mets, t.points = slices.Grow(t.mets, metrics), slices.Grow(t.points, points)
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		ri := int32(len(t.res))
		t.res = append(t.res, rm.Resource())
		t.visit()
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			si := int32(len(t.scopes))
			t.scopes = append(t.scopes, scopeRef{sm.Scope(), ri})
			t.visit()
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				mi := int32(len(t.mets))
				t.mets = append(t.mets, metricRef{m, si, ri})
				t.visit()
				for p := range int32(pointCount(m)) {
					t.points = append(t.points, pointRef{metric: mi, res: ri, k: p})
					t.visit()
				}
			}
		}
	}
	t.markBase(abi.TableMetric)
	t.built[abi.TablePoint] = true
}

func (t *tables) buildLogs() {
	rls := t.logs.ResourceLogs()
	t.reckon(rls.Len())
	scopes, records := 0, 0
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			records += sls.At(j).LogRecords().Len()
			t.visit()
		}
		scopes += sls.Len()
		t.visit()
	}
	t.reckon(rls.Len() + scopes + records)
	t.records = slices.Grow(t.records, records)
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		ri := int32(len(t.res))
		t.res = append(t.res, rl.Resource())
		t.visit()
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			si := int32(len(t.scopes))
			t.scopes = append(t.scopes, scopeRef{sl.Scope(), ri})
			t.visit()
			recs := sl.LogRecords()
			for k := 0; k < recs.Len(); k++ {
				t.records = append(t.records, logRef{recs.At(k), si, ri})
				t.visit()
			}
		}
	}
	t.markBase(abi.TableLog)
}

// itemCount is the number of resources, scopes and items of the signal's
// main tables, the index built for them. Events and links are not
// counted: their spans are.
func (t *tables) itemCount() int {
	t.count(abi.TableResource)
	if t.signal == abi.SignalMetrics {
		t.count(abi.TablePoint)
	}
	return t.dropPassItems()
}

// dropPassItems is the number of items removeDropped's pass walks: the
// resources, scopes and main tables, which a drop's validation has built,
// and not events or links, which moving a span leaves alone.
func (t *tables) dropPassItems() int {
	return len(t.res) + len(t.scopes) + len(t.spans) + len(t.mets) + len(t.points) + len(t.records)
}

// attrs is the attribute map of item i of table; the table must be built
// and i in range.
func (t *tables) attrs(table, i int32) pcommon.Map {
	switch table {
	case abi.TableResource:
		return t.res[i].Attributes()
	case abi.TableScope:
		return t.scopes[i].scope.Attributes()
	case abi.TableSpan:
		return t.span(i).Attributes()
	case abi.TableEvent:
		return t.event(i).Attributes()
	case abi.TableLink:
		return t.link(i).Attributes()
	case abi.TablePoint:
		p := t.point(i)
		return p.attrs()
	default:
		return t.records[i].rec.Attributes()
	}
}

// attr is attribute key of item i of table, as pcommon.Map.Get finds it,
// for a host function. Get scans the item's attributes, and the kernels
// that read one attribute by key checked the deadline only between items:
// a record of 10 million empty attributes (20 MB on the wire) held each
// past its deadline by that one scan (13-18 ms under 5 ms), and 10,000
// records of 1,024 held copy_attr, which checked nowhere, 25-44 ms
// (attack round 26 and its review). The attributes scanned count as
// steps (step), whatever the items' shape, an item's own included.
func (t *tables) attr(table, i int32, key string) (pcommon.Value, bool) {
	m := t.attrs(table, i)
	if n := m.Len(); n <= stepsPerCheck {
		t.step(n + 1)
		return m.Get(key)
	}
	for k, v := range m.All() {
		t.step(1)
		if k == key {
			return v, true
		}
	}
	return pcommon.Value{}, false
}

// stepsPerCheck is how many steps of a host function, each about a
// nanosecond of work (an attribute compared, 16 bytes of a value hashed),
// pass between two checks of the deadline.
const stepsPerCheck = 1024

// step counts n steps about to be taken, checking the deadline as an
// index build does (buildCheckNow) once stepsPerCheck have been.
func (t *tables) step(n int) {
	t.steps += n
	if t.steps >= stepsPerCheck {
		t.steps = 0
		t.buildCheckNow()
	}
}

func (p *point) attrs() pcommon.Map {
	switch p.typ {
	case pmetric.MetricTypeHistogram:
		return p.hist.Attributes()
	case pmetric.MetricTypeExponentialHistogram:
		return p.exp.Attributes()
	case pmetric.MetricTypeSummary:
		return p.summ.Attributes()
	}
	return p.num.Attributes()
}

func hasAttrs(table int32) bool { return table != abi.TableMetric }

// parentTable is the table that holds each item's parent, the Parent
// field's target; 0 for resources, which have none.
func parentTable(table int32) int32 {
	switch table {
	case abi.TableScope:
		return abi.TableResource
	case abi.TableSpan, abi.TableMetric, abi.TableLog:
		return abi.TableScope
	case abi.TableEvent, abi.TableLink:
		return abi.TableSpan
	case abi.TablePoint:
		return abi.TableMetric
	}
	return 0
}

// parent is the index of item i's parent in parentTable(table); the table
// must be built and i in range.
func (t *tables) parent(table, i int32) int32 {
	switch table {
	case abi.TableScope:
		return t.scopes[i].res
	case abi.TableSpan:
		return t.spans[i].scope
	case abi.TableEvent:
		return t.events[i].span
	case abi.TableLink:
		return t.links[i].span
	case abi.TableMetric:
		return t.mets[i].scope
	case abi.TablePoint:
		return t.points[i].metric
	case abi.TableLog:
		return t.records[i].scope
	}
	return -1
}

// keeper shares out what an idle instance keeps of its slices of one
// entry an item (the index, the name views, the groups' and the editor's
// counts) for its next call: all of them together within left bytes,
// which callState.end sets to the share of one buffer (keptFor). Kept up
// to 4 MiB each, some thirty of them held 42 MiB in every instance of an
// attacking guest, outside the budget.
type keeper struct{ left int }

// kept is s, counted against k, or nil when k has no room left for it.
func kept[T any](k *keeper, s []T) []T {
	var zero T
	n := cap(s) * int(unsafe.Sizeof(zero))
	if n > k.left {
		return nil
	}
	k.left -= n
	return s
}
