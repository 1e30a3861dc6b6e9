// SPDX-License-Identifier: Apache-2.0

package coinflip

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
	"github.com/wasmcol/wasmcol/examples/internal/spancheck"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/sdktest"
)

const customConfig = `{"pod_pattern":"^(.+)-[0-9]{5}-deployment-.*$","pod_name_attribute":"pod","result_attribute":"flip.result"}`

// renamed is what each pod-named service becomes under the default
// pattern; every other service keeps its name.
var renamed = map[string]string{
	fixtures.CoinflipPod:  "coinflip",
	fixtures.HeartbeatPod: "heartbeats",
	fixtures.DisplayPod:   "event-display",
}

var cases = []struct {
	name, config string
	rules        []spancheck.Rule
	// resources maps an input service.name to the resource attributes the
	// output must carry; services not listed come through unchanged.
	resources func(svc string, in map[string]any) map[string]any
}{
	{"opencensus", "", flipped("coinflip.result", "heads"), podNames(renamed, "k8s.pod.name")},
	{"opentelemetry", "", flipped("coinflip.result", "heads"), podNames(renamed, "k8s.pod.name")},
	{"opentelemetry-1.19", "", flipped("coinflip.result", "tails"), podNames(renamed, "k8s.pod.name")},
	// Only revision pods match; heartbeats' Deployment pod keeps its name.
	{"custom-pattern", customConfig, flipped("flip.result", "heads"), podNames(map[string]string{
		fixtures.CoinflipPod: "coinflip",
		fixtures.DisplayPod:  "event-display",
	}, "pod")},
}

// flipped: only coinflip's flip span has the event, so only it changes.
func flipped(key, result string) []spancheck.Rule {
	return []spancheck.Rule{{
		Service: fixtures.CoinflipPod, Name: "flip", Count: 1,
		Change: spancheck.Change{Set: map[string]any{key: result}},
	}}
}

func podNames(to map[string]string, podKey string) func(string, map[string]any) map[string]any {
	return func(svc string, in map[string]any) map[string]any {
		name, ok := to[svc]
		if !ok {
			return nil
		}
		out := maps.Clone(in)
		out["service.name"] = name
		if _, has := in[podKey]; !has {
			out[podKey] = svc
		}
		return out
	}
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sdktest.Golden(t, &filter{}, c.config, filepath.Join("testdata", c.name))
		})
	}
}

// TestPromises checks the flip result on the flip span, the service name
// and pod name on every resource, and that nothing else changed.
func TestPromises(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, out := run(t, c.config, filepath.Join("testdata", c.name, "input.json"))
			spancheck.CheckResources(t, in, out, c.rules, c.resources)
			// The services the filter must have renamed are really there.
			seen := map[string]bool{}
			for _, rs := range in.ResourceSpans().All() {
				v, _ := rs.Resource().Attributes().Get("service.name")
				seen[v.Str()] = true
			}
			if !seen[fixtures.CoinflipPod] {
				t.Error("the input has no coinflip pod")
			}
		})
	}
}

func run(t *testing.T, config, path string) (in, out ptrace.Traces) {
	t.Helper()
	return spancheck.RunFile(t, &filter{}, config, path)
}

func TestDefaultPattern(t *testing.T) {
	f := &filter{}
	if _, err := sdktest.New(f, ""); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"coinflip-00001-deployment-5d9c7b8f4-x2x7k":      "coinflip",
		"heartbeats-deployment-6c9d7f7b8-q4w2z":          "heartbeats",
		"event-display-00012-deployment-7b4c9d6f5-m8p2t": "event-display",
		"my-svc-deployment-abc-12345":                    "my-svc",
		"coinflip":                                       "",
		"broker-ingress.knative-eventing":                "",
		"coinflip-00001-deployment":                      "",
		"Coinflip-00001-deployment-5d9c7b8f4-x2x7k":      "",
	} {
		got := ""
		if m := f.pattern.FindStringSubmatch(name); m != nil {
			got = m[f.group]
		}
		if got != want {
			t.Errorf("%q → %q, want %q", name, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for config, want := range map[string]string{
		`{"pod_pattern":"("}`:                          "pod_pattern",
		`{"pod_pattern":"^x-deployment$"}`:             "capture group",
		`{"result_event":""}`:                          "result_event",
		`{"pod_patern":"x"}`:                           "unknown field",
		`{"service_from_pod":false,"pod_pattern":"("}`: "",
	} {
		_, err := sdktest.New(&filter{}, config)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", config, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want one mentioning %q", config, err, want)
		}
	}
}

