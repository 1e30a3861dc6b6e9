// SPDX-License-Identifier: Apache-2.0

// Package knativehops is the knative-hops filter: it tags every Knative
// Eventing and Serving hop with one vocabulary, whether the span comes from
// the OpenCensus/Zipkin era (Knative up to 1.18) or the OpenTelemetry era
// (1.19 on). See ../README.md for what it recognises and its config.
//
// The command in the directory above builds it as a module of its own,
// knative-hops.wasm; examples/builtins holds it with the other built-in
// filters in one module, where it runs as builtin:knative-hops.
package knativehops

import (
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// New returns the filter, for a module to register:
//
//	func init() { wasmcol.Register(knativehops.New()) }
func New() wasmcol.TracesFilter { return &filter{} }

// config switches each normalisation; every one is on by default except
// dropping the Zipkin-era key, which would break queries written for it.
type config struct {
	TagHops            bool `json:"tag_hops"`
	SplitNames         bool `json:"split_names"`
	MarkReplies        bool `json:"mark_replies"`
	CopyDestination    bool `json:"copy_destination"`
	DropOldDestination bool `json:"drop_old_destination"`
	FillKind           bool `json:"fill_kind"`
}

func defaults() config {
	return config{TagHops: true, SplitNames: true, MarkReplies: true, CopyDestination: true, FillKind: true}
}

// Attribute keys and knative.hop values.
const (
	keyHop          = "knative.hop"
	keyBrokerName   = "kn.broker.name"
	keyBrokerNS     = "kn.broker.namespace"
	keyTriggerName  = "kn.trigger.name"
	keyTriggerNS    = "kn.trigger.namespace"
	keyOldDest      = "messaging.destination"
	keyDest         = "messaging.destination.name"
	keyServerAddr   = "server.address"
	keyServiceName  = "service.name"
	keyContainer    = "container.name"     // queue-proxy's resource, Knative 1.20 on
	keyK8sContainer = "k8s.container.name" // queue-proxy's resource, Knative 1.19.3–1.19.9
	keyRevision     = "kn.revision.name"   // queue-proxy's resource, Knative 1.19 on
	queueProxy      = "queue-proxy"
	hopIngress      = "ingress"
	hopFilter       = "filter"
	hopDispatch     = "dispatch"
	hopReply        = "reply"
	hopActivator    = "activator"
	hopQueue        = "queue"
	ingressHostHead = "broker-ingress."
)

// role is what a resource's service.name says about its spans.
type role uint8

const (
	roleNone role = iota
	roleIngress
	roleFilter
	roleDispatcher
	roleActivator
	// roleRevisionPod is a Zipkin-era queue-proxy, whose service name is
	// its pod's name, <revision>-deployment-<rs>-<pod>.
	roleRevisionPod
	// roleQueueProxy is an OpenTelemetry-era queue-proxy, recognised by
	// its resource since its service.name is the Knative Service's.
	roleQueueProxy
)

type filter struct {
	cfg config
	// Resource indexes by role, reused across batches.
	byRole [roleQueueProxy + 1][]int
}

func (f *filter) Init(c wasmcol.Config) error {
	f.cfg = defaults()
	return c.Decode(&f.cfg)
}

// resourceRole is what a resource says about its spans: its service.name
// for every Knative component but one, and for queue-proxy, which reports
// under the Knative Service's name from 1.19 on, its other attributes.
func resourceRole(r wasmcol.Resource) role {
	svc := r.Attr(keyServiceName).Str()
	if ro := roleOf(svc); ro != roleNone {
		return ro
	}
	if isQueueProxy(r) {
		return roleQueueProxy
	}
	if isRevisionPod(svc) {
		return roleRevisionPod
	}
	return roleNone
}

// roleOf maps a service.name to a role. Both eras' names are here: the
// Zipkin era names Services (broker-ingress.<system namespace>), the
// OpenTelemetry era names components (broker.ingress). The IMC dispatcher
// set its own name, with a dot, up to 1.20.1 and in 1.21.0 (knative/eventing
// pkg/reconciler/inmemorychannel/dispatcher/controller.go); later releases
// take sharedmain's, with a dash.
func roleOf(svc string) role {
	switch {
	case svc == "broker.ingress" || strings.HasPrefix(svc, "broker-ingress."):
		return roleIngress
	case svc == "broker.filter" || strings.HasPrefix(svc, "broker-filter."):
		return roleFilter
	case svc == "imc-dispatcher" || svc == "inmemorychannel-dispatcher" || svc == "inmemorychannel.dispatcher":
		return roleDispatcher
	case svc == "activator-service" || svc == "activator":
		return roleActivator
	}
	return roleNone
}

// isQueueProxy reports whether an OpenTelemetry-era resource is a
// queue-proxy's (knative/serving pkg/queue/sharedmain/otel.go): its
// container is queue-proxy, under container.name from 1.20 and
// k8s.container.name in 1.19.3–1.19.9. 1.19.0–1.19.2 name no container, and
// there kn.revision.name on the resource tells it: no other Knative
// component puts it there, and the user container's resource is the
// user's.
func isQueueProxy(r wasmcol.Resource) bool {
	if c := r.Attr(keyContainer).Str(); c != "" {
		return c == queueProxy
	}
	if c := r.Attr(keyK8sContainer).Str(); c != "" {
		return c == queueProxy
	}
	return r.Attr(keyRevision).Str() != ""
}

// isRevisionPod reports whether name has the shape of a Knative revision's
// pod name, <service>-<5 digits>-deployment-<rs hash>-<pod hash>; the
// generation number is what tells it from a plain Deployment's pod such
// as heartbeats-deployment-<rs>-<pod>.
func isRevisionPod(name string) bool {
	i := strings.LastIndex(name, "-deployment-")
	if i < 6 {
		return false
	}
	gen := name[i-6 : i]
	if gen[0] != '-' {
		return false
	}
	for j := 1; j < 6; j++ {
		if gen[j] < '0' || gen[j] > '9' {
			return false
		}
	}
	rest := name[i+len("-deployment-"):]
	dash := strings.IndexByte(rest, '-')
	return dash > 0 && dash < len(rest)-1 && strings.IndexByte(rest[dash+1:], '-') < 0
}

// ProcessTraces recognises every span by its name first, then by its
// resource's role, and edits whole selections at once: the host tests the
// names and applies each edit to all the spans it concerns, so the guest
// loops only over the spans whose names it must split.
//
// A span gets its edits in this order: the Zipkin-era destination of a
// dispatcher's knative.dev span, knative.hop, the split names, the
// destination of broker: and trigger: spans, and last its kind. The
// phases below keep that order for every span.
func (f *filter) ProcessTraces(t wasmcol.Traces) error {
	for r := range f.byRole {
		f.byRole[r] = f.byRole[r][:0]
	}
	for r := range t.Resources() {
		role := resourceRole(r)
		f.byRole[role] = append(f.byRole[role], r.Index())
	}

	// Spans the name alone settles, in both eras.
	broker := t.SpansWhere(wasmcol.NameHasPrefix("broker:"))
	trigger := t.SpansWhere(wasmcol.NameHasPrefix("trigger:"))
	queue := t.SpansWhere(wasmcol.NameIs("queue_proxy", "queue_wait")).Or(t.SpansWhere(wasmcol.NameHasPrefix("kn.queueproxy.")))
	queueName := t.SpansWhere(wasmcol.NameIs("queue"))
	queueServer := queueName
	if queueName.Len() > 0 {
		queueServer = queueName.And(t.SpansWhere(wasmcol.KindIs(wasmcol.SpanKindServer)))
	}
	named := broker.Or(trigger).Or(queue).Or(queueName)

	// The rest by the role of their resource.
	ingress := f.ofRole(t, roleIngress, named)
	flt := f.ofRole(t, roleFilter, named)
	disp := f.ofRole(t, roleDispatcher, named)
	activator := f.ofRole(t, roleActivator, named)
	// Zipkin-era queue-proxy: ochttp names its server and client spans by
	// URL path. The app's own spans in the same pod come over OTLP with
	// other names.
	pod := f.ofRole(t, roleRevisionPod, named)
	if pod.Len() > 0 {
		pod = pod.And(t.SpansWhere(wasmcol.NameHasPrefix("/"))).
			And(t.SpansWhere(wasmcol.KindIs(wasmcol.SpanKindServer, wasmcol.SpanKindClient)))
	}
	// OpenTelemetry-era queue-proxy: all its spans, among them its server
	// span, GET/POST from 1.23 when otelhttp stopped naming it queue, and
	// its HTTP POST to the user container.
	queueProxySpans := f.ofRole(t, roleQueueProxy, named)

	// A dispatcher's knative.dev span: the target URL is only in the
	// Zipkin-era messaging.destination, copied before the span is tagged.
	knDev := disp.And(t.SpansWhere(wasmcol.NameIs("knative.dev")))
	f.copyDestination(t, knDev)

	if f.cfg.TagHops {
		reply := f.replies(t, disp, knDev)
		tag := func(s wasmcol.Selection, hop string) { s.SetAttr(keyHop, wasmcol.Str(hop)) }
		tag(broker.Or(ingress), hopIngress)
		tag(trigger.Or(flt), hopFilter)
		tag(queue.Or(queueServer).Or(pod).Or(queueProxySpans), hopQueue)
		tag(activator, hopActivator)
		tag(reply, hopReply)
		tag(disp.AndNot(reply), hopDispatch)
	}

	if f.cfg.SplitNames {
		// Namespaces hold no dots, names may: split on the last one.
		for i := range broker.All() {
			// Knative 1.19+ names the broker itself, both keys at once
			// (knative/eventing pkg/observability, WithBrokerLabels): keep
			// what it set rather than rewrite it from the span name.
			if s := t.Span(i); s.Attr(keyBrokerName).IsEmpty() {
				f.splitDotted(s, len("broker:"), keyBrokerName, keyBrokerNS)
			}
		}
		// No Knative release sets kn.trigger.*: there is nothing to keep.
		for i := range trigger.All() {
			f.splitDotted(t.Span(i), len("trigger:"), keyTriggerName, keyTriggerNS)
		}
		// The ingress server span is /<ns>/<broker> in the Zipkin era and
		// POST /<ns>/<broker> in the inner server span after; the filter's
		// is /triggers/<ns>/<trigger>/<uid>.
		for i := range ingress.All() {
			s := t.Span(i)
			if ns, b, ok := splitPath(strings.TrimPrefix(s.Name(), "POST ")); ok {
				s.SetAttr(keyBrokerName, wasmcol.Str(b))
				s.SetAttr(keyBrokerNS, wasmcol.Str(ns))
			}
		}
		for i := range flt.All() {
			s := t.Span(i)
			if ns, tr, ok := triggerPath(strings.TrimPrefix(s.Name(), "POST ")); ok {
				s.SetAttr(keyTriggerName, wasmcol.Str(tr))
				s.SetAttr(keyTriggerNS, wasmcol.Str(ns))
			}
		}
	}

	f.copyDestination(t, broker.Or(trigger))

	// A kindless span gets INTERNAL, which is what Knative sets for the
	// same span from 1.19 on; OpenCensus's Zipkin exporter dropped it.
	// throttler_try and activator_proxy have no kind before 1.19 either.
	if fill := broker.Or(trigger).Or(queue).Or(activator); f.cfg.FillKind && fill.Len() > 0 {
		fill.And(t.SpansWhere(wasmcol.KindIs(wasmcol.SpanKindUnspecified))).SetKind(wasmcol.SpanKindInternal)
	}
	return nil
}

// ofRole is the spans of the resources of role, less those in named.
func (f *filter) ofRole(t wasmcol.Traces, r role, named wasmcol.Selection) wasmcol.Selection {
	if len(f.byRole[r]) == 0 {
		return t.NoSpans()
	}
	return t.SpansWhere(wasmcol.ResourceIn(f.byRole[r]...)).AndNot(named)
}

// replies are the dispatches whose target is a broker ingress, i.e. the
// event re-enters the broker (coinflip's answer).
func (f *filter) replies(t wasmcol.Traces, disp, knDev wasmcol.Selection) wasmcol.Selection {
	reply := t.NoSpans()
	if !f.cfg.MarkReplies || disp.Len() == 0 {
		return reply
	}
	// Zipkin era: the target URL is only in messaging.destination.
	for i := range knDev.All() {
		if isIngressURL(t.Span(i).Attr(keyOldDest).Str()) {
			reply.Add(i)
		}
	}
	for i := range disp.And(t.SpansWhere(wasmcol.NameHasPrefix("send "))).All() {
		if isIngressURL(t.Span(i).Name()[len("send "):]) {
			reply.Add(i)
		}
	}
	// The CLIENT under `send <url>` names only the path; its
	// server.address holds the host.
	post := disp.And(t.SpansWhere(wasmcol.NameHasPrefix("POST /"))).AndNot(t.SpansWhere(wasmcol.NameHasPrefix("POST /triggers/")))
	return reply.Or(post.And(t.SpansWhere(wasmcol.AttrHasPrefix(keyServerAddr, ingressHostHead))))
}

// splitDotted sets keyName and keyNS from a <prefix><name>.<ns> span name.
func (f *filter) splitDotted(s wasmcol.Span, prefix int, keyName, keyNS string) {
	rest := s.Name()[prefix:]
	if dot := strings.LastIndexByte(rest, '.'); dot > 0 && dot < len(rest)-1 {
		s.SetAttr(keyName, wasmcol.Str(rest[:dot]))
		s.SetAttr(keyNS, wasmcol.Str(rest[dot+1:]))
	}
}

// copyDestination carries the Zipkin-era messaging.destination over to the
// current key on the spans of sel that have it, moving it when configured
// to. A messaging.destination.name that arrived is kept: it is what
// Knative 1.19+ set.
func (f *filter) copyDestination(t wasmcol.Traces, sel wasmcol.Selection) {
	if !f.cfg.CopyDestination || sel.Len() == 0 {
		return
	}
	kept := sel.And(t.SpansWhere(wasmcol.HasAttr(keyDest)))
	rest := sel.AndNot(kept)
	if f.cfg.DropOldDestination {
		kept.DeleteAttr(keyOldDest)
		rest.RenameAttr(keyOldDest, keyDest)
		return
	}
	rest.CopyAttr(keyOldDest, keyDest)
}

// isIngressURL reports whether u points at the MT broker's ingress.
func isIngressURL(u string) bool {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	return strings.HasPrefix(u, ingressHostHead)
}

// splitPath splits /<ns>/<broker> (exactly two non-empty segments).
func splitPath(p string) (ns, name string, ok bool) {
	if len(p) < 4 || p[0] != '/' {
		return "", "", false
	}
	rest := p[1:]
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 || slash == len(rest)-1 || strings.IndexByte(rest[slash+1:], '/') >= 0 {
		return "", "", false
	}
	return rest[:slash], rest[slash+1:], true
}

// triggerPath splits /triggers/<ns>/<trigger>/<uid>.
func triggerPath(p string) (ns, name string, ok bool) {
	const head = "/triggers/"
	if !strings.HasPrefix(p, head) {
		return "", "", false
	}
	rest := p[len(head):]
	a := strings.IndexByte(rest, '/')
	if a <= 0 {
		return "", "", false
	}
	b := strings.IndexByte(rest[a+1:], '/')
	if b <= 0 {
		return "", "", false
	}
	return rest[:a], rest[a+1 : a+1+b], true
}
