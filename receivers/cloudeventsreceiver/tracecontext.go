// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// traceContext is a parsed W3C traceparent.
type traceContext struct {
	traceID pcommon.TraceID
	spanID  pcommon.SpanID
	sampled bool
}

// parseTraceparent parses a W3C Trace Context traceparent
// (version-traceid-parentid-flags). An invalid one reports false and, as
// Trace Context prescribes, is ignored rather than refused: a tracing
// glitch must not cost the event.
func parseTraceparent(s string) (traceContext, bool) {
	s = strings.TrimSpace(s)
	// 00-<32 hex>-<16 hex>-<2 hex> is 55 characters; a later version may
	// append "-..." fields, which version 00 parsing ignores.
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return traceContext{}, false
	}
	var version, flags [1]byte
	if _, err := hex.Decode(version[:], []byte(s[0:2])); err != nil || version[0] == 0xff {
		return traceContext{}, false
	}
	if (version[0] == 0 && len(s) != 55) || (len(s) > 55 && s[55] != '-') {
		return traceContext{}, false
	}
	var tc traceContext
	if _, err := hex.Decode(tc.traceID[:], []byte(s[3:35])); err != nil || tc.traceID.IsEmpty() {
		return traceContext{}, false
	}
	if _, err := hex.Decode(tc.spanID[:], []byte(s[36:52])); err != nil || tc.spanID.IsEmpty() {
		return traceContext{}, false
	}
	if _, err := hex.Decode(flags[:], []byte(s[53:55])); err != nil {
		return traceContext{}, false
	}
	tc.sampled = flags[0]&1 == 1
	return tc, true
}
