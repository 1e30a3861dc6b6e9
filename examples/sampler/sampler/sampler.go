// SPDX-License-Identifier: Apache-2.0

// Package sampler is the sampler filter, for consistent, rule-based
// probability sampling: each rule (first match wins) samples its traces at
// its own percentage, deciding by trace ID exactly as the Collector's
// probabilistic_sampler does in proportional mode, so every span of a trace
// gets the same decision across batches and replicas. Errors, 5xx and
// cold starts are always kept. See ../README.md for its config.
//
// The command in the directory above builds it as a module of its own,
// sampler.wasm; examples/builtins holds it with the other built-in filters
// in one module, where it runs as builtin:sampler.
package sampler

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// New returns the filter, for a module to register:
//
//	func init() { wasmcol.Register(sampler.New()) }
func New() wasmcol.TracesFilter { return &filter{} }

type ruleConfig struct {
	Name           string   `json:"name"`
	Percentage     *float64 `json:"percentage"`
	Service        string   `json:"service"`
	ServicePrefix  string   `json:"service_prefix"`
	SpanName       string   `json:"span_name"`
	SpanNamePrefix string   `json:"span_name_prefix"`
	Attribute      string   `json:"attribute"`
	Equals         *string  `json:"equals"`
	Prefix         *string  `json:"prefix"`
}

type config struct {
	Rules             []ruleConfig `json:"rules"`
	RuleScope         string       `json:"rule_scope"`
	RuleAttribute     string       `json:"rule_attribute"`
	KeepErrors        bool         `json:"keep_errors"`
	KeepColdStarts    bool         `json:"keep_cold_starts"`
	SamplingPriority  bool         `json:"sampling_priority"`
	SamplingPrecision int          `json:"sampling_precision"`
	FailClosed        bool         `json:"fail_closed"`
}

func defaults() config {
	return config{
		RuleScope:         scopeTrace,
		KeepErrors:        true,
		KeepColdStarts:    true,
		SamplingPriority:  true,
		SamplingPrecision: 4, // the probabilistic sampler's default
		FailClosed:        true,
	}
}

const (
	scopeTrace = "trace"
	scopeSpan  = "span"
	// alwaysKeepRule is the sampling.rule value of a span kept only
	// because of what it is (an error, a cold start), not by its ratio.
	alwaysKeepRule = "always_keep"
)

// sampler is one ratio's consistent-probability decision, the
// probabilistic sampler's proportional mode.
type sampler struct {
	ratio      float64 // 0: never sample
	precision  int
	failClosed bool
	// For spans that arrive without tracestate, the common case: the
	// threshold and the tracestate a kept span gets.
	th0 uint64
	ts0 string
}

func newSampler(pct float64, precision int, failClosed bool) sampler {
	// The probabilistic sampler holds its percentage as a float32; going
	// through one gives the same ratio to the bit.
	p := float32(pct)
	if p > 100 {
		p = 100
	}
	s := sampler{precision: precision, failClosed: failClosed}
	if p == 0 {
		s.th0 = neverSample
		return s
	}
	s.ratio = max(float64(p)/100, minSamplingProbability)
	th, err := probabilityToThreshold(s.ratio, precision)
	if err != nil {
		th = neverSample
	}
	s.th0, s.ts0 = th, "ot=th:"+tvalue(th)
	return s
}

// priority is the OpenTracing sampling.priority hint, which the
// probabilistic sampler honours: 0 drops, > 0 keeps.
type priority uint8

const (
	prioDefer priority = iota
	prioKeep
	prioDrop
)

func priorityOf(v wasmcol.Value) priority {
	var x float64
	switch v.Kind() {
	case wasmcol.KindInt:
		x = float64(v.Int())
	case wasmcol.KindDouble:
		x = v.Double()
	case wasmcol.KindStr:
		f, err := strconv.ParseFloat(v.Str(), 64)
		if err != nil {
			return prioDefer
		}
		x = f
	default:
		return prioDefer
	}
	switch {
	case x == 0:
		return prioDrop
	case x > 0:
		return prioKeep
	}
	return prioDefer
}

// outcome is a span's sampling result.
type outcome struct {
	sampled bool
	// parsed: the sampler holds a carrier for the tracestate, so a sampled
	// span's tracestate is rewritten from st (as the probabilistic sampler
	// does, even from a partly parsed one in its never mode).
	parsed bool
	// valid: the tracestate parsed without error.
	valid bool
	// th is the threshold decided.
	th uint64
}

