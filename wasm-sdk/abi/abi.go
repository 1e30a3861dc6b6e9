// SPDX-License-Identifier: Apache-2.0

// Package abi is the one definition of wasmcol's host/guest ABI, version 1:
// import and export names, table and field numbers, error codes and the
// byte encoding of columns and edit lists. The host (internal/wasmhost), the
// Go guest SDK and the SDK's emulator all use it; ABI.md documents it for
// guests written in other languages.
//
// It has no dependencies and no unsafe code so that any toolchain can build it.
package abi

// Version is the ABI version a guest reports from ExportABIVersion.
const Version = 1

// ModuleName is the import module that holds every host function.
const ModuleName = "wasmcol"

// Host functions, imported by the guest from ModuleName. Every argument and
// result is an i32 (counter_add's delta is an i64). See ABI.md.
const (
	FuncLen        = "len"         // (table) -> count | err
	FuncColumn     = "column"      // (table, field, key_ptr, key_len) -> result_len | err
	FuncRead       = "read"        // (dst_ptr, dst_len) -> copied | err
	FuncEdit       = "edit"        // (ptr, len) -> 0 | err
	FuncConfig     = "config"      // () -> result_len
	FuncLog        = "log"         // (level, ptr, len) -> 0 | err
	FuncFail       = "fail"        // (ptr, len) -> 0 | err
	FuncOTLPGet    = "otlp_get"    // () -> result_len | err
	FuncOTLPSet    = "otlp_set"    // (ptr, len) -> 0 | err
	FuncKVGet      = "kv_get"      // (key_ptr, key_len) -> result_len | ErrNotFound
	FuncKVSet      = "kv_set"      // (key_ptr, key_len, val_ptr, val_len) -> 0 | err
	FuncKVCAS      = "kv_cas"      // (key_ptr, key_len, old_ptr, old_len, new_ptr, new_len) -> 1 swapped | 0 not | err
	FuncKVDelete   = "kv_delete"   // (key_ptr, key_len) -> 0 | err
	FuncCounterAdd = "counter_add" // (name_ptr, name_len, delta i64) -> 0 | err

	// Kernels: whole-column operations that run in the host, so that
	// per-item work does not run in the guest. A selection is a bitmap of
	// a table's items: bit i (byte i/8, least significant bit first) is
	// item i. Modules that import none of them keep working.
	FuncSelect    = "select"     // (table, field, key_ptr, key_len, match, args_ptr, args_len, out_ptr, out_len) -> matches | err
	FuncRefine    = "refine"     // (table, field, key_ptr, key_len, match, args_ptr, args_len, sel_ptr, sel_len) -> matches | err
	FuncEditWhere = "edit_where" // (op_ptr, op_len, sel_ptr, sel_len) -> edits staged | err
	FuncCopyAttr  = "copy_attr"  // (table, from_ptr, from_len, to_ptr, to_len, sel_ptr, sel_len, flags) -> edits staged | err
	FuncGroup     = "group"      // (table, field, key_ptr, key_len, sel_ptr, sel_len, out_ptr, out_len) -> groups | err

	// FuncFilterName names the filter the host asks this instance to run,
	// for a module that holds several: its result is the name, UTF-8,
	// empty when the host names none. Modules that do not import it (one
	// filter a module) keep working.
	FuncFilterName = "filter_name" // () -> result_len
)

// Matches for FuncSelect. Each takes a list of values (u32 count, then
// tagged values as in edits) and tests every item's value of the field.
const (
	MatchEqual   = 1 // the value equals one of the values listed: same tag, same content
	MatchPrefix  = 2 // a Str value starts with one of the Str values listed
	MatchPresent = 3 // the value is not Empty; the list must be empty
)

// Flags for FuncCopyAttr.
const (
	CopyToParent = 1 // write onto each item's parent (event or link to span, span to scope...)
)

// Kernel limits: a larger argument answers ErrTooLarge.
const (
	MaxKernelKey  = 4 << 10  // bytes of an attribute key
	MaxKernelArgs = 256      // values in a select's list
	MaxKernelList = 64 << 10 // bytes of a select's list or of an edit_where operation
)

// Guest exports.
const (
	ExportABIVersion = "wasmcol_abi_version" // () -> i32, must return Version
	ExportSignals    = "wasmcol_signals"     // () -> i32, a bit set of Signal* values
	ExportInit       = "wasmcol_init"        // () -> i32, 0 on success
	ExportProcess    = "wasmcol_process"     // (signal) -> i32, 0 on success
	ExportInitialize = "_initialize"         // WASI reactor start, called once first
)

// Signals, passed to ExportProcess and combined in ExportSignals' bit set.
const (
	SignalTraces  = 1
	SignalMetrics = 2
	SignalLogs    = 4
)

// Results of ExportProcess and ExportInit.
const (
	ResultOK    = 0
	ResultError = 1 // the guest called FuncFail with a message first
)

