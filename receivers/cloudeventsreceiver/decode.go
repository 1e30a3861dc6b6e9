// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	jsoniter "github.com/json-iterator/go"
)

// The content modes of the CloudEvents HTTP binding, as the receiver's
// metrics and logs name them.
const (
	modeBinary     = "binary"
	modeStructured = "structured"
	modeBatch      = "batch"
)

// decoded is a request's events, decoded and validated by the CloudEvents
// SDK.
type decoded struct {
	mode string
	// count is how many events the request carried, as far as it could be
	// told: what the receiver's metrics count as failed when it is refused.
	count  int
	events []event.Event
}

// maxListedErrors bounds how many bad events of one batch the answer names.
const maxListedErrors = 10

// decode reads the events of one request in whichever content mode it
// uses. Any invalid event refuses the whole request: see the README's
// "Batches are all or nothing".
func decode(h http.Header, body []byte) (decoded, *requestError) {
	msg := cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body)))
	switch msg.ReadEncoding() {
	case binding.EncodingBinary:
		d := decoded{mode: modeBinary, count: 1}
		if err := precheck(d.mode, []int{ceHeaders(h)}); err != nil {
			return d, err
		}
		ev, err := binding.ToEvent(context.Background(), msg)
		if err == nil {
			err = ev.Validate()
		}
		if err != nil {
			return d, badRequest("invalid CloudEvent (binary content mode): " + describe(err))
		}
		d.events = []event.Event{*ev}
		return d, nil

	case binding.EncodingStructured:
		d := decoded{mode: modeStructured, count: 1}
		if err := precheck(d.mode, []int{extensionKeys(body)}); err != nil {
			return d, err
		}
		ev, err := binding.ToEvent(context.Background(), msg)
		if err == nil {
			err = ev.Validate()
		}
		if err != nil {
			return d, badRequest("invalid CloudEvent (structured content mode): " + describe(err))
		}
		d.events = []event.Event{*ev}
		return d, nil

	case binding.EncodingBatch:
		d := decoded{mode: modeBatch, count: 1}
		// The SDK decodes a batch in one json.Unmarshal, which cannot say
		// which event is wrong; splitting the array first lets the answer
		// name each one, and each event is still decoded by the SDK.
		most := maxRecordsCost / bytesPerRecord
		raws, err := splitBatch(body, most)
		if errors.Is(err, errTooManyEvents) {
			d.count = len(raws)
			return d, &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the batch holds more than %d events, which would take more than %d MiB as log records; nothing was accepted",
				most, maxRecordsCost>>20)}
		}
		if err != nil {
			return d, badRequest("invalid CloudEvents batch: the body must be a JSON array of structured CloudEvents: " + describe(err))
		}
		d.count = len(raws)
		extensions := make([]int, len(raws))
		for i, raw := range raws {
			extensions[i] = extensionKeys(raw)
		}
		if err := precheck(d.mode, extensions); err != nil {
			return d, err
		}
		d.events = make([]event.Event, len(raws))
		var bad []string
		nbad := 0
		for i, raw := range raws {
			// The batch is valid JSON as a whole: UnmarshalJSON, the SDK's
			// decoder, need not check the syntax of each event again as
			// json.Unmarshal would.
			err := d.events[i].UnmarshalJSON(raw)
			if err == nil {
				err = d.events[i].Validate()
			}
			if err != nil {
				nbad++
				if len(bad) < maxListedErrors {
					bad = append(bad, fmt.Sprintf("event %d%s: %s", i, rawID(raw), describe(err)))
				}
			}
		}
		if nbad > 0 {
			more := ""
			if nbad > len(bad) {
				more = fmt.Sprintf("; and %d more", nbad-len(bad))
			}
			return d, badRequest(fmt.Sprintf("invalid CloudEvents batch: %d of %d events are invalid, so none was accepted: %s%s",
				nbad, len(raws), strings.Join(bad, "; "), more))
		}
		return d, nil
	}

	// Neither mode matched: find out what the sender meant.
	if v := h.Get("Ce-Specversion"); v != "" {
		return decoded{mode: modeBinary, count: 1}, badRequest(fmt.Sprintf(
			"invalid CloudEvent (binary content mode): specversion: unsupported value %q in the ce-specversion header (accepted: 1.0, 0.3)", v))
	}
	ct := h.Get("Content-Type")
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/cloudevents") {
		return decoded{mode: modeStructured, count: 1}, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf(
			"unsupported CloudEvents event format %q: this receiver reads application/cloudevents+json, application/cloudevents-batch+json and the binary content mode", ct)}
	}
	return decoded{mode: modeBinary, count: 1}, badRequest(fmt.Sprintf(
		"not a CloudEvent: no ce-specversion header (binary content mode), and Content-Type %q is neither application/cloudevents+json (structured) nor application/cloudevents-batch+json (batched)", ct))
}