// decide is the probabilistic sampler's per-span logic
// (commonShouldSampleLogic with its proportional or never sampler). st
// holds the parsed tracestate afterwards, with the threshold updated when
// sampled.
func (s *sampler) decide(traceID [16]byte, raw string, prio priority, st *traceState) outcome {
	err := parseTraceState(raw, st)
	perr := err
	never := s.ratio == 0
	// The never sampler keeps its carrier even when parsing failed, and
	// claims full randomness; the consistent one does neither.
	parsed := err == nil || never
	rnd, missing := uint64(allRandomness), true
	if never {
		missing = false
	} else if err == nil {
		if st.ot.rvalue != "" {
			rnd, missing = st.ot.rnd, false
		} else if traceID != ([16]byte{}) {
			rnd, missing = traceIDRandomness(traceID), false
		}
	}
	if err == nil {
		switch {
		case missing:
			err = errRandomness
		case st.ot.tvalue != "" && st.ot.th > rnd:
			// An arriving th the randomness contradicts is a lie:
			// drop it, as the spec says, and treat this as a failure.
			st.ot.clearThreshold()
			err = errInconsist
		}
	}
	var th uint64
	switch {
	case err != nil && s.failClosed:
		th = neverSample
	case err != nil:
		th = alwaysSample
	case never:
		th = neverSample
	default:
		incoming := 1.0
		if st.ot.tvalue != "" {
			incoming = probability(st.ot.th)
		}
		var perr error
		if th, perr = probabilityToThreshold(incoming*s.ratio, s.precision); perr != nil {
			th = neverSample
		}
	}
	switch prio {
	case prioDrop:
		th = neverSample
	case prioKeep:
		th = alwaysSample
	}
	sampled := th <= rnd
	if sampled && parsed {
		_ = st.ot.updateThreshold(th) // refused when it would raise the probability
	}
	return outcome{sampled: sampled, parsed: parsed, valid: perr == nil, th: th}
}

// rule is a compiled ruleConfig.
type rule struct {
	name string
	smp  sampler
	// Conditions; all that are set must hold.
	service, servicePrefix, span, spanPrefix, attr string
	equals, prefix                                 *string
	catchAll                                       bool
}

type filter struct {
	cfg          config
	rules        []rule
	needServices bool
	needNames    bool
	// Reused across batches so that a batch allocates only for unusual
	// tracestates.
	services   []string
	spanRule   []int32
	spanSlot   []int32
	ids        []wasmcol.TraceID // by span, when assignRules read them
	traces     traceTable
	st         traceState
	buf        []byte
	kept, drop int64
}

func (f *filter) Init(c wasmcol.Config) error {
	f.cfg = defaults()
	if err := c.Decode(&f.cfg); err != nil {
		return err
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }
	switch f.cfg.RuleScope {
	case scopeTrace, scopeSpan:
	default:
		bad("rule_scope: %q is neither %q nor %q", f.cfg.RuleScope, scopeTrace, scopeSpan)
	}
	if p := f.cfg.SamplingPrecision; p < 1 || p > numHexDigits {
		bad("sampling_precision: %d is not between 1 and %d", p, numHexDigits)
	}
	if len(f.cfg.Rules) == 0 {
		bad("rules: at least one rule is needed; a rule without conditions samples everything")
	}
	seen := map[string]bool{}
	for i, rc := range f.cfg.Rules {
		where := fmt.Sprintf("rules[%d]", i)
		switch {
		case rc.Name == "":
			bad("%s: name is required", where)
		case rc.Name == alwaysKeepRule:
			bad("%s: name %q is reserved", where, alwaysKeepRule)
		case seen[rc.Name]:
			bad("%s: name %q is used twice", where, rc.Name)
		}
		seen[rc.Name] = true
		if rc.Percentage == nil {
			bad("%s: percentage is required", where)
		} else if p := *rc.Percentage; math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
			bad("%s: percentage %v is invalid", where, p)
		} else if p > 0 && float64(float32(p))/100 < minSamplingProbability {
			bad("%s: percentage %g is too small", where, p)
		}
		if rc.Equals != nil && rc.Prefix != nil {
			bad("%s: equals and prefix exclude each other", where)
		}
		if (rc.Equals != nil || rc.Prefix != nil) && rc.Attribute == "" {
			bad("%s: equals and prefix need attribute", where)
		}
		if len(errs) > 0 {
			continue
		}
		r := rule{
			name: rc.Name, smp: newSampler(*rc.Percentage, f.cfg.SamplingPrecision, f.cfg.FailClosed),
			service: rc.Service, servicePrefix: rc.ServicePrefix, span: rc.SpanName, spanPrefix: rc.SpanNamePrefix,
			attr: rc.Attribute, equals: rc.Equals, prefix: rc.Prefix,
		}
		r.catchAll = r.service == "" && r.servicePrefix == "" && r.span == "" && r.spanPrefix == "" && r.attr == ""
		f.needServices = f.needServices || r.service != "" || r.servicePrefix != ""
		f.needNames = f.needNames || r.span != "" || r.spanPrefix != ""
		f.rules = append(f.rules, r)
	}
	return errors.Join(errs...)
}

