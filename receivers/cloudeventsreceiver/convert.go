// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wasmcol/wasmcol/receivers/cloudeventsreceiver/internal/metadata"
)

// Log attributes. The first five are the OpenTelemetry semantic
// conventions' cloudevents.* attributes; the two data attributes follow
// their naming for context attributes the conventions do not cover.
const (
	AttrEventID              = "cloudevents.event_id"
	AttrEventSource          = "cloudevents.event_source"
	AttrEventSpecVersion     = "cloudevents.event_spec_version"
	AttrEventType            = "cloudevents.event_type"
	AttrEventSubject         = "cloudevents.event_subject"
	AttrEventDataContentType = "cloudevents.event_data_content_type"
	AttrEventDataSchema      = "cloudevents.event_data_schema"
	// ExtensionPrefix prefixes each extension attribute's name, as in
	// cloudevents.extension.knativearrivaltime.
	ExtensionPrefix = "cloudevents.extension."
)

// Resource attributes derived from a Knative source URI.
const (
	attrServiceName   = "service.name"
	attrK8sNamespace  = "k8s.namespace.name"
	attrK8sPodName    = "k8s.pod.name"
	traceparentHeader = "Traceparent"
	traceparentExt    = "traceparent"
	tracestateExt     = "tracestate"
)

// maxExtensions bounds an event's extension attributes, each a log
// attribute: 20,000 short ones an event made a 19 MiB batch 155 MiB of
// logs. Real events carry a handful.
const maxExtensions = 1000

// What a request's log records may cost, reckoned before their bodies
// (which setJSON bounds) at bytesPerRecord a record and bytesPerExtension
// an extension attribute: a 19 MiB batch of 362,235 minimal events took
// 155 MiB as log records, one of 2,473 events with 1,000 extensions each
// 172 MiB.
const (
	bytesPerRecord    = 512
	bytesPerExtension = 160
)

var maxRecordsCost = 64 << 20

// toLogs turns decoded events into log records, one per event, grouped by
// the resource their source implies. An event whose data is over the cap
// refuses the whole request, like any other invalid event.
func toLogs(d decoded, h http.Header, cfg *Config) (plog.Logs, *requestError) {
	for i := range d.events {
		if size := int64(len(d.events[i].Data())); size > cfg.MaxDataSize {
			where := "the event"
			if d.mode == modeBatch {
				where = fmt.Sprintf("event %d of the batch", i)
			}
			return plog.Logs{}, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"%s%s has %d bytes of data, over max_data_size (%d bytes); nothing was accepted",
				where, idOf(d.events[i]), size, cfg.MaxDataSize)}
		}
	}

	// The traceparent header is the hop that delivered the request (a
	// Knative dispatcher or broker filter), the most precise parent for
	// the record; the event's extension, set when the event was created,
	// is the fallback.
	header, hasHeader := parseTraceparent(h.Get(traceparentHeader))
	observed := pcommon.NewTimestampFromTime(time.Now())

	logs := plog.NewLogs()
	byResource := map[sourceIdentity]plog.LogRecordSlice{}
	// Structured and batched requests passed encoding/json's syntax check
	// whole, data included; only binary-mode data is unchecked.
	dataChecked := d.mode != modeBinary
	jsonBudget := maxStructuredCost
	cost := 0
	for i := range d.events {
		ev := &d.events[i]
		source := ev.Source() // built from a url.URL on every call
		id, knative := knativeSource(source)
		records, ok := byResource[id]
		if !ok {
			rl := logs.ResourceLogs().AppendEmpty()
			setResource(rl.Resource().Attributes(), cfg.Resource, id, knative)
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(metadata.ScopeName)
			records = sl.LogRecords()
			byResource[id] = records
		}
		ext := ev.Extensions() // a copy: read it once
		if cost += bytesPerRecord + len(ext)*bytesPerExtension; cost > maxRecordsCost {
			return plog.Logs{}, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the request's %d events would take more than %d MiB as log records; nothing was accepted",
				len(d.events), maxRecordsCost>>20)}
		}
		if len(ext) > maxExtensions {
			where := "the event"
			if d.mode == modeBatch {
				where = fmt.Sprintf("event %d of the batch", i)
			}
			return plog.Logs{}, &requestError{http.StatusBadRequest, fmt.Sprintf(
				"%s%s has %d extension attributes, over %d; nothing was accepted", where, idOf(*ev), len(ext), maxExtensions)}
		}
		lr := records.AppendEmpty()
		lr.SetObservedTimestamp(observed)
		fillRecord(lr, ev, source, ext, dataChecked, &jsonBudget)
		tc, ok := header, hasHeader
		if !ok {
			if s, isStr := ext[traceparentExt].(string); isStr {
				tc, ok = parseTraceparent(s)
			}
		}
		if ok {
			lr.SetTraceID(tc.traceID)
			lr.SetSpanID(tc.spanID)
			lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(tc.sampled))
		}
	}
	return logs, nil
}