// TestManyPods: resources are renamed per distinct service.name, one
// lookup and one pair of edits for all the resources of a name, across
// the several group calls 159 names take; every resource ends as its own
// name says, whether it had a pod name already or not.
func TestManyPods(t *testing.T) {
	td := ptrace.NewTraces()
	to := map[string]string{}
	for i := range 150 {
		pod := fmt.Sprintf("svc%d-%05d-deployment-5d9c7b8f4-x%dk", i, i, i)
		to[pod] = fmt.Sprintf("svc%d", i)
		for j := range 2 {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", pod)
			if (i+j)%3 == 0 {
				rs.Resource().Attributes().PutStr("k8s.pod.name", "kept")
			}
			s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			s.SetTraceID([16]byte{1})
			s.SetSpanID([8]byte{0, 0, 0, 0, 0, 0, byte(i), byte(j + 1)})
			s.SetName("receive")
		}
		rs := td.ResourceSpans().AppendEmpty() // not a pod's name
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("plain%d", i%9))
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID([16]byte{1})
		s.SetSpanID([8]byte{0, 0, 0, 0, 0, 1, byte(i), 0})
		s.SetName("other")
	}
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	in, out := spancheck.Run(t, &filter{}, "", raw)
	spancheck.CheckResources(t, in, out, nil, podNames(to, "k8s.pod.name"))
}

// resourceBatch is one span on each resource, its attributes set by set.
func resourceBatch(t *testing.T, n int, set func(i int, m pcommon.Map)) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	for i := range n {
		rs := td.ResourceSpans().AppendEmpty()
		set(i, rs.Resource().Attributes())
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID([16]byte{1})
		s.SetSpanID([8]byte{0, 0, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i + 1)})
		s.SetName("x")
	}
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestLongPodNames: a pod name longer than the host takes in one kernel
// call (64 KiB) is renamed on every resource that has it, as a short one.
func TestLongPodNames(t *testing.T) {
	pod := strings.Repeat("a", 70<<10) + "-deployment-b-c"
	raw := resourceBatch(t, 3, func(_ int, m pcommon.Map) { m.PutStr("service.name", pod) })
	in, out := spancheck.Run(t, &filter{}, "", raw)
	spancheck.CheckResources(t, in, out, nil, podNames(map[string]string{pod: strings.Repeat("a", 70<<10)}, "k8s.pod.name"))
}

// TestPodNameRefusalIsPerResource: whether a renamed resource has a pod
// name is read for the renamed resources only: a value
// the host will not read (nested 70 deep) on another resource does not
// fail the call, and on a renamed resource it does, however many names
// the batch holds.
func TestPodNameRefusalIsPerResource(t *testing.T) {
	deep := map[string]any{"leaf": "x"}
	for range 70 {
		deep = map[string]any{"m": deep}
	}
	for _, names := range []int{1, 100} { // one group call, and several
		for _, onRenamed := range []bool{false, true} {
			raw := resourceBatch(t, 2*names, func(i int, m pcommon.Map) {
				if i%2 == 0 {
					m.PutStr("service.name", fmt.Sprintf("svc%d-deployment-b-c", i/2))
				} else {
					m.PutStr("service.name", "plain")
				}
				if i == 2*names-1-btoi(onRenamed) {
					_ = m.PutEmptyMap("k8s.pod.name").FromRaw(deep)
				}
			})
			_, err := sdktest.Run(&filter{}, abi.SignalTraces, "", raw)
			if (err != nil) != onRenamed {
				t.Errorf("%d names, deep pod name on a renamed resource %v: %v", names, onRenamed, err)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
