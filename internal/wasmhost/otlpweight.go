// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"sync"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// otlpWeight is what sizing and marshaling the batch walk beyond its
// index's items: every attribute, event, link and exemplar, a
// histogram's buckets, a summary's quantiles, and the entries of map and
// array values (a log body's too), nested. otlp_get
// reckons the batch by it before it sizes anything, since pdata's sizing
// and marshaling cannot be stopped: one log record of 10 million empty
// attributes (20 MB), or one span of 3 million empty events (6 MB), took
// 38-52 ms a call under a 10 ms timeout when only the items were counted.
// The weighing itself visits what it counts, so that the deadline stops
// it too. The index's main tables must be built.
func (t *tables) otlpWeight() int {
	w := 0
	for i := range t.res {
		w += t.mapWeight(t.res[i].Attributes())
	}
	for i := range t.scopes {
		w += t.mapWeight(t.scopes[i].scope.Attributes())
	}
	switch t.signal {
	case abi.SignalTraces:
		for i := range t.spans {
			w += t.spanWeight(int32(i))
		}
	case abi.SignalMetrics:
		for i := range t.points {
			w += t.pointWeight(t.point(int32(i)))
		}
	default:
		for i := range t.records {
			w += t.recordWeight(int32(i))
		}
	}
	return w
}

// spanWeight is what span i holds: its attributes, events and links.
func (t *tables) spanWeight(i int32) int {
	sp := t.span(i)
	w := t.mapWeight(sp.Attributes())
	evs := sp.Events()
	for j := range evs.Len() {
		t.visit()
		w += 1 + t.mapWeight(evs.At(j).Attributes())
	}
	links := sp.Links()
	for j := range links.Len() {
		t.visit()
		w += 1 + t.mapWeight(links.At(j).Attributes())
	}
	return w
}

// pointWeight is what data point p holds: its attributes, exemplars,
// buckets and quantiles.
func (t *tables) pointWeight(p point) int {
	w := t.mapWeight(p.attrs())
	var exs pmetric.ExemplarSlice
	switch p.typ {
	case pmetric.MetricTypeHistogram:
		exs = p.hist.Exemplars()
		w += (p.hist.BucketCounts().Len() + p.hist.ExplicitBounds().Len()) / bucketsPerWeight
	case pmetric.MetricTypeExponentialHistogram:
		exs = p.exp.Exemplars()
		w += (p.exp.Positive().BucketCounts().Len() + p.exp.Negative().BucketCounts().Len()) / bucketsPerWeight
	case pmetric.MetricTypeSummary:
		return w + p.summ.QuantileValues().Len()
	default:
		exs = p.num.Exemplars()
	}
	for j := range exs.Len() {
		t.visit()
		w += 1 + t.mapWeight(exs.At(j).FilteredAttributes())
	}
	return w
}

// recordWeight is what log record i holds: its attributes and body.
func (t *tables) recordWeight(i int32) int {
	rec := t.records[i].rec
	return t.mapWeight(rec.Attributes()) + t.valueWeight(rec.Body())
}

// dropWeight is what dropping item i of table releases, the item with
// it: a metric's points with theirs.
func (t *tables) dropWeight(table, i int32) int {
	switch table {
	case abi.TableSpan:
		return 1 + t.spanWeight(i)
	case abi.TablePoint:
		return 1 + t.pointWeight(t.point(i))
	case abi.TableLog:
		return 1 + t.recordWeight(i)
	case abi.TableMetric:
		m, w := t.mets[i].m, 1
		for k := range pointCount(m) {
			t.visit()
			w += 1 + t.pointWeight(metricPoint(m, k))
		}
		return w
	}
	return 1
}

// bucketsPerWeight is how many of a histogram point's buckets or bounds
// weigh one: sizing and marshaling them took 5-6 ns each (one point of
// 20 million exponential buckets, 95-127 ms a call under a 10 ms timeout
// in attack round 25, when only the point was counted), a sixteenth of
// what otlp_get reckons an item.
const bucketsPerWeight = 16

// mapWeight counts m's entries and what their values nest, visiting each.
func (t *tables) mapWeight(m pcommon.Map) int {
	t.visit()
	w := m.Len()
	for _, v := range m.All() {
		t.visit()
		w += t.valueWeight(v)
	}
	return w
}

// valueWeight counts the entries a map or array value nests; 0 for the
// others, whose sizing costs the same whatever they hold (a string's
// bytes are copied at memory speed).
func (t *tables) valueWeight(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return t.mapWeight(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		w := s.Len()
		for j := range s.Len() {
			t.visit()
			w += t.valueWeight(s.At(j))
		}
		return w
	}
	return 0
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
