// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"encoding/binary"
	"encoding/hex"
	"iter"
	"time"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// Traces is one batch of spans. Reads see the batch as it arrived; edits
// (Set*, Delete*, Rename*, Drop) are staged and applied together when the
// filter returns nil, so a filter that fails leaves the batch as it was.
type Traces struct{ b *batch }

// Len is the number of spans in the batch.
func (t Traces) Len() int { return t.b.length(abi.TableSpan) }

// Span is the i-th span, 0 <= i < Len().
func (t Traces) Span(i int) Span { return Span{item{t.b, abi.TableSpan, int32(i)}} }

// Spans iterates over every span.
func (t Traces) Spans() iter.Seq[Span] {
	return seq(t.b, abi.TableSpan, func(it item) Span { return Span{it} })
}

// Resources iterates over every resource in the batch.
func (t Traces) Resources() iter.Seq[Resource] { return resources(t.b) }

// Resource is resource i (Resource.Index), as ResourcesWhere selects it.
func (t Traces) Resource(i int) Resource { return Resource{item{t.b, abi.TableResource, int32(i)}} }

// Host gives access to logging, counters and the shared key-value store.
func (t Traces) Host() Host { return Host{t.b.h} }

// OTLP is the whole batch as OTLP protobuf (ExportTraceServiceRequest), for
// filters that want a full decode. It is much slower than field access.
func (t Traces) OTLP() ([]byte, error) { return getOTLP(t.b) }

// SetOTLP replaces the whole batch with OTLP protobuf when the filter
// returns. It cannot be combined with item edits in the same call.
func (t Traces) SetOTLP(p []byte) error { return setOTLP(t.b, p) }

// SpanKind is a span's kind, as in OTLP.
type SpanKind int32

// Span kinds.
const (
	SpanKindUnspecified SpanKind = abi.SpanKindUnspecified
	SpanKindInternal    SpanKind = abi.SpanKindInternal
	SpanKindServer      SpanKind = abi.SpanKindServer
	SpanKindClient      SpanKind = abi.SpanKindClient
	SpanKindProducer    SpanKind = abi.SpanKindProducer
	SpanKindConsumer    SpanKind = abi.SpanKindConsumer
)

// StatusCode is a span's status code, as in OTLP.
type StatusCode int32

// Status codes.
const (
	StatusUnset StatusCode = abi.StatusUnset
	StatusOK    StatusCode = abi.StatusOK
	StatusError StatusCode = abi.StatusError
)

// TraceID identifies a trace.
type TraceID [16]byte

// String is the ID in lowercase hexadecimal, as W3C trace context writes it.
func (id TraceID) String() string { return hex.EncodeToString(id[:]) }

// IsEmpty reports whether every byte is zero (an invalid ID). Two words
// compared, not the array: a Go guest compares a 16-byte array through
// two calls into its runtime (memequal, memeqbody).
func (id TraceID) IsEmpty() bool {
	return binary.LittleEndian.Uint64(id[:8])|binary.LittleEndian.Uint64(id[8:]) == 0
}

// SpanID identifies a span.
type SpanID [8]byte

// String is the ID in lowercase hexadecimal.
func (id SpanID) String() string { return hex.EncodeToString(id[:]) }

// IsEmpty reports whether every byte is zero (no span, such as a root's parent).
func (id SpanID) IsEmpty() bool { return id == SpanID{} }

// Span is one span of a Traces batch.
type Span struct{ item }

// Name is the span's name.
func (s Span) Name() string { return s.str(abi.FieldName) }

// SetName renames the span.
func (s Span) SetName(name string) { s.set(abi.FieldName, Str(name)) }

// Kind is the span's kind.
func (s Span) Kind() SpanKind { return SpanKind(s.num(abi.FieldKind)) }

// SetKind sets the span's kind.
func (s Span) SetKind(k SpanKind) { s.set(abi.FieldKind, Int(int64(k))) }

// TraceID is the span's trace ID.
func (s Span) TraceID() (id TraceID) { copy(id[:], s.raw(abi.FieldTraceID)); return id }

