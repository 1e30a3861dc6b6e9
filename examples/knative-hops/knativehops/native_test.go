// SPDX-License-Identifier: Apache-2.0

package knativehops

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
)

// native is the filter as a Collector contributor would write it as a Go
// processor: straight on pdata, service.name read once per resource, PutStr,
// prefix and equality checks rather than regular expressions. It is the
// benchmarks' upper bound for the Wasm filter, not shipped code; the
// recognition helpers (serviceNames, isRevisionPod, splitPath...) are the
// filter's own, so the two sides differ only in how they reach the batch.
type native struct{ cfg config }

func newNative(tb testing.TB, configJSON string) *native {
	tb.Helper()
	n := &native{cfg: defaults()}
	if configJSON != "" {
		dec := json.NewDecoder(strings.NewReader(configJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&n.cfg); err != nil {
			tb.Fatalf("config: %v", err)
		}
	}
	return n
}

func (n *native) process(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		r := nativeRole(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				n.span(spans.At(k), r)
			}
		}
	}
}

// roleOf maps a service.name to a role by the filter's serviceNames,
// as its selects do.
func roleOf(svc string) role {
	for _, n := range serviceNames {
		if slices.Contains(n.names, svc) || n.prefix != "" && strings.HasPrefix(svc, n.prefix) {
			return n.role
		}
	}
	return roleNone
}

// nativeRole is the filter's sortResources for one resource, on pdata.
func nativeRole(res pcommon.Map) role {
	svc := str(res, keyServiceName)
	if r := roleOf(svc); r != roleNone {
		return r
	}
	if c := str(res, keyContainer); c != "" {
		if c == queueProxy {
			return roleQueueProxy
		}
	} else if c := str(res, keyK8sContainer); c != "" {
		if c == queueProxy {
			return roleQueueProxy
		}
	} else if str(res, keyRevision) != "" {
		return roleQueueProxy
	}
	if isRevisionPod(svc) {
		return roleRevisionPod
	}
	return roleNone
}

func (n *native) span(s ptrace.Span, r role) {
	name := s.Name()
	attrs := s.Attributes()
	switch {
	case strings.HasPrefix(name, "broker:"):
		_, named := attrs.Get(keyBrokerName)
		n.named(s, attrs, name[len("broker:"):], hopIngress, keyBrokerName, keyBrokerNS, n.cfg.SplitNames && !named)
		return
	case strings.HasPrefix(name, "trigger:"):
		n.named(s, attrs, name[len("trigger:"):], hopFilter, keyTriggerName, keyTriggerNS, n.cfg.SplitNames)
		return
	case name == "queue_proxy" || name == "queue_wait" || strings.HasPrefix(name, "kn.queueproxy."):
		n.tag(attrs, hopQueue)
		n.fillKind(s)
		return
	case name == "queue":
		if s.Kind() == ptrace.SpanKindServer {
			n.tag(attrs, hopQueue)
		}
		return
	}
	switch r {
	case roleIngress:
		n.tag(attrs, hopIngress)
		if ns, b, ok := splitPath(strings.TrimPrefix(name, "POST ")); ok && n.cfg.SplitNames {
			attrs.PutStr(keyBrokerName, b)
			attrs.PutStr(keyBrokerNS, ns)
		}
	case roleFilter:
		n.tag(attrs, hopFilter)
		if ns, t, ok := triggerPath(strings.TrimPrefix(name, "POST ")); ok && n.cfg.SplitNames {
			attrs.PutStr(keyTriggerName, t)
			attrs.PutStr(keyTriggerNS, ns)
		}
	case roleDispatcher:
		n.dispatch(attrs, name)
	case roleActivator:
		n.tag(attrs, hopActivator)
		n.fillKind(s)
	case roleQueueProxy:
		n.tag(attrs, hopQueue)
	case roleRevisionPod:
		if strings.HasPrefix(name, "/") {
			if k := s.Kind(); k == ptrace.SpanKindServer || k == ptrace.SpanKindClient {
				n.tag(attrs, hopQueue)
			}
		}
	}
}

func (n *native) named(s ptrace.Span, attrs pcommon.Map, rest, hop, keyName, keyNS string, split bool) {
	n.tag(attrs, hop)
	if split {
		if dot := strings.LastIndexByte(rest, '.'); dot > 0 && dot < len(rest)-1 {
			attrs.PutStr(keyName, rest[:dot])
			attrs.PutStr(keyNS, rest[dot+1:])
		}
	}
	n.copyDestination(attrs)
	n.fillKind(s)
}

func (n *native) dispatch(attrs pcommon.Map, name string) {
	reply := false
	switch {
	case name == "knative.dev":
		reply = isIngressURL(str(attrs, keyOldDest))
		n.copyDestination(attrs)
	case strings.HasPrefix(name, "send "):
		reply = isIngressURL(name[len("send "):])
	case strings.HasPrefix(name, "POST /"):
		if !strings.HasPrefix(name, "POST /triggers/") && n.cfg.MarkReplies {
			reply = strings.HasPrefix(str(attrs, keyServerAddr), ingressHostHead)
		}
	}
	if reply && n.cfg.MarkReplies {
		n.tag(attrs, hopReply)
	} else {
		n.tag(attrs, hopDispatch)
	}
}

func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok {
		return v.Str()
	}
	return ""
}

func (n *native) tag(attrs pcommon.Map, hop string) {
	if n.cfg.TagHops {
		attrs.PutStr(keyHop, hop)
	}
}

func (n *native) copyDestination(attrs pcommon.Map) {
	if !n.cfg.CopyDestination {
		return
	}
	v, ok := attrs.Get(keyOldDest)
	if !ok {
		return
	}
	if _, arrived := attrs.Get(keyDest); arrived {
		if n.cfg.DropOldDestination {
			attrs.Remove(keyOldDest)
		}
		return
	}
	v.CopyTo(attrs.PutEmpty(keyDest))
	if n.cfg.DropOldDestination {
		attrs.Remove(keyOldDest)
	}
}

func (n *native) fillKind(s ptrace.Span) {
	if n.cfg.FillKind && s.Kind() == ptrace.SpanKindUnspecified {
		s.SetKind(ptrace.SpanKindInternal)
	}
}

// TestNativeMatchesWasm proves the native baseline does exactly what the
// compiled filter does, byte for byte, on the benchmark's batch and on
// every golden case with its config, so that BenchmarkCmp_KnativeHops
// compares equal work.
func TestNativeMatchesWasm(t *testing.T) {
	var golden [][2]string
	for _, c := range cases {
		golden = append(golden, [2]string{c.name, c.config})
	}
	golden = append(golden, [2]string{notAString, ""})
	benchutil.NativeMatchesWasm(t, "..", func(t *testing.T, config string) func(ptrace.Traces) {
		return newNative(t, config).process
	}, golden)
}
