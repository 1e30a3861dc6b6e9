// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"iter"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Metrics is one batch of metrics and their data points, with the same
// read-then-stage semantics as Traces.
type Metrics struct{ b *batch }

// Len is the number of metrics in the batch.
func (m Metrics) Len() int { return m.b.length(abi.TableMetric) }

// Metric is the i-th metric, 0 <= i < Len().
func (m Metrics) Metric(i int) Metric { return Metric{item{m.b, abi.TableMetric, int32(i)}} }

// Metrics iterates over every metric.
func (m Metrics) Metrics() iter.Seq[Metric] {
	return seq(m.b, abi.TableMetric, func(it item) Metric { return Metric{it} })
}

// PointCount is the number of data points of every metric in the batch.
func (m Metrics) PointCount() int { return m.b.length(abi.TablePoint) }

// Point is the i-th data point of the batch, 0 <= i < PointCount().
func (m Metrics) Point(i int) Point { return Point{item{m.b, abi.TablePoint, int32(i)}} }

// Points iterates over every data point of every metric.
func (m Metrics) Points() iter.Seq[Point] {
	return seq(m.b, abi.TablePoint, func(it item) Point { return Point{it} })
}

// Resources iterates over every resource in the batch.
func (m Metrics) Resources() iter.Seq[Resource] { return resources(m.b) }

// Resource is resource i (Resource.Index), as ResourcesWhere selects it.
func (m Metrics) Resource(i int) Resource { return Resource{item{m.b, abi.TableResource, int32(i)}} }

// Host gives access to logging, counters and the shared key-value store.
func (m Metrics) Host() Host { return Host{m.b.h} }

// OTLP is the whole batch as OTLP protobuf (ExportMetricsServiceRequest).
func (m Metrics) OTLP() ([]byte, error) { return getOTLP(m.b) }

// SetOTLP replaces the whole batch with OTLP protobuf when the filter returns.
func (m Metrics) SetOTLP(p []byte) error { return setOTLP(m.b, p) }

// MetricType is the OTLP data type of a metric.
type MetricType int32

// Metric types.
const (
	MetricEmpty                MetricType = abi.MetricEmpty
	MetricGauge                MetricType = abi.MetricGauge
	MetricSum                  MetricType = abi.MetricSum
	MetricHistogram            MetricType = abi.MetricHistogram
	MetricExponentialHistogram MetricType = abi.MetricExponentialHistogram
	MetricSummary              MetricType = abi.MetricSummary
)

// Metric is one metric of a Metrics batch. Metrics have no attributes of
// their own: their data points do.
type Metric struct{ it item }

// Index is the metric's position in the batch, from 0.
func (m Metric) Index() int { return m.it.Index() }

// Name is the metric's name.
func (m Metric) Name() string { return m.it.str(abi.FieldName) }

// SetName renames the metric.
func (m Metric) SetName(name string) { m.it.set(abi.FieldName, Str(name)) }

// Description is the metric's description.
func (m Metric) Description() string { return m.it.str(abi.FieldDescription) }

// SetDescription replaces the metric's description.
func (m Metric) SetDescription(d string) { m.it.set(abi.FieldDescription, Str(d)) }

// Unit is the metric's unit.
func (m Metric) Unit() string { return m.it.str(abi.FieldUnit) }

// SetUnit replaces the metric's unit.
func (m Metric) SetUnit(u string) { m.it.set(abi.FieldUnit, Str(u)) }

// Type is the metric's data type.
func (m Metric) Type() MetricType { return MetricType(m.it.num(abi.FieldKind)) }

// Resource is the resource the metric comes from.
func (m Metric) Resource() Resource { return m.it.resource() }

// Scope is the metric's instrumentation scope.
func (m Metric) Scope() Scope { return m.it.scope(m.it.b) }

// Points iterates over the metric's data points.
func (m Metric) Points() iter.Seq[Point] {
	return childSeq(m.it, abi.TablePoint, func(it item) Point { return Point{it} })
}

// Drop removes the metric and all its points when the filter returns.
func (m Metric) Drop() { m.it.drop() }

// Point is one data point of any metric type. Its attributes are the data
// point's attributes.
type Point struct{ item }

// Metric is the metric the point belongs to.
func (p Point) Metric() Metric { return Metric{item{p.b, abi.TableMetric, p.parent()}} }

// StartTime is the start of the point's aggregation window, Unix ns.
func (p Point) StartTime() int64 { return p.num(abi.FieldStartTime) }

// Time is when the point was recorded, Unix ns.
func (p Point) Time() int64 { return p.num(abi.FieldTime) }

// Value is a gauge or sum point's number, KindInt or KindDouble; empty for
// histograms and summaries.
func (p Point) Value() Value { return p.b.value(p.table, p.i, abi.FieldValue, "") }

// SetValue replaces a gauge or sum point's number with an Int or Double.
func (p Point) SetValue(v Value) { p.set(abi.FieldValue, v) }

// Count is a histogram or summary point's count, 0 for others.
func (p Point) Count() uint64 { return uint64(p.num(abi.FieldCount)) }

// Sum is a histogram or summary point's sum, if it has one.
func (p Point) Sum() (float64, bool) {
	v := p.b.value(p.table, p.i, abi.FieldSum, "")
	return v.Double(), v.Kind() == KindDouble
}

// Flags are the point's OTLP data point flags.
func (p Point) Flags() uint32 { return uint32(p.num(abi.FieldFlags)) }

// Resource is the resource the point's metric comes from.
func (p Point) Resource() Resource { return p.resource() }

// Drop removes the point when the filter returns. A metric left with no
// points is removed too.
func (p Point) Drop() { p.drop() }