// SpanID is the span's ID.
func (s Span) SpanID() (id SpanID) { copy(id[:], s.raw(abi.FieldSpanID)); return id }

// ParentSpanID is the parent's span ID, empty for a root span.
func (s Span) ParentSpanID() (id SpanID) { copy(id[:], s.raw(abi.FieldParentSpanID)); return id }

// TraceState is the span's W3C tracestate.
func (s Span) TraceState() string { return s.str(abi.FieldTraceState) }

// SetTraceState replaces the span's W3C tracestate.
func (s Span) SetTraceState(ts string) { s.set(abi.FieldTraceState, Str(ts)) }

// StartTime is when the span started, in Unix nanoseconds.
func (s Span) StartTime() int64 { return s.num(abi.FieldStartTime) }

// EndTime is when the span ended, in Unix nanoseconds.
func (s Span) EndTime() int64 { return s.num(abi.FieldTime) }

// Duration is EndTime minus StartTime.
func (s Span) Duration() time.Duration { return time.Duration(s.EndTime() - s.StartTime()) }

// Status is the span's status code.
func (s Span) Status() StatusCode { return StatusCode(s.num(abi.FieldStatusCode)) }

// StatusMessage is the span's status message.
func (s Span) StatusMessage() string { return s.str(abi.FieldStatusMessage) }

// SetStatus sets the span's status code and message.
func (s Span) SetStatus(code StatusCode, msg string) {
	s.set(abi.FieldStatusCode, Int(int64(code)))
	s.set(abi.FieldStatusMessage, Str(msg))
}

// Flags are the span's W3C trace flags.
func (s Span) Flags() uint32 { return uint32(s.num(abi.FieldFlags)) }

// Resource is the resource the span comes from.
func (s Span) Resource() Resource { return s.resource() }

// Scope is the span's instrumentation scope.
func (s Span) Scope() Scope { return s.scope(s.b) }

// Events iterates over the span's events.
func (s Span) Events() iter.Seq[Event] {
	return childSeq(s.item, abi.TableEvent, func(it item) Event { return Event{it} })
}

// Links iterates over the span's links.
func (s Span) Links() iter.Seq[Link] {
	return childSeq(s.item, abi.TableLink, func(it item) Link { return Link{it} })
}

// Drop removes the span from the batch when the filter returns.
func (s Span) Drop() { s.drop() }

// Event is a span event.
type Event struct{ item }

// Name is the event's name.
func (e Event) Name() string { return e.str(abi.FieldName) }

// Time is when the event happened, in Unix nanoseconds.
func (e Event) Time() int64 { return e.num(abi.FieldTime) }

// Span is the span the event belongs to.
func (e Event) Span() Span { return Span{item{e.b, abi.TableSpan, e.parent()}} }

// Link is a span link. Only its attributes can be edited.
type Link struct{ item }

// TraceID is the linked span's trace ID.
func (l Link) TraceID() (id TraceID) { copy(id[:], l.raw(abi.FieldTraceID)); return id }

// SpanID is the linked span's ID.
func (l Link) SpanID() (id SpanID) { copy(id[:], l.raw(abi.FieldSpanID)); return id }

// TraceState is the link's W3C tracestate.
func (l Link) TraceState() string { return l.str(abi.FieldTraceState) }

func seq[T any](b *batch, table int32, wrap func(item) T) iter.Seq[T] {
	return func(yield func(T) bool) {
		n := b.length(table)
		for i := 0; i < n; i++ {
			if !yield(wrap(item{b, table, int32(i)})) {
				return
			}
		}
	}
}

func childSeq[T any](parent item, child int32, wrap func(item) T) iter.Seq[T] {
	return func(yield func(T) bool) {
		from, to := parent.b.childRange(child, parent.i)
		for i := from; i < to; i++ {
			if !yield(wrap(item{parent.b, child, i})) {
				return
			}
		}
	}
}

func resources(b *batch) iter.Seq[Resource] {
	return seq(b, abi.TableResource, func(it item) Resource { return Resource{it} })
}