func (f *filter) ProcessTraces(t wasmcol.Traces) error {
	n := t.Len()
	if n == 0 {
		return nil
	}
	haveIDs := f.assignRules(t, n)
	f.kept, f.drop = 0, 0
	forced := int64(0)
	for i := 0; i < n; i++ {
		ri := f.spanRule[i]
		if ri < 0 {
			continue // no rule: not ours to sample
		}
		r := &f.rules[ri]
		s := t.Span(i)
		prio := prioDefer
		if f.cfg.SamplingPriority {
			// Absent on most spans: tested here, a call saved per span.
			if v := s.Attr("sampling.priority"); !v.IsEmpty() {
				prio = priorityOf(v)
			}
		}
		var id wasmcol.TraceID
		if haveIDs {
			id = f.ids[i]
		} else {
			id = s.TraceID()
		}
		raw := s.TraceState()
		ts := raw
		name := r.name
		if raw == "" {
			// No tracestate, the common case: no parsing, and the
			// tracestate a kept span gets is precomputed.
			o := f.decideBare(r, id, prio)
			switch {
			case o.sampled && o.th == r.smp.th0:
				ts = r.smp.ts0
			case o.sampled:
				ts = "ot=th:" + tvalue(o.th)
			case prio == prioDrop || !f.forced(s):
				s.Drop()
				f.drop++
				continue
			default:
				forced++
				name = alwaysKeepRule
			}
		} else {
			o := r.smp.decide(id, raw, prio, &f.st)
			rewrite := o.sampled && o.parsed
			if !o.sampled {
				if prio == prioDrop || !f.forced(s) {
					s.Drop()
					f.drop++
					continue
				}
				// Kept for what it is, not by chance: its
				// adjusted count is unknown, so it must not carry
				// a threshold. A tracestate that does not parse
				// is left as it came.
				forced++
				name = alwaysKeepRule
				if rewrite = o.valid; rewrite {
					f.st.ot.clearThreshold()
				}
			}
			if rewrite {
				f.buf = f.st.appendTo(f.buf[:0])
				if string(f.buf) != raw {
					ts = string(f.buf)
				}
			}
		}
		f.kept++
		if ts != raw {
			s.SetTraceState(ts)
		}
		if f.cfg.RuleAttribute != "" {
			s.SetAttr(f.cfg.RuleAttribute, wasmcol.Str(name))
		}
	}
	h := t.Host()
	// Counters are best effort: a full counter table must not fail the batch.
	_ = h.Count("spans_kept", f.kept)
	_ = h.Count("spans_dropped", f.drop)
	if forced > 0 {
		_ = h.Count("spans_kept_always", forced)
	}
	return nil
}

// decideBare is decide for a span without tracestate, without parsing.
func (f *filter) decideBare(r *rule, traceID wasmcol.TraceID, prio priority) outcome {
	s := &r.smp
	if s.ratio == 0 {
		th := neverSample
		if prio == prioKeep {
			th = alwaysSample
		}
		return outcome{sampled: th <= allRandomness, parsed: true, valid: true, th: th}
	}
	var th uint64
	rnd := uint64(allRandomness)
	if traceID.IsEmpty() {
		// No randomness: a failure, decided by fail_closed.
		th = alwaysSample
		if s.failClosed {
			th = neverSample
		}
	} else {
		rnd, th = traceIDRandomness(traceID), s.th0
	}
	switch prio {
	case prioDrop:
		th = neverSample
	case prioKeep:
		th = alwaysSample
	}
	return outcome{sampled: th <= rnd, parsed: true, valid: true, th: th}
}

