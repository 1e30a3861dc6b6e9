// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"sync"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Weighing counts, for otlp_get and for validation under proto pooling,
// what pdata's uninterruptible work on the batch will walk. The weight is
// summed into tables.weight, in pieces (an attribute, an event, a
// sixteenth of a histogram's buckets...) that otlp_get reckons as index
// items and validation as released pieces (releaseWork), and weighing
// stops as soon as it passes tables.weightCap, what the call's
// time left can hold: weighing a huge item takes about as long as what it
// estimates, and a guest is better stopped before. Every step visits, so
// that the deadline stops weighing too.

// startWeighing begins a weighing at weight w, capped at most.
func (t *tables) startWeighing(w, most int) { t.weight, t.weightCap = w, most }

// weigh adds n to the weight, and stops the call once it passes the cap:
// in a host function as reckon does, during validation with
// errApplyDeadline, which validate recovers.
func (t *tables) weigh(n int) {
	t.weight += n
	if t.weight <= t.weightCap {
		return
	}
	if t.inGuest && t.guard != nil {
		t.guard.stop(stopReckoned)
		panic(errBuildDeadline)
	}
	panic(errApplyDeadline)
}

// weighOTLP weighs what sizing and marshaling the batch walk beyond its
// index's items, once a call: every attribute, event, link and exemplar,
// a histogram's buckets, a summary's quantiles, a metric's metadata, a
// resource's entity references, and the entries of map and array values
// (a log body's too), nested. otlp_get reckons the batch by it before it
// sizes anything, since pdata's sizing and marshaling cannot be stopped:
// one log record of 10 million empty attributes (20 MB), or one span of
// 3 million empty events (6 MB), took 38-52 ms a call under a 10 ms
// timeout when only the items were counted. The index's main tables must
// be built; most is what the time left holds.
func (t *tables) weighOTLP(most int) int {
	if t.otlpWeighed {
		return t.otlpWeight // the batch cannot change during the call
	}
	t.startWeighing(0, most)
	for i := range t.res {
		t.resourceWeight(int32(i))
	}
	for i := range t.scopes {
		t.mapWeight(t.scopes[i].scope.Attributes())
	}
	switch t.signal {
	case abi.SignalTraces:
		for i := range t.spans {
			t.spanWeight(int32(i))
		}
	case abi.SignalMetrics:
		for i := range t.mets {
			t.mapWeight(t.mets[i].m.Metadata())
		}
		for i := range t.points {
			t.pointWeight(t.point(int32(i)))
		}
	default:
		for i := range t.records {
			t.recordWeight(int32(i))
		}
	}
	t.otlpWeight, t.otlpWeighed = t.weight, true
	return t.weight
}

// resourceWeight weighs what resource i holds: its attributes and entity
// references.
func (t *tables) resourceWeight(i int32) {
	t.mapWeight(t.res[i].Attributes())
	refs := entity.ResourceEntityRefs(t.res[i])
	t.weigh(refs.Len())
	for _, ref := range refs.All() {
		t.visit()
		t.weigh(ref.IdKeys().Len() + ref.DescriptionKeys().Len())
	}
}

// spanWeight weighs what span i holds: its attributes, events and links.
func (t *tables) spanWeight(i int32) {
	sp := t.span(i)
	t.mapWeight(sp.Attributes())
	evs := sp.Events()
	for j := range evs.Len() {
		t.visit()
		t.weigh(1)
		t.mapWeight(evs.At(j).Attributes())
	}
	links := sp.Links()
	for j := range links.Len() {
		t.visit()
		t.weigh(1)
		t.mapWeight(links.At(j).Attributes())
	}
}

// bucketsPerWeight is how many of a histogram point's buckets or bounds
// weigh one: sizing and marshaling them took 5-6 ns each (one point of
// 20 million exponential buckets, 95-127 ms a call under a 10 ms timeout
// in attack round 25, when only the point was counted), a sixteenth of
// what otlp_get reckons an item.
const bucketsPerWeight = 16

// buckets is the weight of n buckets, rounded up: millions of points of
// 15 buckets each weighed nothing more than their points.
func buckets(n int) int { return (n + bucketsPerWeight - 1) / bucketsPerWeight }

// pointWeight weighs what data point p holds: its attributes, exemplars,
// buckets and quantiles.
func (t *tables) pointWeight(p point) {
	t.mapWeight(p.attrs())
	var exs pmetric.ExemplarSlice
	switch p.typ {
	case pmetric.MetricTypeHistogram:
		exs = p.hist.Exemplars()
		t.weigh(buckets(p.hist.BucketCounts().Len() + p.hist.ExplicitBounds().Len()))
	case pmetric.MetricTypeExponentialHistogram:
		exs = p.exp.Exemplars()
		t.weigh(buckets(p.exp.Positive().BucketCounts().Len() + p.exp.Negative().BucketCounts().Len()))
	case pmetric.MetricTypeSummary:
		t.weigh(p.summ.QuantileValues().Len())
		return
	default:
		exs = p.num.Exemplars()
	}
	for j := range exs.Len() {
		t.visit()
		t.weigh(1)
		t.mapWeight(exs.At(j).FilteredAttributes())
	}
}

// recordWeight weighs what log record i holds: its attributes and body.
func (t *tables) recordWeight(i int32) {
	rec := t.records[i].rec
	t.mapWeight(rec.Attributes())
	t.valueWeight(rec.Body())
}

// dropWeight weighs what dropping item i of table releases, the item
// with it: a metric's points with theirs.
func (t *tables) dropWeight(table, i int32) {
	t.weigh(1)
	switch table {
	case abi.TableSpan:
		t.spanWeight(i)
	case abi.TablePoint:
		t.pointWeight(t.point(i))
	case abi.TableLog:
		t.recordWeight(i)
	case abi.TableMetric:
		m := t.mets[i].m
		t.mapWeight(m.Metadata())
		for k := range pointCount(m) {
			t.visit()
			t.weigh(1)
			t.pointWeight(metricPoint(m, k))
		}
	}
}

// mapWeight weighs m's entries and what their values nest, visiting each.
func (t *tables) mapWeight(m pcommon.Map) {
	t.visit()
	t.weigh(m.Len())
	for _, v := range m.All() {
		t.visit()
		t.valueWeight(v)
	}
}

// valueWeight weighs the entries a map or array value nests; nothing for
// the others, whose sizing costs the same whatever they hold (a string's
// bytes are copied at memory speed).
func (t *tables) valueWeight(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		t.mapWeight(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		t.weigh(s.Len())
		for j := range s.Len() {
			t.visit()
			t.valueWeight(s.At(j))
		}
	}
}

// protoPoolingGate is pdata's pdata.useProtoPooling feature gate, off by
// default, which an operator may turn on with --feature-gates; nil if
// this pdata has none.
var protoPoolingGate = sync.OnceValue(func() *featuregate.Gate {
	var gate *featuregate.Gate
	featuregate.GlobalRegistry().VisitAll(func(g *featuregate.Gate) {
		if g.ID() == "pdata.useProtoPooling" {
			gate = g
		}
	})
	return gate
})

// protoPooling reports whether pdata hands what an edit removes back to
// its pools, piece by piece: a dropped span with its events, links and
// attributes, a replaced map value with its entries. Removing is then no
// longer one step but as long as what is removed, and the apply estimate
// counts it (see editor.released).
func protoPooling() bool {
	g := protoPoolingGate()
	return g != nil && g.IsEnabled()
}
