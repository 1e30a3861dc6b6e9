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
	"slices"
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
	// vals is the values of a select, reused.
	vals []wasmcol.Value
}

func (f *filter) Init(c wasmcol.Config) error {
	f.cfg = defaults()
	return c.Decode(&f.cfg)
}

// sortResources files the batch's resources under their roles: by
// service.name for every Knative component but one, and for queue-proxy,
// which reports under the Knative Service's name from 1.19 on, by its
// other attributes. The host groups the resources by service.name, and
// the guest decides once per distinct name; the container keys it tests
// on every resource at once.
func (f *filter) sortResources(t wasmcol.Traces) {
	for r := range f.byRole {
		f.byRole[r] = f.byRole[r][:0]
	}
	is := func(key string, vals ...string) wasmcol.Selection {
		f.vals = f.vals[:0]
		for _, v := range vals {
			f.vals = append(f.vals, wasmcol.Str(v))
		}
		return t.ResourcesWhere(wasmcol.AttrIs(key, f.vals...))
	}
	hasPrefix := func(key, prefix string) wasmcol.Selection {
		return t.ResourcesWhere(wasmcol.AttrHasPrefix(key, prefix))
	}
	// The service-name rules, decided once per distinct service.name: the
	// host groups the resources by it in one call. A name no rule claims
	// may be a revision pod's, settled below once the queue-proxies are
	// known.
	named, podNamed := t.NoResources(), t.NoResources()
	for name, rs := range t.ResourcesWhere(wasmcol.AttrHasPrefix(keyServiceName, "")).ByAttr(keyServiceName) {
		claimed := false
		for _, n := range serviceNames {
			if n.claims(name.Str()) {
				f.file(n.role, rs)
				claimed = true
			}
		}
		switch {
		case claimed:
			addAll(named, rs)
		case isRevisionPod(name.Str()):
			addAll(podNamed, rs)
		}
	}

	// A queue-proxy of the OpenTelemetry era (knative/serving
	// pkg/queue/sharedmain/otel.go) reports under the Knative Service's
	// name: its container is queue-proxy, under container.name from 1.20
	// and k8s.container.name in 1.19.3–1.19.9. 1.19.0–1.19.2 name no
	// container, and there kn.revision.name on the resource tells it: no
	// other Knative component puts it there, and the user container's
	// resource is the user's. The first of the two container keys that is
	// a non-empty string decides. Every key here, service.name included,
	// counts only as a string value, as pdata's Str reads it.
	nonEmpty := func(key string) wasmcol.Selection {
		str := hasPrefix(key, "") // a Str, empty or not
		return str.AndNot(str.Where(wasmcol.AttrIs(key, wasmcol.Str(""))))
	}
	container, k8sContainer := nonEmpty(keyContainer), nonEmpty(keyK8sContainer)
	qp := is(keyContainer, queueProxy).
		Or(is(keyK8sContainer, queueProxy).AndNot(container)).
		Or(nonEmpty(keyRevision).AndNot(container).AndNot(k8sContainer)).
		AndNot(named)
	f.file(roleQueueProxy, qp)
	f.file(roleRevisionPod, podNamed.AndNot(qp))
}

// file lists the resources of sel under role r.
func (f *filter) file(r role, sel wasmcol.Selection) {
	for i := range sel.All() {
		f.byRole[r] = append(f.byRole[r], i)
	}
}

// serviceNames are the service.name values that settle a role: equal to
// one of names, or starting with prefix. Both eras' names are here: the
// Zipkin era names Services (broker-ingress.<system namespace>), the
// OpenTelemetry era names components (broker.ingress). The IMC dispatcher
// set its own name, with a dot, up to 1.20.1 and in 1.21.0 (knative/eventing
// pkg/reconciler/inmemorychannel/dispatcher/controller.go); later releases
// take sharedmain's, with a dash.
var serviceNames = [...]serviceName{
	{roleIngress, []string{"broker.ingress"}, "broker-ingress."},
	{roleFilter, []string{"broker.filter"}, "broker-filter."},
	{roleDispatcher, []string{"imc-dispatcher", "inmemorychannel-dispatcher", "inmemorychannel.dispatcher"}, ""},
	{roleActivator, []string{"activator-service", "activator"}, ""},
}

