// SPDX-License-Identifier: Apache-2.0

// Package kedify is the kedify filter, which marks cold starts: the KEDA
// HTTP add-on interceptor's cold-start requests (with how long they
// waited), the Knative activator's long throttler_try spans, and requests
// that came through Kedify Proxy. See ../README.md for its config.
//
// The command in the directory above builds it as a module of its own,
// kedify.wasm; examples/builtins holds it with the other built-in filters in
// one module, where it runs as builtin:kedify.
package kedify

import (
	"errors"
	"fmt"
	"time"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// New returns the filter, for a module to register:
//
//	func init() { wasmcol.Register(kedify.New()) }
func New() wasmcol.TracesFilter { return &filter{} }

type config struct {
	Interceptor        bool   `json:"interceptor"`
	InterceptorService string `json:"interceptor_service"`
	WaitTime           bool   `json:"wait_time"`
	Knative            bool   `json:"knative"`
	ColdStartThreshold string `json:"cold_start_threshold"`
	Proxy              bool   `json:"proxy"`
}

func defaults() config {
	return config{
		Interceptor:        true,
		InterceptorService: "keda-http-interceptor",
		WaitTime:           true,
		Knative:            true,
		ColdStartThreshold: "1s",
		Proxy:              true,
	}
}

const (
	keyColdStart     = "kedify.cold_start"
	keyWait          = "kedify.cold_start.wait_ms"
	keyKnativeCold   = "knative.cold_start"
	keyProxy         = "kedify.proxy"
	keyInterceptCold = "cold-start"
)

type filter struct {
	cfg       config
	threshold time.Duration
	// Reused across batches so a batch allocates nothing.
	intercept []bool // by resource index: is it the interceptor?
	cold      []int  // interceptor SERVER spans marked cold in this batch
	unknown   []int  // interceptor SERVER spans without a cold-start attribute
	clients   []int  // interceptor CLIENT spans in this batch
	// children is each server span's CLIENT child that ended last, by the
	// server span's trace and span ID, built once a batch: looking for the
	// child among all CLIENT spans for each server span took n² steps,
	// and 10,000 spans chosen for it took a batch past its 1 s deadline
	// (attack round 15). Go's map, unlike a hash table keyed by the IDs'
	// own bits, cannot be made to collide by the IDs a client picks.
	children map[spanKey]int
}

// spanKey names a span by its trace and span ID.
type spanKey struct {
	trace wasmcol.TraceID
	span  wasmcol.SpanID
}

func (f *filter) Init(c wasmcol.Config) error {
	f.cfg = defaults()
	if err := c.Decode(&f.cfg); err != nil {
		return err
	}
	d, err := time.ParseDuration(f.cfg.ColdStartThreshold)
	if err != nil {
		return fmt.Errorf("config: cold_start_threshold: %w", err)
	}
	if d < 0 {
		return errors.New("config: cold_start_threshold must not be negative")
	}
	f.threshold = d
	return nil
}

func (f *filter) ProcessTraces(t wasmcol.Traces) error {
	f.intercept = f.intercept[:0]
	if f.cfg.Interceptor {
		for r := range t.Resources() {
			f.intercept = append(f.intercept, r.Attr("service.name").Str() == f.cfg.InterceptorService)
		}
	}
	f.cold, f.unknown, f.clients = f.cold[:0], f.unknown[:0], f.clients[:0]
	n := t.Len()
	for i := 0; i < n; i++ {
		s := t.Span(i)
		// The name settles the Knative and proxy cases; the interceptor's
		// server span changed names across versions, so it goes by
		// resource.
		switch name := s.Name(); {
		case f.cfg.Knative && name == "throttler_try":
			// throttler_try is the activator waiting for capacity; from
			// zero replicas, that wait is the cold start.
			if s.Duration() > f.threshold {
				s.SetAttr(keyKnativeCold, wasmcol.Bool(true))
			}
			continue
		case f.cfg.Proxy && name == "ingress":
			// Envoy's inbound span; component=proxy tells it from an
			// application's span of the same name.
			if s.Attr("component").Str() == "proxy" {
				s.SetAttr(keyProxy, wasmcol.Bool(true))
			}
			continue
		}
		if !f.cfg.Interceptor {
			continue
		}
		if ri := s.Resource().Index(); ri >= len(f.intercept) || !f.intercept[ri] {
			continue
		}
		switch s.Kind() {
		case wasmcol.SpanKindServer:
			switch v := s.Attr(keyInterceptCold); {
			case v.Str() == "true" || v.Bool():
				s.SetAttr(keyColdStart, wasmcol.Bool(true))
				f.cold = append(f.cold, i)
			case v.IsEmpty():
				// Not "" but absent: v0.11–v0.13 set it on the
				// caller's remote span context, a no-op, whenever the
				// caller sent a traceparent
				// (kedacore/http-add-on interceptor/handler/upstream.go).
				f.unknown = append(f.unknown, i)
			}
		case wasmcol.SpanKindClient:
			f.clients = append(f.clients, i)
		}
	}
	if len(f.unknown) > 0 || f.cfg.WaitTime && len(f.cold) > 0 {
		f.indexChildren(t)
	}
	if f.cfg.WaitTime {
		for _, i := range f.cold {
			srv := t.Span(i)
			if w, ok := f.held(t, srv); ok {
				setWait(srv, w)
			}
		}
	}
	// With the attribute lost, the wait is the only evidence: a request
	// held longer than the threshold waited for the app to scale up.
	for _, i := range f.unknown {
		srv := t.Span(i)
		if w, ok := f.held(t, srv); ok && w > f.threshold {
			srv.SetAttr(keyColdStart, wasmcol.Bool(true))
			if f.cfg.WaitTime {
				setWait(srv, w)
			}
		}
	}
	return nil
}

// held is how long the interceptor held a request before forwarding it:
// its server span's duration minus its CLIENT child's, which is the
// forwarded request. With no child in this batch there is no answer. With
// several (retries), the one that ended last is the request that got
// through. Clock skew between spans of one process cannot happen, but a
// negative wait would be nonsense: there is no answer then either, rather
// than a lie.
func (f *filter) held(t wasmcol.Traces, srv wasmcol.Span) (time.Duration, bool) {
	j, found := f.children[spanKey{srv.TraceID(), srv.SpanID()}]
	if !found {
		return 0, false
	}
	w := srv.Duration() - t.Span(j).Duration()
	return w, w >= 0
}

// indexChildren fills children from this batch's CLIENT spans: for each
// parent, the child that ended last, the first of those that ended at once.
func (f *filter) indexChildren(t wasmcol.Traces) {
	if f.children == nil {
		f.children = make(map[spanKey]int)
	}
	clear(f.children)
	for _, j := range f.clients {
		c := t.Span(j)
		k := spanKey{c.TraceID(), c.ParentSpanID()}
		if prev, ok := f.children[k]; !ok || c.EndTime() > t.Span(prev).EndTime() {
			f.children[k] = j
		}
	}
}

// setWait sets the wait in whole milliseconds, rounded.
func setWait(srv wasmcol.Span, w time.Duration) {
	ms := (w + time.Millisecond/2) / time.Millisecond
	srv.SetAttr(keyWait, wasmcol.Int(int64(ms)))
}