// assignRules sets spanRule[i] to the rule deciding span i, or -1. With
// rule_scope trace, a span takes the first rule that any span of its
// trace in this batch matches, so a rule on a per-span attribute (such as
// cloudevents.type) does not split the trace within the batch. It reports
// whether it filled f.ids with every span's trace ID.
func (f *filter) assignRules(t wasmcol.Traces, n int) bool {
	f.spanRule = f.spanRule[:0]
	if f.rules[0].catchAll {
		for i := 0; i < n; i++ {
			f.spanRule = append(f.spanRule, 0)
		}
		return false
	}
	if f.needServices {
		f.services = f.services[:0]
		for r := range t.Resources() {
			f.services = append(f.services, r.Attr("service.name").Str())
		}
	}
	if f.cfg.RuleScope != scopeTrace {
		for i := 0; i < n; i++ {
			f.spanRule = append(f.spanRule, f.match(t.Span(i)))
		}
		return false
	}
	f.traces.reset(n)
	f.spanSlot, f.ids = f.spanSlot[:0], f.ids[:0]
	for i := 0; i < n; i++ {
		s := t.Span(i)
		id := s.TraceID()
		slot := f.traces.slot(id, -1)
		f.ids = append(f.ids, id)
		f.spanSlot = append(f.spanSlot, int32(slot))
		if ri := f.match(s); ri >= 0 {
			if cur := f.traces.vals[slot]; cur < 0 || ri < cur {
				f.traces.vals[slot] = ri
			}
		}
	}
	for _, slot := range f.spanSlot {
		f.spanRule = append(f.spanRule, f.traces.vals[slot])
	}
	return true
}

// match is the index of the first rule span s satisfies, or -1.
func (f *filter) match(s wasmcol.Span) int32 {
	var svc, name string
	if f.needServices {
		if ri := s.Resource().Index(); ri < len(f.services) {
			svc = f.services[ri]
		}
	}
	if f.needNames {
		name = s.Name()
	}
	for i := range f.rules {
		r := &f.rules[i]
		if r.catchAll {
			return int32(i)
		}
		if (r.service != "" && svc != r.service) ||
			(r.servicePrefix != "" && !strings.HasPrefix(svc, r.servicePrefix)) ||
			(r.span != "" && name != r.span) ||
			(r.spanPrefix != "" && !strings.HasPrefix(name, r.spanPrefix)) {
			continue
		}
		if r.attr != "" {
			v := s.Attr(r.attr)
			if v.IsEmpty() {
				continue
			}
			text := v.Str()
			if v.Kind() != wasmcol.KindStr {
				text = v.AsString()
			}
			if (r.equals != nil && text != *r.equals) || (r.prefix != nil && !strings.HasPrefix(text, *r.prefix)) {
				continue
			}
		}
		return int32(i)
	}
	return -1
}

// forced reports whether a span must be kept whatever its trace's draw.
func (f *filter) forced(s wasmcol.Span) bool {
	if f.cfg.KeepErrors {
		if s.Status() == wasmcol.StatusError {
			return true
		}
		// Zipkin-era Knative sends error=<canonical code>; Envoy error=true.
		if v := s.Attr("error"); !v.IsEmpty() && !isFalse(v) {
			return true
		}
		// Zipkin-era tags are strings: "503" counts as much as 503.
		if is5xx(s.Attr("http.status_code")) || is5xx(s.Attr("http.response.status_code")) {
			return true
		}
	}
	if f.cfg.KeepColdStarts {
		// The kedify filter's marks.
		if isTrue(s.Attr("kedify.cold_start")) || isTrue(s.Attr("knative.cold_start")) {
			return true
		}
	}
	return false
}

func isFalse(v wasmcol.Value) bool {
	switch v.Kind() {
	case wasmcol.KindBool:
		return !v.Bool()
	case wasmcol.KindStr:
		return strings.EqualFold(v.Str(), "false")
	}
	return false
}

func isTrue(v wasmcol.Value) bool {
	switch v.Kind() {
	case wasmcol.KindBool:
		return v.Bool()
	case wasmcol.KindStr:
		return strings.EqualFold(v.Str(), "true")
	}
	return false
}

func is5xx(v wasmcol.Value) bool {
	switch v.Kind() {
	case wasmcol.KindInt:
		return v.Int() >= 500 && v.Int() <= 599
	case wasmcol.KindDouble:
		return v.Double() >= 500 && v.Double() < 600
	case wasmcol.KindStr:
		s := v.Str()
		return len(s) == 3 && s[0] == '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
	}
	return false
}
