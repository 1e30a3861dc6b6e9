// SPDX-License-Identifier: Apache-2.0

package sdktest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// The scalar types below read every spelling the OTLP/JSON mapping allows
// (64-bit integers as strings or numbers, enums as numbers or names, doubles
// as numbers or "NaN"/"Infinity") and write the one pdata writes.

// u64 is a uint64 that OTLP/JSON writes as a decimal string.
type u64 uint64

func (v u64) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatUint(uint64(v), 10)), nil
}

func (v *u64) UnmarshalJSON(b []byte) error {
	s, ok := numberText(b)
	if !ok {
		return fmt.Errorf("want an unsigned integer, got %s", b)
	}
	if s == "" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want an unsigned integer, got %s", b)
	}
	*v = u64(n)
	return nil
}

// i64 is an int64 that OTLP/JSON writes as a decimal string.
type i64 int64

func (v i64) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(int64(v), 10)), nil
}

func (v *i64) UnmarshalJSON(b []byte) error {
	s, ok := numberText(b)
	if !ok {
		return fmt.Errorf("want an integer, got %s", b)
	}
	if s == "" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %s", b)
	}
	*v = i64(n)
	return nil
}

// u32 and i32 are written as numbers but may be read from strings.
type u32 uint32

func (v *u32) UnmarshalJSON(b []byte) error {
	s, ok := numberText(b)
	if !ok {
		return fmt.Errorf("want an unsigned integer, got %s", b)
	}
	if s == "" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return fmt.Errorf("want a 32-bit unsigned integer, got %s", b)
	}
	*v = u32(n)
	return nil
}

type i32 int32

func (v *i32) UnmarshalJSON(b []byte) error {
	n, err := readInt32(b)
	*v = i32(n)
	return err
}

func readInt32(b []byte) (int32, error) {
	s, ok := numberText(b)
	if !ok {
		return 0, fmt.Errorf("want an integer, got %s", b)
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("want a 32-bit integer, got %s", b)
	}
	return int32(n), nil
}

// numberText is the text of a JSON number or of a string holding one; ""
// for null. ok is false for any other JSON value.
func numberText(b []byte) (string, bool) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return "", false
	case string(b) == "null":
		return "", true
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false
		}
		if s == "" {
			return "", false // "" is not a number; null is the way to say zero
		}
		return s, true
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		return string(b), true
	}
	return "", false
}

// f64 is a double that OTLP/JSON writes as a number, or as "NaN",
// "Infinity" or "-Infinity", which JSON numbers cannot express.
type f64 float64

func (v f64) MarshalJSON() ([]byte, error) {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(f)
}

func (v *f64) UnmarshalJSON(b []byte) error {
	s, ok := numberText(b)
	if !ok {
		return fmt.Errorf("want a number, got %s", b)
	}
	if s == "" {
		*v = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("want a number, got %s", b)
	}
	*v = f64(f)
	return nil
}

func newF64(v float64) *f64 { f := f64(v); return &f }
func newI64(v int64) *i64   { n := i64(v); return &n }

// traceID and spanID are written as lowercase hex and omitted when zero.
type traceID [16]byte

type spanID [8]byte

func (id traceID) MarshalJSON() ([]byte, error)  { return hexJSON(id[:]), nil }
func (id spanID) MarshalJSON() ([]byte, error)   { return hexJSON(id[:]), nil }
func (id *traceID) UnmarshalJSON(b []byte) error { return unhexJSON(id[:], b) }
func (id *spanID) UnmarshalJSON(b []byte) error  { return unhexJSON(id[:], b) }

func hexJSON(id []byte) []byte {
	return strconv.AppendQuote(nil, hex.EncodeToString(id))
}

func unhexJSON(dst []byte, b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a hex ID, got %s", b)
	}
	clear(dst)
	if s == "" {
		return nil
	}
	if hex.DecodedLen(len(s)) != len(dst) {
		return fmt.Errorf("want a %d-byte hex ID, got %q", len(dst), s)
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("want a hex ID, got %q", s)
	}
	return nil
}

// Enums are written as numbers and read from numbers or their proto names.
type (
	spanKind    int32
	statusCode  int32
	severity    int32
	temporality int32
)

var (
	spanKindNames = map[string]int32{
		"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
		"SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
	}
	statusCodeNames = map[string]int32{
		"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2,
	}
	temporalityNames = map[string]int32{
		"AGGREGATION_TEMPORALITY_UNSPECIFIED": 0, "AGGREGATION_TEMPORALITY_DELTA": 1,
		"AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
	}
	severityNames = func() map[string]int32 {
		m := map[string]int32{"SEVERITY_NUMBER_UNSPECIFIED": 0}
		for i, level := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
			for j := 1; j <= 4; j++ {
				name := "SEVERITY_NUMBER_" + level
				if j > 1 {
					name += strconv.Itoa(j)
				}
				m[name] = int32(i*4 + j)
			}
		}
		return m
	}()
)

func (v *spanKind) UnmarshalJSON(b []byte) error   { return readEnum((*int32)(v), b, spanKindNames) }
func (v *statusCode) UnmarshalJSON(b []byte) error { return readEnum((*int32)(v), b, statusCodeNames) }
func (v *severity) UnmarshalJSON(b []byte) error   { return readEnum((*int32)(v), b, severityNames) }
func (v *temporality) UnmarshalJSON(b []byte) error {
	return readEnum((*int32)(v), b, temporalityNames)
}

func readEnum(dst *int32, b []byte, names map[string]int32) error {
	var s string
	if len(b) > 0 && b[0] == '"' && json.Unmarshal(b, &s) == nil {
		if n, ok := names[s]; ok {
			*dst = n
			return nil
		}
	}
	n, err := readInt32(b)
	if err != nil {
		return fmt.Errorf("want an enum number or name, got %s", b)
	}
	*dst = n
	return nil
}