// serviceName is one rule of serviceNames.
type serviceName struct {
	role   role
	names  []string
	prefix string
}

// claims reports whether a service.name is one of n's.
func (n *serviceName) claims(name string) bool {
	return slices.Contains(n.names, name) || n.prefix != "" && strings.HasPrefix(name, n.prefix)
}

// isRevisionPod reports whether name has the shape of a Knative revision's
// pod name, <service>-<5 digits>-deployment-<rs hash>-<pod hash>; the
// generation number is what tells it from a plain Deployment's pod such
// as heartbeats-deployment-<rs>-<pod>. It reads the name from its end,
// byte by byte: the hashes hold no dash, so the last two dashes bound
// them.
func isRevisionPod(name string) bool {
	const deployment = "-deployment-"
	pod := strings.LastIndexByte(name, '-') // before <pod hash>
	if pod < 0 || pod == len(name)-1 {
		return false
	}
	rs := strings.LastIndexByte(name[:pod], '-') // before <rs hash>
	if rs < 0 || rs == pod-1 {
		return false
	}
	// rs is the last dash of "-deployment-", after "-<5 digits>".
	dep := rs + 1 - len(deployment)
	if dep < 6 || name[dep:rs+1] != deployment || name[dep-6] != '-' {
		return false
	}
	for _, c := range []byte(name[dep-5 : dep]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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
	f.sortResources(t)

	// Spans the name alone settles, in both eras.
	broker := t.SpansWhere(wasmcol.NameHasPrefix("broker:"))
	trigger := t.SpansWhere(wasmcol.NameHasPrefix("trigger:"))
	queue := t.SpansWhere(wasmcol.NameIs("queue_proxy", "queue_wait")).Or(t.SpansWhere(wasmcol.NameHasPrefix("kn.queueproxy.")))
	queueName := t.SpansWhere(wasmcol.NameIs("queue"))
	queueServer := queueName
	if queueName.Len() > 0 {
		queueServer = queueName.Where(wasmcol.KindIs(wasmcol.SpanKindServer))
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
		pod = pod.Where(wasmcol.NameHasPrefix("/")).Where(wasmcol.KindIs(wasmcol.SpanKindServer, wasmcol.SpanKindClient))
	}
	// OpenTelemetry-era queue-proxy: all its spans, among them its server
	// span, GET/POST from 1.23 when otelhttp stopped naming it queue, and
	// its HTTP POST to the user container.
	queueProxySpans := f.ofRole(t, roleQueueProxy, named)

	// A dispatcher's knative.dev span: the target URL is only in the
	// Zipkin-era messaging.destination, copied before the span is tagged.
	knDev := disp.Where(wasmcol.NameIs("knative.dev"))
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
		// Knative 1.19+ names the broker itself, both keys at once
		// (knative/eventing pkg/observability, WithBrokerLabels): keep
		// what it set rather than rewrite it from the span name.
		f.split(broker.AndNot(broker.Where(wasmcol.HasAttr(keyBrokerName))), keyBrokerName, keyBrokerNS, splitDotted("broker:"))
		// No Knative release sets kn.trigger.*: there is nothing to keep.
		f.split(trigger, keyTriggerName, keyTriggerNS, splitDotted("trigger:"))
		// The ingress server span is /<ns>/<broker> in the Zipkin era and
		// POST /<ns>/<broker> in the inner server span after; the filter's
		// is /triggers/<ns>/<trigger>/<uid>.
		f.split(ingress, keyBrokerName, keyBrokerNS, func(name string) (string, string, bool) {
			ns, b, ok := splitPath(strings.TrimPrefix(name, "POST "))
			return b, ns, ok
		})
		f.split(flt, keyTriggerName, keyTriggerNS, func(name string) (string, string, bool) {
			ns, tr, ok := triggerPath(strings.TrimPrefix(name, "POST "))
			return tr, ns, ok
		})
	}

	f.copyDestination(t, broker.Or(trigger))

	// A kindless span gets INTERNAL, which is what Knative sets for the
	// same span from 1.19 on; OpenCensus's Zipkin exporter dropped it.
	// throttler_try and activator_proxy have no kind before 1.19 either.
	if fill := broker.Or(trigger).Or(queue).Or(activator); f.cfg.FillKind && fill.Len() > 0 {
		fill.Where(wasmcol.KindIs(wasmcol.SpanKindUnspecified)).SetKind(wasmcol.SpanKindInternal)
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

// addAll adds the items of a group to dst, in place: a group's
// selection is valid in its own iteration only, and dst = dst.Or(group)
// would take a new selection of the batch per distinct value.
func addAll(dst, group wasmcol.Selection) {
	for i := range group.All() {
		dst.Add(i)
	}
}

// replies are the dispatches whose target is a broker ingress, i.e. the
// event re-enters the broker (coinflip's answer).
func (f *filter) replies(t wasmcol.Traces, disp, knDev wasmcol.Selection) wasmcol.Selection {
	reply := t.NoSpans()
	if !f.cfg.MarkReplies || disp.Len() == 0 {
		return reply
	}
	// Zipkin era: the target URL is only in messaging.destination. The
	// host settles the URLs that start with http://, https:// or the
	// ingress host, as isIngressURL would; the guest reads the rest.
	if dest := knDev.Where(wasmcol.AttrHasPrefix(keyOldDest, "")); dest.Len() > 0 { // a string
		settled := dest.Where(wasmcol.AttrHasPrefix(keyOldDest, "http://", "https://", ingressHostHead))
		reply = settled.Where(wasmcol.AttrHasPrefix(keyOldDest, "http://"+ingressHostHead, "https://"+ingressHostHead, ingressHostHead))
		for url, spans := range dest.AndNot(settled).ByAttr(keyOldDest) {
			if isIngressURL(url.Str()) {
				addAll(reply, spans)
			}
		}
	}
	for name, spans := range disp.Where(wasmcol.NameHasPrefix("send ")).ByName() {
		if isIngressURL(name[len("send "):]) {
			addAll(reply, spans)
		}
	}
	// The CLIENT under `send <url>` names only the path; its
	// server.address holds the host.
	post := disp.Where(wasmcol.NameHasPrefix("POST /")).AndNot(t.SpansWhere(wasmcol.NameHasPrefix("POST /triggers/")))
	return reply.Or(post.Where(wasmcol.AttrHasPrefix(keyServerAddr, ingressHostHead)))
}

// split sets keyName and keyNS, in that order, on every span of sel whose
// name the function of splits into a name and a namespace. The host
// groups the spans by name, so that each distinct name is split once and
// its two attributes set on its spans with one edit each.
func (f *filter) split(sel wasmcol.Selection, keyName, keyNS string, of func(string) (name, ns string, ok bool)) {
	for span, spans := range sel.ByName() {
		if name, ns, ok := of(span); ok {
			spans.SetAttr(keyName, wasmcol.Str(name))
			spans.SetAttr(keyNS, wasmcol.Str(ns))
		}
	}
}

// splitDotted splits <prefix><name>.<ns> on the last dot.
func splitDotted(prefix string) func(string) (string, string, bool) {
	return func(span string) (string, string, bool) {
		rest := span[len(prefix):]
		if dot := strings.LastIndexByte(rest, '.'); dot > 0 && dot < len(rest)-1 {
			return rest[:dot], rest[dot+1:], true
		}
		return "", "", false
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
	kept := sel.Where(wasmcol.HasAttr(keyDest))
	rest := sel.AndNot(kept)
	if f.cfg.DropOldDestination {
		kept.DeleteAttr(keyOldDest)
		rest.RenameAttr(keyOldDest, keyDest)
		return
	}
	rest.CopyAttr(keyOldDest, keyDest)
}

// isIngressURL reports whether u points at the MT broker's ingress: the
// ingress host, after a scheme (no ':' or '/' before its "://") or none,
// as ^([^:/]*://)?broker-ingress\. matches.
func isIngressURL(u string) bool {
	if strings.HasPrefix(u, ingressHostHead) {
		return true
	}
	i := strings.IndexAny(u, ":/")
	return i >= 0 && strings.HasPrefix(u[i:], "://") && strings.HasPrefix(u[i+3:], ingressHostHead)
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
