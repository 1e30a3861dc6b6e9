// SPDX-License-Identifier: Apache-2.0

package knativehops

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/internal/wasmtest"
)

// OTTL conditions for the filter's recognition rules. Each statement runs
// over every span, so conditions test only what arrived (name, kind,
// resource, the original attributes), never what an earlier statement
// wrote. Prefixes use HasPrefix and equality ==, as a careful OTTL author
// would; regular expressions only where a value must be split or a pod
// name recognised, or where an attribute may be missing (IsMatch takes nil).
const (
	svc        = `resource.attributes["service.name"]`
	named      = `(HasPrefix(name, "broker:") or HasPrefix(name, "trigger:") or name == "queue_proxy" or name == "queue_wait" or name == "queue" or HasPrefix(name, "kn.queueproxy."))`
	filled     = `(HasPrefix(name, "broker:") or HasPrefix(name, "trigger:") or name == "queue_proxy" or name == "queue_wait" or HasPrefix(name, "kn.queueproxy."))`
	ingressSvc = `(` + svc + ` == "broker.ingress" or HasPrefix(` + svc + `, "broker-ingress."))`
	filterSvc  = `(` + svc + ` == "broker.filter" or HasPrefix(` + svc + `, "broker-filter."))`
	dispSvc    = `(` + svc + ` == "imc-dispatcher" or ` + svc + ` == "inmemorychannel-dispatcher")`
	actSvc     = `(` + svc + ` == "activator-service" or ` + svc + ` == "activator")`
	podSvc     = `IsMatch(` + svc + `, "^.*-[0-9]{5}-deployment-[^-]+-[^-]+$")`
	ingressURL = `"^([^:/]*://)?broker-ingress\\."`
	brokerPath = `"^(?:POST )?/(?P<ns>[^/]+)/(?P<n>[^/]+)$"`
	trigPath   = `"^(?:POST )?/triggers/(?P<ns>[^/]+)/(?P<n>[^/]+)/"`
	dotted     = `"^(?:broker|trigger):(?P<n>.+)\\.(?P<ns>[^.]+)$"`
)

// ottlStatements do what the filter does with its default config, in the
// transform processor's span context.
var ottlStatements = []string{
	// broker:<b>.<ns> and trigger:<t>.<ns>
	`set(attributes["knative.hop"], "ingress") where HasPrefix(name, "broker:")`,
	`set(attributes["knative.hop"], "filter") where HasPrefix(name, "trigger:")`,
	`set(attributes["kn.broker.name"], ExtractPatterns(name, ` + dotted + `)["n"]) where HasPrefix(name, "broker:") and IsMatch(name, ` + dotted + `)`,
	`set(attributes["kn.broker.namespace"], ExtractPatterns(name, ` + dotted + `)["ns"]) where HasPrefix(name, "broker:") and IsMatch(name, ` + dotted + `)`,
	`set(attributes["kn.trigger.name"], ExtractPatterns(name, ` + dotted + `)["n"]) where HasPrefix(name, "trigger:") and IsMatch(name, ` + dotted + `)`,
	`set(attributes["kn.trigger.namespace"], ExtractPatterns(name, ` + dotted + `)["ns"]) where HasPrefix(name, "trigger:") and IsMatch(name, ` + dotted + `)`,
	`set(attributes["messaging.destination.name"], attributes["messaging.destination"]) where attributes["messaging.destination"] != nil and (HasPrefix(name, "broker:") or HasPrefix(name, "trigger:") or (name == "knative.dev" and ` + dispSvc + `))`,
	// queue-proxy by name
	`set(attributes["knative.hop"], "queue") where name == "queue_proxy" or name == "queue_wait" or HasPrefix(name, "kn.queueproxy.") or (name == "queue" and kind == SPAN_KIND_SERVER)`,
	// by service
	`set(attributes["knative.hop"], "ingress") where ` + ingressSvc + ` and not ` + named,
	`set(attributes["kn.broker.name"], ExtractPatterns(name, ` + brokerPath + `)["n"]) where ` + ingressSvc + ` and not ` + named + ` and IsMatch(name, ` + brokerPath + `)`,
	`set(attributes["kn.broker.namespace"], ExtractPatterns(name, ` + brokerPath + `)["ns"]) where ` + ingressSvc + ` and not ` + named + ` and IsMatch(name, ` + brokerPath + `)`,
	`set(attributes["knative.hop"], "filter") where ` + filterSvc + ` and not ` + named,
	`set(attributes["kn.trigger.name"], ExtractPatterns(name, ` + trigPath + `)["n"]) where ` + filterSvc + ` and not ` + named + ` and IsMatch(name, ` + trigPath + `)`,
	`set(attributes["kn.trigger.namespace"], ExtractPatterns(name, ` + trigPath + `)["ns"]) where ` + filterSvc + ` and not ` + named + ` and IsMatch(name, ` + trigPath + `)`,
	`set(attributes["knative.hop"], "dispatch") where ` + dispSvc + ` and not ` + named,
	`set(attributes["knative.hop"], "reply") where ` + dispSvc + ` and name == "knative.dev" and IsMatch(attributes["messaging.destination"], ` + ingressURL + `)`,
	`set(attributes["knative.hop"], "reply") where ` + dispSvc + ` and HasPrefix(name, "send ") and IsMatch(name, "^send ([^:/]*://)?broker-ingress\\.")`,
	`set(attributes["knative.hop"], "reply") where ` + dispSvc + ` and HasPrefix(name, "POST /") and not HasPrefix(name, "POST /triggers/") and IsMatch(attributes["server.address"], "^broker-ingress\\.")`,
	`set(attributes["knative.hop"], "activator") where ` + actSvc + ` and not ` + named,
	`set(attributes["knative.hop"], "queue") where HasPrefix(name, "/") and (kind == SPAN_KIND_SERVER or kind == SPAN_KIND_CLIENT) and ` + podSvc,
	// Last, since the statements above read the arriving kind.
	`set(kind, SPAN_KIND_INTERNAL) where kind == SPAN_KIND_UNSPECIFIED and (` + filled + ` or (` + actSvc + ` and not ` + named + `))`,
}