// setResource writes the configured attributes, then what a Knative
// source URI says, which wins.
func setResource(attrs pcommon.Map, configured map[string]string, id sourceIdentity, knative bool) {
	for k, v := range configured {
		attrs.PutStr(k, v)
	}
	if !knative {
		return
	}
	attrs.PutStr(attrServiceName, id.service)
	if id.namespace != "" {
		attrs.PutStr(attrK8sNamespace, id.namespace)
	}
	if id.pod != "" {
		attrs.PutStr(attrK8sPodName, id.pod)
	}
}

// fillRecord maps one event's context attributes, extensions, time and
// data onto the record.
func fillRecord(lr plog.LogRecord, ev *event.Event, source string, ext map[string]any, dataChecked bool, jsonBudget *int) {
	if t := ev.Time(); !t.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
	}
	// An OpenTelemetry event name identifies the class of event, as a
	// CloudEvents type does.
	lr.SetEventName(ev.Type())

	attrs := lr.Attributes()
	attrs.EnsureCapacity(7 + len(ext))
	attrs.PutStr(AttrEventID, ev.ID())
	attrs.PutStr(AttrEventSource, source)
	attrs.PutStr(AttrEventSpecVersion, ev.SpecVersion())
	attrs.PutStr(AttrEventType, ev.Type())
	if s := ev.Subject(); s != "" {
		attrs.PutStr(AttrEventSubject, s)
	}
	if s := ev.DataContentType(); s != "" {
		attrs.PutStr(AttrEventDataContentType, s)
	}
	if s := ev.DataSchema(); s != "" {
		attrs.PutStr(AttrEventDataSchema, s)
	}

	// Sorted, so that the same event always gives the same record.
	names := make([]string, 0, len(ext))
	for name := range ext {
		// The trace context is the record's trace and span IDs; a log
		// record has no tracestate, and tracestate is vendor routing data,
		// not part of the event.
		if name == traceparentExt || name == tracestateExt {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		key := ExtensionPrefix + name
		switch v := ext[name].(type) {
		case string:
			attrs.PutStr(key, v)
		case bool:
			attrs.PutBool(key, v)
		case int32:
			attrs.PutInt(key, int64(v))
		case []byte:
			attrs.PutEmptyBytes(key).FromRaw(v)
		default:
			// URI, URI-reference and Timestamp extensions, as their
			// canonical strings.
			s, err := types.Format(v)
			if err != nil {
				s = fmt.Sprint(v)
			}
			attrs.PutStr(key, s)
		}
	}

	setBody(lr.Body(), ev, dataChecked, jsonBudget)
}

// setBody makes the event's data the record's body: structured when it is
// JSON (and the request's jsonBudget allows), a string when it is UTF-8
// text, bytes otherwise. dataChecked says the data is known to be valid
// JSON unless it came base64-encoded.
func setBody(body pcommon.Value, ev *event.Event, dataChecked bool, jsonBudget *int) {
	data := ev.Data()
	if len(data) == 0 {
		return
	}
	mt := strings.ToLower(ev.DataMediaType())
	if isJSONMediaType(mt) && ((dataChecked && !ev.DataBase64) || json.Valid(data)) {
		if err := setJSON(body, data, jsonBudget); err == nil {
			return
		}
	}
	if mt != "application/octet-stream" && utf8.Valid(data) {
		body.SetStr(string(data))
		return
	}
	body.SetEmptyBytes().FromRaw(data)
}

// isJSONMediaType reports whether data of media type mt is JSON. No
// datacontenttype means JSON in the structured mode and is worth a try in
// the binary mode: json.Valid decides.
func isJSONMediaType(mt string) bool {
	return mt == "" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
