// SPDX-License-Identifier: Apache-2.0

package sampler

// OpenTelemetry consistent-probability sampling: thresholds, randomness and
// the W3C/OTel tracestate they travel in, as specified in
// https://opentelemetry.io/docs/specs/otel/trace/tracestate-probability-sampling/
//
// This is a dependency-free port of the Collector contrib's pkg/sampling
// (v0.158.0), which the probabilistic sampler uses, so that a guest makes
// the same decisions and writes the same tracestate bytes as that processor
// without linking pdata into the Wasm module. consistent_test.go checks the
// port against pkg/sampling and the processor itself.

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

const (
	// maxAdjustedCount is 2^56: thresholds and randomness are 56 bits.
	maxAdjustedCount uint64 = 1 << 56
	numHexDigits            = 14
	hexBits                 = 4

	// alwaysSample is the threshold that rejects nothing (th:0);
	// neverSample rejects everything and has no encoding.
	alwaysSample = uint64(0)
	neverSample  = maxAdjustedCount

	// allRandomness is what a span without randomness compares as: it
	// passes every threshold but neverSample.
	allRandomness = maxAdjustedCount - 1

	minSamplingProbability = 1.0 / float64(maxAdjustedCount)
)

var (
	errSyntax     = errors.New("invalid tracestate syntax")
	errSize       = errors.New("invalid tracestate size")
	errValue      = errors.New("invalid r-value or t-value")
	errProbRange  = errors.New("sampling probability out of range")
	errInconsist  = errors.New("cannot raise existing sampling probability")
	errRandomness = errors.New("missing randomness")
)

// probabilityToThreshold is pkg/sampling's ProbabilityToThresholdWithPrecision,
// float operations included, so that rounding agrees to the bit.
func probabilityToThreshold(fraction float64, precision int) (uint64, error) {
	if precision == 0 {
		precision = numHexDigits
	}
	if !(fraction >= minSamplingProbability && fraction <= 1) {
		return alwaysSample, errProbRange
	}
	if fraction == 1 {
		return alwaysSample, nil
	}
	// More digits near 0 and near 1, where a fixed number of digits
	// would lose the relative precision.
	_, expF := math.Frexp(fraction)
	_, expR := math.Frexp(1 - fraction)
	precision = min(numHexDigits, max(precision+expF/-hexBits, precision+expR/-hexBits))

	scaled := uint64(math.Round(fraction * float64(maxAdjustedCount)))
	threshold := maxAdjustedCount - scaled
	if shift := hexBits * (numHexDigits - precision); shift != 0 {
		half := uint64(1) << (shift - 1)
		threshold += half
		threshold >>= shift
		threshold <<= shift
	}
	return threshold, nil
}

// probability is the share of randomness values a threshold accepts.
func probability(th uint64) float64 {
	return float64(maxAdjustedCount-th) / float64(maxAdjustedCount)
}

// tvalue encodes a threshold as th's value: up to 14 hex digits without
// trailing zeros, "0" for always, "" for never.
func tvalue(th uint64) string {
	switch th {
	case alwaysSample:
		return "0"
	case neverSample:
		return ""
	}
	return strings.TrimRight(strconv.FormatUint(maxAdjustedCount+th, 16)[1:], "0")
}

func parseTValue(s string) (uint64, error) {
	if len(s) > numHexDigits || s == "" {
		return alwaysSample, errValue
	}
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return alwaysSample, errValue
	}
	return u << (hexBits * (numHexDigits - len(s))), nil
}

func parseRValue(s string) (uint64, error) {
	if len(s) != numHexDigits {
		return 0, errValue
	}
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, errValue
	}
	return u, nil
}

// traceIDRandomness is the trace ID's low 56 bits, which W3C Trace Context
// level 2 makes random.
func traceIDRandomness(id [16]byte) uint64 {
	var v uint64
	for _, b := range id[9:] {
		v = v<<8 | uint64(b)
	}
	return v
}

type keyValue struct{ key, value string }

// otelState is the `ot` member of a tracestate.
type otelState struct {
	rnd    uint64
	rvalue string // as it arrived: it is written back unchanged
	th     uint64
	tvalue string
	extra  []keyValue
}

// traceState is a parsed W3C tracestate. Parsing mirrors pkg/sampling
// exactly, including which members survive a partly invalid input, since
// the probabilistic sampler re-serialises what it parsed.
type traceState struct {
	ot    otelState
	extra []keyValue
}

func (o *otelState) hasAny() bool { return o.rvalue != "" || o.tvalue != "" || len(o.extra) != 0 }

// updateThreshold records a sampling decision's threshold. Raising a
// probability would inflate counts derived from th, so that is refused.
func (o *otelState) updateThreshold(th uint64) error {
	if o.tvalue != "" && o.th > th {
		return errInconsist
	}
	o.th, o.tvalue = th, tvalue(th)
	return nil
}

func (o *otelState) clearThreshold() { o.th, o.tvalue = 0, "" }

// scan splits a key-value list, as pkg/sampling's keyValueScanner does.
// maxItems < 0 means no limit; note that it counts empty W3C members.
func scan(input string, maxItems int, trim bool, sep, eq byte, f func(key, value string) error) error {
	var rval error
	items := 0
	for input != "" {
		items++
		if maxItems > 0 && items >= maxItems {
			return errSize
		}
		var member string
		if i := strings.IndexByte(input, sep); i < 0 {
			member, input = input, ""
		} else {
			member, input = input[:i], input[i+1:]
		}
		if trim {
			member = strings.Trim(member, " \t")
		}
		if member == "" {
			continue
		}
		i := strings.IndexByte(member, eq)
		if i < 0 {
			continue
		}
		if err := f(member[:i], member[i+1:]); err != nil && rval == nil {
			rval = err
		}
	}
	return rval
}