// Tables: the items of a batch, flattened in OTLP order. Resource and Scope
// exist for every signal; the others for the signal named.
const (
	TableResource = 1
	TableScope    = 2
	TableSpan     = 3 // traces
	TableEvent    = 4 // traces: span events
	TableLink     = 5 // traces: span links
	TableMetric   = 6 // metrics
	TablePoint    = 7 // metrics: data points of every metric type
	TableLog      = 8 // logs
)

// Fields of a table's items. Not every field exists on every table; ABI.md
// has the matrix. A field marked "settable" may be used in OpSetField.
const (
	FieldAttr          = 0  // the attribute named by key; value or Empty
	FieldAttrs         = 1  // all attributes, as a List
	FieldParent        = 2  // Int: index of the owning item (scope→resource, span→scope, event/link→span, metric→scope, point→metric, log→scope)
	FieldName          = 3  // Str: scope, span (settable), event, metric (settable) name
	FieldVersion       = 4  // Str: scope version
	FieldTraceID       = 5  // Bytes(16): span, link, log
	FieldSpanID        = 6  // Bytes(8): span, link, log
	FieldParentSpanID  = 7  // Bytes(8) or Empty: span
	FieldTraceState    = 8  // Str: span (settable), link
	FieldKind          = 9  // Int: span kind (settable); metric type
	FieldStartTime     = 10 // Int, Unix ns: span, point
	FieldTime          = 11 // Int, Unix ns: span end, event, point, log
	FieldStatusCode    = 12 // Int: span (settable)
	FieldStatusMessage = 13 // Str: span (settable)
	FieldFlags         = 14 // Int: span, point, log
	FieldDescription   = 15 // Str: metric (settable)
	FieldUnit          = 16 // Str: metric (settable)
	FieldValue         = 17 // point: Int or Double number (settable), Empty for histograms and summaries; log: body, any value (settable)
	FieldCount         = 18 // Int: histogram, exponential histogram and summary points
	FieldSum           = 19 // Double or Empty: histogram, exponential histogram and summary points
	FieldSeverity      = 20 // Int: log severity number (settable)
	FieldSeverityText  = 21 // Str: log (settable)
	FieldObservedTime  = 22 // Int, Unix ns: log
	FieldResource      = 23 // Int: index of the item's resource (scope, span, metric, point, log)
)

// Value tags. Every value in a column or an edit starts with one.
const (
	TagEmpty  = 0 // no value: the attribute or optional field is absent
	TagStr    = 1 // u32 length, UTF-8 bytes
	TagInt    = 2 // i64, little endian
	TagDouble = 3 // IEEE 754 f64 bits, little endian
	TagBool   = 4 // u8, 0 or 1
	TagBytes  = 5 // u32 length, bytes
	TagList   = 6 // u32 count, then count × (u32 key length, key, value): FieldAttrs only
	TagOther  = 7 // u32 length, JSON text: a map or array attribute, read only
)

// Edit operations. An edit list is a sequence of
// op u8, table u8, index u32, then the operands below.
const (
	OpSetAttr    = 1 // key (u32 len, bytes), value (TagStr..TagBytes)
	OpDeleteAttr = 2 // key
	OpRenameAttr = 3 // old key, new key; nothing happens when old is absent
	OpSetField   = 4 // field u8, value
	OpDrop       = 5 // no operands
)

// Span kinds, status codes and metric types, as in OTLP.
const (
	SpanKindUnspecified = 0
	SpanKindInternal    = 1
	SpanKindServer      = 2
	SpanKindClient      = 3
	SpanKindProducer    = 4
	SpanKindConsumer    = 5

	StatusUnset = 0
	StatusOK    = 1
	StatusError = 2

	MetricEmpty                = 0
	MetricGauge                = 1
	MetricSum                  = 2
	MetricHistogram            = 3
	MetricExponentialHistogram = 4
	MetricSummary              = 5
)

// Log levels for FuncLog.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// Errors: negative results of host functions.
const (
	ErrBounds   = -1 // a pointer or length lies outside guest memory
	ErrArgument = -2 // unknown table or field, or a field the table lacks
	ErrState    = -3 // called out of order: no batch, no result, or wrong signal
	ErrEncoding = -4 // a malformed edit list, key or OTLP payload
	ErrTooLarge = -5 // over a size limit (result, key-value entry or store)
	ErrNotFound = -6 // kv_get: no such key
)

// ErrorText names an error code for messages.
func ErrorText(code int32) string {
	switch code {
	case ErrBounds:
		return "out of bounds"
	case ErrArgument:
		return "bad argument"
	case ErrState:
		return "called out of order"
	case ErrEncoding:
		return "malformed encoding"
	case ErrTooLarge:
		return "too large"
	case ErrNotFound:
		return "not found"
	}
	return "unknown error"
}
