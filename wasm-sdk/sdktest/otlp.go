// SPDX-License-Identifier: Apache-2.0

package sdktest

// An in-memory model of OTLP traces, metrics and logs in the OTLP/JSON
// encoding. Field order and omission rules follow pdata's JSON marshaler
// (go.opentelemetry.io/collector/pdata v1.64), so output reads like the
// Collector's file exporter and an identity filter returns its input
// field for field. The model uses value slices: the tables in tables.go
// point into them, and nothing appends to them while a batch is live.

type tracesData struct {
	ResourceSpans []resourceSpans `json:"resourceSpans,omitempty"`
}

type resourceSpans struct {
	Resource   resource     `json:"resource"`
	ScopeSpans []scopeSpans `json:"scopeSpans,omitempty"`
	SchemaURL  string       `json:"schemaUrl,omitempty"`
	// Read only to migrate old payloads the way pdata does; never written.
	DeprecatedScopeSpans []scopeSpans `json:"deprecatedScopeSpans,omitempty"`
}

type scopeSpans struct {
	Scope     scope  `json:"scope"`
	Spans     []span `json:"spans,omitempty"`
	SchemaURL string `json:"schemaUrl,omitempty"`
}

type resource struct {
	Attributes             []keyValue  `json:"attributes,omitempty"`
	DroppedAttributesCount u32         `json:"droppedAttributesCount,omitempty"`
	EntityRefs             []entityRef `json:"entityRefs,omitempty"`
}

type entityRef struct {
	SchemaURL       string   `json:"schemaUrl,omitempty"`
	Type            string   `json:"type,omitempty"`
	IDKeys          []string `json:"idKeys,omitempty"`
	DescriptionKeys []string `json:"descriptionKeys,omitempty"`
}

type scope struct {
	Name                   string     `json:"name,omitempty"`
	Version                string     `json:"version,omitempty"`
	Attributes             []keyValue `json:"attributes,omitempty"`
	DroppedAttributesCount u32        `json:"droppedAttributesCount,omitempty"`
}

type keyValue struct {
	Key   string   `json:"key,omitempty"`
	Value anyValue `json:"value"`
}

type span struct {
	TraceID                traceID     `json:"traceId,omitzero"`
	SpanID                 spanID      `json:"spanId,omitzero"`
	TraceState             string      `json:"traceState,omitempty"`
	ParentSpanID           spanID      `json:"parentSpanId,omitzero"`
	Flags                  u32         `json:"flags,omitempty"`
	Name                   string      `json:"name,omitempty"`
	Kind                   spanKind    `json:"kind,omitempty"`
	StartTimeUnixNano      u64         `json:"startTimeUnixNano,omitempty"`
	EndTimeUnixNano        u64         `json:"endTimeUnixNano,omitempty"`
	Attributes             []keyValue  `json:"attributes,omitempty"`
	DroppedAttributesCount u32         `json:"droppedAttributesCount,omitempty"`
	Events                 []spanEvent `json:"events,omitempty"`
	DroppedEventsCount     u32         `json:"droppedEventsCount,omitempty"`
	Links                  []spanLink  `json:"links,omitempty"`
	DroppedLinksCount      u32         `json:"droppedLinksCount,omitempty"`
	Status                 status      `json:"status"`

	drop bool // marked by OpDrop, removed once every edit has run
}

type spanEvent struct {
	TimeUnixNano           u64        `json:"timeUnixNano,omitempty"`
	Name                   string     `json:"name,omitempty"`
	Attributes             []keyValue `json:"attributes,omitempty"`
	DroppedAttributesCount u32        `json:"droppedAttributesCount,omitempty"`
}

type spanLink struct {
	TraceID                traceID    `json:"traceId,omitzero"`
	SpanID                 spanID     `json:"spanId,omitzero"`
	TraceState             string     `json:"traceState,omitempty"`
	Attributes             []keyValue `json:"attributes,omitempty"`
	DroppedAttributesCount u32        `json:"droppedAttributesCount,omitempty"`
	Flags                  u32        `json:"flags,omitempty"`
}

type status struct {
	Message string     `json:"message,omitempty"`
	Code    statusCode `json:"code,omitempty"`
}

type metricsData struct {
	ResourceMetrics []resourceMetrics `json:"resourceMetrics,omitempty"`
}

type resourceMetrics struct {
	Resource               resource       `json:"resource"`
	ScopeMetrics           []scopeMetrics `json:"scopeMetrics,omitempty"`
	SchemaURL              string         `json:"schemaUrl,omitempty"`
	DeprecatedScopeMetrics []scopeMetrics `json:"deprecatedScopeMetrics,omitempty"`
}

type scopeMetrics struct {
	Scope     scope    `json:"scope"`
	Metrics   []metric `json:"metrics,omitempty"`
	SchemaURL string   `json:"schemaUrl,omitempty"`
}

// metric holds at most one of its data pointers, like OTLP's oneof.
type metric struct {
	Name                 string        `json:"name,omitempty"`
	Description          string        `json:"description,omitempty"`
	Unit                 string        `json:"unit,omitempty"`
	Gauge                *gauge        `json:"gauge,omitempty"`
	Sum                  *sum          `json:"sum,omitempty"`
	Histogram            *histogram    `json:"histogram,omitempty"`
	ExponentialHistogram *expHistogram `json:"exponentialHistogram,omitempty"`
	Summary              *summary      `json:"summary,omitempty"`
	Metadata             []keyValue    `json:"metadata,omitempty"`

	drop bool
}

type gauge struct {
	DataPoints []numberPoint `json:"dataPoints,omitempty"`
}