// parseTraceState parses a W3C tracestate. On error the returned state is
// what pkg/sampling would have built so far.
func parseTraceState(input string, ts *traceState) error {
	*ts = traceState{ot: otelState{extra: ts.ot.extra[:0]}, extra: ts.extra[:0]}
	if input == "" {
		return nil
	}
	if len(input) > 1024 {
		return errSize
	}
	if !validW3C(input) {
		return errSyntax
	}
	return scan(input, 32, true, ',', '=', func(key, value string) error {
		if len(key) > 256 {
			return errSize
		}
		if tenant, system, found := strings.Cut(key, "@"); found && (len(tenant) > 241 || len(system) > 14) {
			return errSize
		}
		if key == "ot" {
			return parseOTel(value, &ts.ot)
		}
		ts.extra = append(ts.extra, keyValue{key, value})
		return nil
	})
}

func parseOTel(input string, o *otelState) error {
	*o = otelState{extra: o.extra[:0]}
	if len(input) > 256 {
		return errSize
	}
	if !validOTel(input) {
		return errSyntax
	}
	return scan(input, -1, false, ';', ':', func(key, value string) error {
		var err error
		switch key {
		case "rv":
			if o.rnd, err = parseRValue(value); err == nil {
				o.rvalue = value
			} else {
				o.rvalue, o.rnd = "", 0
			}
		case "th":
			if o.th, err = parseTValue(value); err == nil {
				o.tvalue = value
			} else {
				o.tvalue, o.th = "", alwaysSample
			}
		default:
			o.extra = append(o.extra, keyValue{key, value})
		}
		return err
	})
}

// appendTo serialises the tracestate: ot first (rv, th, then the rest),
// then the other vendors in their order.
func (ts *traceState) appendTo(b []byte) []byte {
	n := 0
	sep := func() {
		if n != 0 {
			b = append(b, ',')
		}
		n++
	}
	if ts.ot.hasAny() {
		sep()
		b = append(b, "ot="...)
		m := 0
		osep := func() {
			if m != 0 {
				b = append(b, ';')
			}
			m++
		}
		if ts.ot.rvalue != "" {
			osep()
			b = append(b, "rv:"...)
			b = append(b, ts.ot.rvalue...)
		}
		if ts.ot.tvalue != "" {
			osep()
			b = append(b, "th:"...)
			b = append(b, ts.ot.tvalue...)
		}
		for _, kv := range ts.ot.extra {
			osep()
			b = append(b, kv.key...)
			b = append(b, ':')
			b = append(b, kv.value...)
		}
	}
	for _, kv := range ts.extra {
		sep()
		b = append(b, kv.key...)
		b = append(b, '=')
		b = append(b, kv.value...)
	}
	return b
}

func validW3C(input string) bool {
	for input != "" {
		var member string
		if i := strings.IndexByte(input, ','); i < 0 {
			member, input = input, ""
		} else {
			member, input = input[:i], input[i+1:]
		}
		member = strings.Trim(member, " \t")
		if member == "" {
			continue
		}
		eq := strings.IndexByte(member, '=')
		if eq < 1 || !validW3CKey(member[:eq]) || !validW3CValue(member[eq+1:]) {
			return false
		}
	}
	return true
}

func isLcAlpha(c byte) bool    { return c >= 'a' && c <= 'z' }
func isLcAlphaNum(c byte) bool { return isLcAlpha(c) || (c >= '0' && c <= '9') }
func isKeyChar(c byte) bool    { return isLcAlphaNum(c) || c == '_' || c == '-' || c == '*' || c == '/' }

func keyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isKeyChar(s[i]) {
			return false
		}
	}
	return true
}

func validW3CKey(key string) bool {
	if key == "" {
		return false
	}
	if tenant, system, ok := strings.Cut(key, "@"); ok {
		if tenant == "" || system == "" || !isLcAlphaNum(tenant[0]) || !isLcAlpha(system[0]) {
			return false
		}
		return keyChars(tenant[1:]) && keyChars(system[1:])
	}
	return isLcAlpha(key[0]) && keyChars(key[1:])
}

func isNonBlank(c byte) bool {
	return (c >= 0x21 && c <= 0x2B) || (c >= 0x2D && c <= 0x3C) || (c >= 0x3E && c <= 0x7E)
}

func validW3CValue(v string) bool {
	if v == "" || len(v) > 256 || !isNonBlank(v[len(v)-1]) {
		return false
	}
	for i := 0; i < len(v)-1; i++ {
		if v[i] != 0x20 && !isNonBlank(v[i]) {
			return false
		}
	}
	return true
}

func validOTel(input string) bool {
	if input == "" || input[len(input)-1] == ';' {
		return false
	}
	for input != "" {
		var member string
		if i := strings.IndexByte(input, ';'); i < 0 {
			member, input = input, ""
		} else {
			member, input = input[:i], input[i+1:]
		}
		colon := strings.IndexByte(member, ':')
		if colon < 1 {
			return false
		}
		key, value := member[:colon], member[colon+1:]
		if !isLcAlpha(key[0]) {
			return false
		}
		for i := 1; i < len(key); i++ {
			if !isLcAlphaNum(key[i]) {
				return false
			}
		}
		for i := 0; i < len(value); i++ {
			c := value[i]
			if !(isLcAlphaNum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}
