// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"iter"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Logs is one batch of log records, with the same read-then-stage
// semantics as Traces.
type Logs struct{ b *batch }

// Len is the number of log records in the batch.
func (l Logs) Len() int { return l.b.length(abi.TableLog) }

// Record is the i-th log record, 0 <= i < Len().
func (l Logs) Record(i int) LogRecord { return LogRecord{item{l.b, abi.TableLog, int32(i)}} }

// Records iterates over every log record.
func (l Logs) Records() iter.Seq[LogRecord] {
	return seq(l.b, abi.TableLog, func(it item) LogRecord { return LogRecord{it} })
}

// Resources iterates over every resource in the batch.
func (l Logs) Resources() iter.Seq[Resource] { return resources(l.b) }

// Resource is resource i (Resource.Index), as ResourcesWhere selects it.
func (l Logs) Resource(i int) Resource { return Resource{item{l.b, abi.TableResource, int32(i)}} }

// Host gives access to logging, counters and the shared key-value store.
func (l Logs) Host() Host { return Host{l.b.h} }

// OTLP is the whole batch as OTLP protobuf (ExportLogsServiceRequest).
func (l Logs) OTLP() ([]byte, error) { return getOTLP(l.b) }

// SetOTLP replaces the whole batch with OTLP protobuf when the filter returns.
func (l Logs) SetOTLP(p []byte) error { return setOTLP(l.b, p) }

// LogRecord is one log record of a Logs batch.
type LogRecord struct{ item }

// Body is the record's body, of any kind (maps and arrays as KindOther).
func (r LogRecord) Body() Value { return r.b.value(r.table, r.i, abi.FieldValue, "") }

// SetBody replaces the record's body.
func (r LogRecord) SetBody(v Value) { r.set(abi.FieldValue, v) }

// Severity is the record's OTLP severity number (1-24, 0 unset).
func (r LogRecord) Severity() int32 { return int32(r.num(abi.FieldSeverity)) }

// SeverityText is the record's severity text.
func (r LogRecord) SeverityText() string { return r.str(abi.FieldSeverityText) }

// SetSeverity sets the severity number and text.
func (r LogRecord) SetSeverity(number int32, text string) {
	r.set(abi.FieldSeverity, Int(int64(number)))
	r.set(abi.FieldSeverityText, Str(text))
}

// TraceID is the trace the record belongs to, if any.
func (r LogRecord) TraceID() (id TraceID) { copy(id[:], r.raw(abi.FieldTraceID)); return id }

// SpanID is the span the record belongs to, if any.
func (r LogRecord) SpanID() (id SpanID) { copy(id[:], r.raw(abi.FieldSpanID)); return id }

// Time is when the event happened, Unix ns.
func (r LogRecord) Time() int64 { return r.num(abi.FieldTime) }

// ObservedTime is when the record was observed, Unix ns.
func (r LogRecord) ObservedTime() int64 { return r.num(abi.FieldObservedTime) }

// Flags are the record's W3C trace flags.
func (r LogRecord) Flags() uint32 { return uint32(r.num(abi.FieldFlags)) }

// Resource is the resource the record comes from.
func (r LogRecord) Resource() Resource { return r.resource() }

// Scope is the record's instrumentation scope.
func (r LogRecord) Scope() Scope { return r.scope(r.b) }

// Drop removes the record when the filter returns.
func (r LogRecord) Drop() { r.drop() }