// precheck bounds what the events of a request would cost before the
// CloudEvents SDK decodes them (which costs about what the log records
// do: a 19 MiB request of 2 million extensions held 92 MiB decoded,
// before toLogs could refuse it), from each event's count of extension
// attributes: its other top-level JSON keys, or its other ce- headers.
func precheck(mode string, extensions []int) *requestError {
	cost := 0
	for i, n := range extensions {
		if n > maxExtensions {
			where := "the event"
			if mode == modeBatch {
				where = fmt.Sprintf("event %d of the batch", i)
			}
			return badRequest(fmt.Sprintf("%s has more than %d extension attributes; nothing was accepted", where, maxExtensions))
		}
		if cost += bytesPerRecord + n*bytesPerExtension; cost > maxRecordsCost {
			return &requestError{http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the request's %d events would take more than %d MiB as log records; nothing was accepted",
				len(extensions), maxRecordsCost>>20)}
		}
	}
	return nil
}

// notExtensions are the names of an event's context attributes and data.
var notExtensions = map[string]bool{"specversion": true, "id": true, "source": true, "type": true,
	"datacontenttype": true, "dataschema": true, "subject": true, "time": true, "data": true, "data_base64": true}

// extensionKeys counts the keys of a JSON object that are not context
// attributes or data, up to one past what precheck allows; anything but
// an object counts none (the SDK then refuses it).
func extensionKeys(raw []byte) int {
	iter := jsoniter.ConfigFastest.BorrowIterator(raw)
	defer jsoniter.ConfigFastest.ReturnIterator(iter)
	if iter.WhatIsNext() != jsoniter.ObjectValue {
		return 0
	}
	n := 0
	iter.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		it.Skip()
		if !notExtensions[key] {
			n++
		}
		return n <= maxExtensions
	})
	return n
}

// ceHeaders counts a binary-mode event's extension headers.
func ceHeaders(h http.Header) int {
	n := 0
	for k := range h {
		if len(k) > 3 && strings.EqualFold(k[:3], "ce-") && !notExtensions[strings.ToLower(k[3:])] {
			n++
		}
	}
	return n
}

func badRequest(reason string) *requestError {
	return &requestError{http.StatusBadRequest, reason}
}

// idOf names an event of a batch by its id when it has one.
func idOf(ev event.Event) string {
	if ev.Context == nil || ev.ID() == "" {
		return ""
	}
	return fmt.Sprintf(" (id %q)", ev.ID())
}

// errTooManyEvents is splitBatch's answer to a batch of more than its
// most elements.
var errTooManyEvents = errors.New("too many events")

// splitBatch checks that body is JSON (encoding/json's error says where it
// is not) and returns the elements of its top-level array, at most most
// of them: past that it returns the first most and errTooManyEvents.
// Stopping there is what bounds a batch of tiny elements: a 20 MiB body
// of 10 million zeros was split whole before precheck refused it, 1.1 GiB
// of heap and 7 s for one request, and sixteen at once ended the process
// out of memory.
func splitBatch(body []byte, most int) ([]json.RawMessage, error) {
	if !json.Valid(body) {
		var raws []json.RawMessage
		return nil, json.Unmarshal(body, &raws) // for the precise SyntaxError
	}
	iter := jsoniter.ConfigFastest.BorrowIterator(body)
	defer jsoniter.ConfigFastest.ReturnIterator(iter)
	if next := iter.WhatIsNext(); next != jsoniter.ArrayValue {
		return nil, errors.New("the body is a JSON " + jsonKind(next) + ", not an array")
	}
	var raws []json.RawMessage
	tooMany := false
	iter.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		if len(raws) == most {
			tooMany = true
			return false
		}
		raws = append(raws, it.SkipAndReturnBytes())
		return it.Error == nil
	})
	if tooMany {
		return raws, errTooManyEvents
	}
	return raws, iter.Error
}

func jsonKind(v jsoniter.ValueType) string {
	switch v {
	case jsoniter.ObjectValue:
		return "object"
	case jsoniter.StringValue:
		return "string"
	case jsoniter.NumberValue:
		return "number"
	case jsoniter.BoolValue:
		return "boolean"
	case jsoniter.NilValue:
		return "null"
	}
	return "value"
}

// rawID names an invalid event of a batch by its id, when its JSON has
// one: the SDK stops decoding at the first error, possibly before the id.
func rawID(raw json.RawMessage) string {
	var ev struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &ev) != nil || ev.ID == "" {
		return ""
	}
	return fmt.Sprintf(" (id %q)", ev.ID)
}

// describe renders an SDK error for the sender: validation errors with
// their attributes in a stable order, a missing or unknown specversion with
// what is accepted, and JSON syntax errors with their offset.
func describe(err error) string {
	var verr event.ValidationError
	if errors.As(err, &verr) {
		keys := make([]string, 0, len(verr))
		for k := range verr {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + verr[k].Error()
			if k == "specversion" {
				parts[i] += " (accepted: 1.0, 0.3)"
			}
		}
		return strings.Join(parts, "; ")
	}
	var serr *json.SyntaxError
	if errors.As(err, &serr) {
		return fmt.Sprintf("malformed JSON at byte %d: %s", serr.Offset, serr.Error())
	}
	var terr *json.UnmarshalTypeError
	if errors.As(err, &terr) {
		return fmt.Sprintf("malformed JSON: %s", terr.Error())
	}
	return err.Error()
}