// decodeOTLP reads one OTLP/JSON document into v. It accepts the
// snake_case keys that pdata also accepts, and unlike pdata it rejects
// unknown keys: in a hand-written fixture an unknown key is a typo that
// would otherwise vanish silently from both input and golden output.
func decodeOTLP(in []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("more than one JSON value; pass one batch per call")
	}
	if _, ok := tree.(map[string]any); !ok {
		return errors.New("want a JSON object")
	}
	tree, err := camelKeys(tree)
	if err != nil {
		return err
	}
	norm, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	strict := json.NewDecoder(bytes.NewReader(norm))
	strict.DisallowUnknownFields()
	return strict.Decode(v)
}

// camelKeys renames snake_case object keys to lowerCamelCase. Every object
// key in OTLP/JSON is a field name (attribute keys are values), so this
// never touches data. It also rejects a key that no OTLP message has in
// exactly that case: encoding/json matches keys case-insensitively, and
// "spanID" must not pass for "spanId" when pdata would ignore it.
func camelKeys(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			name := camel(k)
			if !knownKeys()[name] {
				return nil, fmt.Errorf("unknown field %q", k)
			}
			e, err := camelKeys(e)
			if err != nil {
				return nil, err
			}
			out[name] = e
		}
		return out, nil
	case []any:
		for i, e := range v {
			e, err := camelKeys(e)
			if err != nil {
				return nil, err
			}
			v[i] = e
		}
	}
	return v, nil
}

// knownKeys is every JSON key of the model, AnyValue's included.
var knownKeys = sync.OnceValue(func() map[string]bool {
	keys := map[string]bool{"values": true}
	for _, k := range []string{"stringValue", "boolValue", "intValue", "doubleValue", "bytesValue", "arrayValue", "kvlistValue"} {
		keys[k] = true
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
				keys[name] = true
				walk(f.Type)
			}
		}
	}
	for _, root := range []any{tracesData{}, metricsData{}, logsData{}} {
		walk(reflect.TypeOf(root))
	}
	return keys
})

func camel(k string) string {
	if !strings.Contains(k, "_") {
		return k
	}
	parts := strings.Split(k, "_")
	for i := 1; i < len(parts); i++ {
		if p := parts[i]; p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// encodeOTLP writes v compactly, without HTML escaping, like pdata.
func encodeOTLP(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func parseTraces(in []byte) (*tracesData, error) {
	var d tracesData
	if err := decodeOTLP(in, &d); err != nil {
		return nil, fmt.Errorf("sdktest: traces JSON: %w", err)
	}
	for i := range d.ResourceSpans {
		rs := &d.ResourceSpans[i]
		if len(rs.ScopeSpans) == 0 {
			rs.ScopeSpans = rs.DeprecatedScopeSpans
		}
		rs.DeprecatedScopeSpans = nil
	}
	return &d, nil
}

func parseMetrics(in []byte) (*metricsData, error) {
	var d metricsData
	if err := decodeOTLP(in, &d); err != nil {
		return nil, fmt.Errorf("sdktest: metrics JSON: %w", err)
	}
	for i := range d.ResourceMetrics {
		rm := &d.ResourceMetrics[i]
		if len(rm.ScopeMetrics) == 0 {
			rm.ScopeMetrics = rm.DeprecatedScopeMetrics
		}
		rm.DeprecatedScopeMetrics = nil
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if err := checkMetric(&m); err != nil {
					return nil, fmt.Errorf("sdktest: metrics JSON: metric %q: %w", m.Name, err)
				}
			}
		}
	}
	return &d, nil
}

// checkMetric rejects what OTLP's oneofs cannot hold. pdata keeps the last
// of two values; a fixture with two is a mistake worth reporting.
func checkMetric(m *metric) error {
	n := 0
	for _, set := range []bool{m.Gauge != nil, m.Sum != nil, m.Histogram != nil,
		m.ExponentialHistogram != nil, m.Summary != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("more than one of gauge, sum, histogram, exponentialHistogram, summary")
	}
	var exemplars [][]exemplar
	for _, pts := range [][]numberPoint{gaugePoints(m), sumPoints(m)} {
		for _, p := range pts {
			if p.AsDouble != nil && p.AsInt != nil {
				return errors.New("a data point has both asDouble and asInt")
			}
			exemplars = append(exemplars, p.Exemplars)
		}
	}
	if m.Histogram != nil {
		for _, p := range m.Histogram.DataPoints {
			exemplars = append(exemplars, p.Exemplars)
		}
	}
	if m.ExponentialHistogram != nil {
		for _, p := range m.ExponentialHistogram.DataPoints {
			exemplars = append(exemplars, p.Exemplars)
		}
	}
	for _, es := range exemplars {
		for _, e := range es {
			if e.AsDouble != nil && e.AsInt != nil {
				return errors.New("an exemplar has both asDouble and asInt")
			}
		}
	}
	return nil
}

func gaugePoints(m *metric) []numberPoint {
	if m.Gauge != nil {
		return m.Gauge.DataPoints
	}
	return nil
}

func sumPoints(m *metric) []numberPoint {
	if m.Sum != nil {
		return m.Sum.DataPoints
	}
	return nil
}

func parseLogs(in []byte) (*logsData, error) {
	var d logsData
	if err := decodeOTLP(in, &d); err != nil {
		return nil, fmt.Errorf("sdktest: logs JSON: %w", err)
	}
	for i := range d.ResourceLogs {
		rl := &d.ResourceLogs[i]
		if len(rl.ScopeLogs) == 0 {
			rl.ScopeLogs = rl.DeprecatedScopeLogs
		}
		rl.DeprecatedScopeLogs = nil
	}
	return &d, nil
}
