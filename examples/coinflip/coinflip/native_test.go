// SPDX-License-Identifier: Apache-2.0

package coinflip

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/examples/internal/benchutil"
	"github.com/wasmcol/wasmcol/examples/internal/fixtures"
)

// native is the filter as a Collector contributor would write it as a Go
// processor: straight on pdata, service.name read once per resource, the
// default pod pattern matched by hand rather than by regular expression.
// It is the benchmarks' upper bound for the Wasm filter, not shipped code.
type native struct {
	cfg     config
	service func(pod string) (string, bool)
}

func newNative(tb testing.TB, configJSON string) *native {
	tb.Helper()
	n := &native{cfg: defaults(), service: podService}
	if configJSON != "" {
		dec := json.NewDecoder(strings.NewReader(configJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&n.cfg); err != nil {
			tb.Fatalf("config: %v", err)
		}
	}
	if n.cfg.PodPattern != defaultPodPattern {
		// Only the golden case with a custom pattern comes here.
		re := regexp.MustCompile(n.cfg.PodPattern)
		group := re.SubexpIndex("service")
		if group < 0 {
			group = 1
		}
		n.service = func(pod string) (string, bool) {
			if m := re.FindStringSubmatch(pod); m != nil {
				return m[group], true
			}
			return "", false
		}
	}
	return n
}

func (n *native) process(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if n.cfg.ServiceFromPod {
			n.resource(rs)
		}
		if !n.cfg.PromoteResult {
			continue
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				evs := s.Events()
				for e := 0; e < evs.Len(); e++ {
					ev := evs.At(e)
					if ev.Name() != n.cfg.ResultEvent {
						continue
					}
					if v, ok := ev.Attributes().Get(n.cfg.ResultKey); ok {
						v.CopyTo(s.Attributes().PutEmpty(n.cfg.ResultAttribute))
					}
				}
			}
		}
	}
}

func (n *native) resource(rs ptrace.ResourceSpans) {
	attrs := rs.Resource().Attributes()
	v, ok := attrs.Get("service.name")
	if !ok {
		return
	}
	name := v.Str()
	if name == "" {
		return
	}
	svc, ok := n.service(name)
	if !ok || svc == "" || svc == name {
		return
	}
	v.SetStr(svc)
	if _, has := attrs.Get(n.cfg.PodNameAttribute); !has {
		attrs.PutStr(n.cfg.PodNameAttribute, name)
	}
}

// podService matches defaultPodPattern by hand:
// <service>[-<5 digits>]-deployment-<rs>-<pod>, every part lowercase
// alphanumeric, the service also holding inner dashes. The regexp's service
// group is lazy, so a generation is split off whenever one is there, except
// after a one-character service: the group's optional tail is greedy and
// takes the generation in.
func podService(name string) (string, bool) {
	last := strings.LastIndexByte(name, '-')
	if last < 0 || !alnum(name[last+1:]) {
		return "", false
	}
	prev := strings.LastIndexByte(name[:last], '-')
	if prev < 0 || !alnum(name[prev+1:last]) {
		return "", false
	}
	head, ok := strings.CutSuffix(name[:prev+1], "-deployment-")
	if !ok || !isService(head) {
		return "", false
	}
	if g := len(head) - 6; g >= 2 && head[g] == '-' && digits(head[g+1:]) && isService(head[:g]) {
		return head[:g], true
	}
	return head, true
}

// alnum: one or more of [a-z0-9].
func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isService: [a-z0-9]([-a-z0-9]*[a-z0-9])?
func isService(s string) bool {
	if s == "" || !alnum(s[:1]) || !alnum(s[len(s)-1:]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && !alnum(s[i:i+1]) {
			return false
		}
	}
	return true
}

// TestPodServiceMatchesPattern holds the hand matcher to the filter's
// regular expression on the fixtures' pod names and on random names built
// from the pattern's own alphabet.
func TestPodServiceMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(defaultPodPattern)
	group := re.SubexpIndex("service")
	names := []string{
		fixtures.CoinflipPod, fixtures.HeartbeatPod, fixtures.DisplayPod,
		"a-deployment-b-c", "a-12345-deployment-b-c", "12345-deployment-b-c", "-12345-deployment-b-c",
		"a--12345-deployment-b-c", "a-1234-deployment-b-c", "a-123456-deployment-b-c",
		"a-deployment-deployment-b", "a-deployment-b-c-d", "deployment-b-c", "a-deployment--c",
		"a-deployment-b-", "x-y-00001-deployment-7f-9k", "x-00001-00002-deployment-7f-9k", "",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"a", "z", "0", "9", "-", "--", "12345", "-00001", "-deployment-", "deployment", "b7", "A", "."}
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		names = append(names, b.String())
	}
	for _, name := range names {
		want, wantOK := "", false
		if m := re.FindStringSubmatch(name); m != nil {
			want, wantOK = m[group], true
		}
		if got, ok := podService(name); got != want || ok != wantOK {
			t.Fatalf("podService(%q) = %q, %t; the pattern gives %q, %t", name, got, ok, want, wantOK)
		}
	}
}

// TestNativeMatchesWasm proves the native baseline does exactly what the
// compiled filter does, byte for byte, on the benchmark's batch and on
// every golden case with its config, so that BenchmarkCmp_Coinflip
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
