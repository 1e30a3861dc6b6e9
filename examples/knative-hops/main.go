// SPDX-License-Identifier: Apache-2.0

// Command knative-hops is a wasmcol filter that tags every Knative Eventing
// and Serving hop with one vocabulary, whether the span comes from the
// OpenCensus/Zipkin era (Knative up to 1.18) or the OpenTelemetry era
// (1.19 on). See README.md for what it recognises and its config.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o knative-hops.wasm .
package main

import (
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(&filter{}) }

func main() {}

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
	// roleQueueProxy is an OpenTelemetry-era queue-proxy, recognised by
	// its resource since its service.name is the Knative Service's.
	roleQueueProxy
	// roleRevisionPod is a Zipkin-era queue-proxy, whose service name is
	// its pod's name, <revision>-deployment-<rs>-<pod>.
	roleRevisionPod
)

type filter struct {
	cfg   config
	roles []role // by resource index, reused across batches
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

func (f *filter) ProcessTraces(t wasmcol.Traces) error {
	f.roles = f.roles[:0]
	for r := range t.Resources() {
		f.roles = append(f.roles, resourceRole(r))
	}
	n := t.Len()
	for i := 0; i < n; i++ {
		f.span(t.Span(i))
	}
	return nil
}

// span recognises one span, cheapest test first: the name alone settles
// broker:, trigger: and most queue-proxy spans in both eras; the rest need
// the resource's role.
func (f *filter) span(s wasmcol.Span) {
	name := s.Name()
	switch {
	case strings.HasPrefix(name, "broker:"):
		// Knative 1.19+ names the broker itself, both keys at once
		// (knative/eventing pkg/observability, WithBrokerLabels): keep
		// what it set rather than rewrite it from the span name.
		split := f.cfg.SplitNames && s.Attr(keyBrokerName).IsEmpty()
		f.named(s, name[len("broker:"):], hopIngress, keyBrokerName, keyBrokerNS, split)
		return
	case strings.HasPrefix(name, "trigger:"):
		// No Knative release sets kn.trigger.*, so there is nothing to
		// keep and no column to read.
		f.named(s, name[len("trigger:"):], hopFilter, keyTriggerName, keyTriggerNS, f.cfg.SplitNames)
		return
	case name == "queue_proxy" || name == "queue_wait" || strings.HasPrefix(name, "kn.queueproxy."):
		f.tag(s, hopQueue)
		f.fillKind(s)
		return
	case name == "queue":
		if s.Kind() == wasmcol.SpanKindServer {
			f.tag(s, hopQueue)
		}
		return
	}

	ri := s.Resource().Index()
	if ri >= len(f.roles) {
		return
	}
	switch f.roles[ri] {
	case roleIngress:
		f.tag(s, hopIngress)
		// The ingress server span is /<ns>/<broker> in the Zipkin era
		// and POST /<ns>/<broker> in the inner server span after.
		if ns, b, ok := splitPath(strings.TrimPrefix(name, "POST ")); ok && f.cfg.SplitNames {
			s.SetAttr(keyBrokerName, wasmcol.Str(b))
			s.SetAttr(keyBrokerNS, wasmcol.Str(ns))
		}
	case roleFilter:
		f.tag(s, hopFilter)
		if ns, t, ok := triggerPath(strings.TrimPrefix(name, "POST ")); ok && f.cfg.SplitNames {
			s.SetAttr(keyTriggerName, wasmcol.Str(t))
			s.SetAttr(keyTriggerNS, wasmcol.Str(ns))
		}
	case roleDispatcher:
		f.dispatch(s, name)
	case roleActivator:
		f.tag(s, hopActivator)
		f.fillKind(s) // throttler_try and activator_proxy have no kind before 1.19
	case roleQueueProxy:
		// Its server span (GET/POST from 1.23, when otelhttp stopped
		// naming it queue) and its HTTP POST to the user container.
		f.tag(s, hopQueue)
	case roleRevisionPod:
		// Zipkin-era queue-proxy: ochttp names its server and client
		// spans by URL path. The app's own spans in the same pod come
		// over OTLP with other names.
		if strings.HasPrefix(name, "/") {
			if k := s.Kind(); k == wasmcol.SpanKindServer || k == wasmcol.SpanKindClient {
				f.tag(s, hopQueue)
			}
		}
	}
}

// named handles broker:<name>.<ns> and trigger:<name>.<ns>, setting the
// name keys when split says so.
func (f *filter) named(s wasmcol.Span, rest, hop, keyName, keyNS string, split bool) {
	f.tag(s, hop)
	if split {
		// Namespaces hold no dots, names may: split on the last one.
		if dot := strings.LastIndexByte(rest, '.'); dot > 0 && dot < len(rest)-1 {
			s.SetAttr(keyName, wasmcol.Str(rest[:dot]))
			s.SetAttr(keyNS, wasmcol.Str(rest[dot+1:]))
		}
	}
	f.copyDestination(s)
	f.fillKind(s)
}

// dispatch tags a channel dispatcher's span: a delivery to a trigger, or a
// reply when the target is a broker ingress (the event re-enters the
// broker, as coinflip's answer does).
func (f *filter) dispatch(s wasmcol.Span, name string) {
	reply := false
	switch {
	case name == "knative.dev":
		// Zipkin era: the target URL is only in messaging.destination.
		reply = isIngressURL(s.Attr(keyOldDest).Str())
		f.copyDestination(s)
	case strings.HasPrefix(name, "send "):
		reply = isIngressURL(name[len("send "):])
	case strings.HasPrefix(name, "POST /"):
		// The CLIENT under `send <url>` names only the path; its
		// server.address holds the host.
		if !strings.HasPrefix(name, "POST /triggers/") && f.cfg.MarkReplies {
			reply = strings.HasPrefix(s.Attr(keyServerAddr).Str(), ingressHostHead)
		}
	}
	if reply && f.cfg.MarkReplies {
		f.tag(s, hopReply)
	} else {
		f.tag(s, hopDispatch)
	}
}

func (f *filter) tag(s wasmcol.Span, hop string) {
	if f.cfg.TagHops {
		s.SetAttr(keyHop, wasmcol.Str(hop))
	}
}

// copyDestination carries the Zipkin-era messaging.destination over to the
// current key, moving it when configured to. A messaging.destination.name
// that arrived is kept: it is what Knative 1.19+ set.
func (f *filter) copyDestination(s wasmcol.Span) {
	if !f.cfg.CopyDestination {
		return
	}
	v := s.Attr(keyOldDest)
	if v.IsEmpty() {
		return
	}
	if !s.Attr(keyDest).IsEmpty() {
		if f.cfg.DropOldDestination {
			s.DeleteAttr(keyOldDest)
		}
		return
	}
	if f.cfg.DropOldDestination {
		s.RenameAttr(keyOldDest, keyDest)
	} else {
		s.SetAttr(keyDest, v)
	}
}

// fillKind gives a kindless span INTERNAL, which is what Knative sets for
// the same span from 1.19 on; OpenCensus's Zipkin exporter dropped it.
func (f *filter) fillKind(s wasmcol.Span) {
	if f.cfg.FillKind && s.Kind() == wasmcol.SpanKindUnspecified {
		s.SetKind(wasmcol.SpanKindInternal)
	}
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