type sum struct {
	DataPoints             []numberPoint `json:"dataPoints,omitempty"`
	AggregationTemporality temporality   `json:"aggregationTemporality,omitempty"`
	IsMonotonic            bool          `json:"isMonotonic,omitempty"`
}

type histogram struct {
	DataPoints             []histogramPoint `json:"dataPoints,omitempty"`
	AggregationTemporality temporality      `json:"aggregationTemporality,omitempty"`
}

type expHistogram struct {
	DataPoints             []expHistogramPoint `json:"dataPoints,omitempty"`
	AggregationTemporality temporality         `json:"aggregationTemporality,omitempty"`
}

type summary struct {
	DataPoints []summaryPoint `json:"dataPoints,omitempty"`
}

// numberPoint holds at most one of AsDouble and AsInt.
type numberPoint struct {
	Attributes        []keyValue `json:"attributes,omitempty"`
	StartTimeUnixNano u64        `json:"startTimeUnixNano,omitempty"`
	TimeUnixNano      u64        `json:"timeUnixNano,omitempty"`
	AsDouble          *f64       `json:"asDouble,omitempty"`
	AsInt             *i64       `json:"asInt,omitempty"`
	Exemplars         []exemplar `json:"exemplars,omitempty"`
	Flags             u32        `json:"flags,omitempty"`

	drop bool
}

type histogramPoint struct {
	Attributes        []keyValue `json:"attributes,omitempty"`
	StartTimeUnixNano u64        `json:"startTimeUnixNano,omitempty"`
	TimeUnixNano      u64        `json:"timeUnixNano,omitempty"`
	Count             u64        `json:"count,omitempty"`
	Sum               *f64       `json:"sum,omitempty"`
	BucketCounts      []u64      `json:"bucketCounts,omitempty"`
	ExplicitBounds    []f64      `json:"explicitBounds,omitempty"`
	Exemplars         []exemplar `json:"exemplars,omitempty"`
	Flags             u32        `json:"flags,omitempty"`
	Min               *f64       `json:"min,omitempty"`
	Max               *f64       `json:"max,omitempty"`

	drop bool
}

type expHistogramPoint struct {
	Attributes        []keyValue `json:"attributes,omitempty"`
	StartTimeUnixNano u64        `json:"startTimeUnixNano,omitempty"`
	TimeUnixNano      u64        `json:"timeUnixNano,omitempty"`
	Count             u64        `json:"count,omitempty"`
	Sum               *f64       `json:"sum,omitempty"`
	Scale             i32        `json:"scale,omitempty"`
	ZeroCount         u64        `json:"zeroCount,omitempty"`
	Positive          buckets    `json:"positive"`
	Negative          buckets    `json:"negative"`
	Flags             u32        `json:"flags,omitempty"`
	Exemplars         []exemplar `json:"exemplars,omitempty"`
	Min               *f64       `json:"min,omitempty"`
	Max               *f64       `json:"max,omitempty"`
	ZeroThreshold     f64        `json:"zeroThreshold,omitempty"`

	drop bool
}

type buckets struct {
	Offset       i32   `json:"offset,omitempty"`
	BucketCounts []u64 `json:"bucketCounts,omitempty"`
}

type summaryPoint struct {
	Attributes        []keyValue `json:"attributes,omitempty"`
	StartTimeUnixNano u64        `json:"startTimeUnixNano,omitempty"`
	TimeUnixNano      u64        `json:"timeUnixNano,omitempty"`
	Count             u64        `json:"count,omitempty"`
	Sum               f64        `json:"sum,omitempty"`
	QuantileValues    []quantile `json:"quantileValues,omitempty"`
	Flags             u32        `json:"flags,omitempty"`

	drop bool
}

type quantile struct {
	Quantile f64 `json:"quantile,omitempty"`
	Value    f64 `json:"value,omitempty"`
}

// exemplar holds at most one of AsDouble and AsInt.
type exemplar struct {
	FilteredAttributes []keyValue `json:"filteredAttributes,omitempty"`
	TimeUnixNano       u64        `json:"timeUnixNano,omitempty"`
	AsDouble           *f64       `json:"asDouble,omitempty"`
	AsInt              *i64       `json:"asInt,omitempty"`
	TraceID            traceID    `json:"traceId,omitzero"`
	SpanID             spanID     `json:"spanId,omitzero"`
}

type logsData struct {
	ResourceLogs []resourceLogs `json:"resourceLogs,omitempty"`
}

type resourceLogs struct {
	Resource            resource    `json:"resource"`
	ScopeLogs           []scopeLogs `json:"scopeLogs,omitempty"`
	SchemaURL           string      `json:"schemaUrl,omitempty"`
	DeprecatedScopeLogs []scopeLogs `json:"deprecatedScopeLogs,omitempty"`
}

type scopeLogs struct {
	Scope      scope       `json:"scope"`
	LogRecords []logRecord `json:"logRecords,omitempty"`
	SchemaURL  string      `json:"schemaUrl,omitempty"`
}

type logRecord struct {
	TimeUnixNano           u64        `json:"timeUnixNano,omitempty"`
	ObservedTimeUnixNano   u64        `json:"observedTimeUnixNano,omitempty"`
	SeverityNumber         severity   `json:"severityNumber,omitempty"`
	SeverityText           string     `json:"severityText,omitempty"`
	Body                   anyValue   `json:"body"`
	Attributes             []keyValue `json:"attributes,omitempty"`
	DroppedAttributesCount u32        `json:"droppedAttributesCount,omitempty"`
	Flags                  u32        `json:"flags,omitempty"`
	TraceID                traceID    `json:"traceId,omitzero"`
	SpanID                 spanID     `json:"spanId,omitzero"`
	EventName              string     `json:"eventName,omitempty"`

	drop bool
}