// BenchmarkCmp_KnativeHops: the filter, the transform processor doing the
// same edits in OTTL, and the same filter written as a native Go processor
// (native_test.go), on 1,000 spans of both Knative eras. The native side
// must produce byte-identical output first.
func BenchmarkCmp_KnativeHops(b *testing.B) {
	td := fixtures.Batch(1000, fixtures.MixKnative)
	wasmP, wasmSink := wasmtest.WasmTraces(b, wasmtest.BuildGuest(b, ".."), nil)
	ottlP, ottlSink := wasmtest.StartTraces(b, transformprocessor.NewFactory(), wasmtest.OTTLSpanConfig(ottlStatements...))
	wasm, ottl := benchutil.Side{P: wasmP, Sink: wasmSink}, benchutil.Side{P: ottlP, Sink: ottlSink}
	nat := benchutil.Native(b, newNative(b, "").process)
	benchutil.AssertSame(b, wasm, ottl, td)
	benchutil.AssertSameBytes(b, wasm, nat, td)
	b.Run("wasm", func(b *testing.B) { benchutil.Measure(b, wasm, td) })
	b.Run("ottl", func(b *testing.B) { benchutil.Measure(b, ottl, td) })
	b.Run("native", func(b *testing.B) { benchutil.Measure(b, nat, td) })
}

// BenchmarkCmp_KnativeHopsLoaded is the Wasm and native sides of
// Cmp_KnativeHops with every core running batches (benchutil.MeasureLoaded):
// throughput on a loaded machine, where the collector's marking is not
// free.
func BenchmarkCmp_KnativeHopsLoaded(b *testing.B) {
	benchutil.CompareLoaded(b, "..", newNative(b, "").process, fixtures.Batch(1000, fixtures.MixKnative))
}

// BenchmarkGuestSplit splits the Wasm side's time per batch between the
// guest's own code, the host functions it calls, and the host's work
// around the call (see benchutil.MeasureSplit).
func BenchmarkGuestSplit(b *testing.B) {
	benchutil.MeasureSplit(b, wasmtest.BuildGuest(b, ".."), nil, fixtures.Batch(1000, fixtures.MixKnative))
}
