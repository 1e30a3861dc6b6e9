// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
	"github.com/wasmcol/wasmcol/wasm-sdk/internal/hostcall"
)

// TracesFilter processes trace batches.
type TracesFilter interface {
	ProcessTraces(Traces) error
}

// MetricsFilter processes metric batches.
type MetricsFilter interface {
	ProcessMetrics(Metrics) error
}

// LogsFilter processes log batches.
type LogsFilter interface {
	ProcessLogs(Logs) error
}

// Initializer is implemented by filters that read their configuration. Init
// runs once per instance before any batch; an error fails the Collector's
// start with its message.
type Initializer interface {
	Init(Config) error
}

// The module's filters: the one Register made, or those RegisterAs named.
var (
	registered any
	named      map[string]any
	// nameOf asks the host which filter to run. RegisterAs sets it, so
	// that only a module holding several filters imports filter_name
	// (the linker drops the import with the code that cannot reach it):
	// a module of one filter runs on hosts that predate that import.
	nameOf func(hostcall.Host) string
)

// Register makes f the module's filter. Call it once, from init:
//
//	func init() { wasmcol.Register(&tagger{}) }
//	func main() {}
//
// # Notes
//   - f must implement at least one of TracesFilter, MetricsFilter and
//     LogsFilter; the host refuses to run it in a pipeline of another signal.
//   - Register panics on a second call or a value that filters nothing, so
//     the mistake shows at the module's start.
//   - A module registers either one filter with Register or several with
//     RegisterAs; one that does both fails at start.
func Register(f any) {
	if registered != nil {
		panic("wasmcol: Register called twice")
	}
	if signals(f) == 0 {
		panic(fmt.Sprintf("wasmcol: %T implements none of TracesFilter, MetricsFilter, LogsFilter", f))
	}
	registered = f
}

// RegisterAs adds f to the module under name, for a module that holds
// several filters and runs the one the host names: they then share one Go
// runtime, one compilation and one copy of compiled code. wasmcol's
// built-in filters are such a module. Call it from init, once per filter:
//
//	func init() {
//		wasmcol.RegisterAs("tagger", &tagger{})
//		wasmcol.RegisterAs("dropper", &dropper{})
//	}
//
// # Notes
//   - Each instance runs the one filter the host names (see ABI.md,
//     "Modules holding several filters"). Asked for a name the module does
//     not hold, or for none, it fails at start with a message listing
//     the names it holds.
//   - A filter of your own, in a module of its own, needs Register, not
//     this: the processor names a filter only for its built-ins.
//   - RegisterAs panics on an empty or repeated name, or a value that
//     filters nothing, so the mistake shows at the module's start.
func RegisterAs(name string, f any) {
	if name == "" {
		panic("wasmcol: RegisterAs with an empty name")
	}
	if _, dup := named[name]; dup {
		panic(fmt.Sprintf("wasmcol: RegisterAs called twice with the name %q", name))
	}
	if signals(f) == 0 {
		panic(fmt.Sprintf("wasmcol: %T implements none of TracesFilter, MetricsFilter, LogsFilter", f))
	}
	if named == nil {
		named = map[string]any{}
	}
	named[name] = f
	nameOf = hostcall.Host.FilterName
}

// chooseFilter returns the filter this instance runs: Register's whatever
// the host names, or the one of RegisterAs's that the host names.
func chooseFilter(h hostcall.Host) (any, error) {
	switch {
	case registered != nil && len(named) > 0:
		return nil, errors.New("wasmcol: both Register and RegisterAs were called; register one filter with Register, or several with RegisterAs")
	case registered != nil:
		return registered, nil
	case len(named) == 0:
		return nil, errors.New("wasmcol: no filter registered; call wasmcol.Register in init")
	}
	name := nameOf(h)
	if f, ok := named[name]; ok {
		return f, nil
	}
	names := make([]string, 0, len(named))
	for n := range named {
		names = append(names, n)
	}
	sort.Strings(names)
	if name == "" {
		return nil, fmt.Errorf("wasmcol: the host named none of this module's filters (%s)", strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("wasmcol: this module holds no filter named %q (it holds %s)", name, strings.Join(names, ", "))
}

// Config is the filter's configuration: the processor's `config` block as JSON.
type Config struct {
	raw []byte
	h   hostcall.Host
}

// Raw is the configuration as JSON text ("{}" when none was given).
func (c Config) Raw() []byte { return c.raw }

// Decode unmarshals the configuration into v with encoding/json, rejecting
// keys v does not have so that a typo fails at start instead of being ignored.
func (c Config) Decode(v any) error {
	if len(c.raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(c.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Host gives access to logging, counters and the shared key-value store.
func (c Config) Host() Host { return Host{c.h} }

func signals(f any) int32 {
	var s int32
	if _, ok := f.(TracesFilter); ok {
		s |= abi.SignalTraces
	}
	if _, ok := f.(MetricsFilter); ok {
		s |= abi.SignalMetrics
	}
	if _, ok := f.(LogsFilter); ok {
		s |= abi.SignalLogs
	}
	return s
}

func initFilter(h hostcall.Host, f any) error {
	if in, ok := f.(Initializer); ok {
		return in.Init(Config{raw: h.Config(), h: h})
	}
	return nil
}

// current is reused across calls so that the edit buffer and column index
// are allocated once per instance, not per batch. A module instance runs one
// call at a time; sdktest builds its own batch per run.
var current batch

func process(b *batch, h hostcall.Host, signal int32, f any) (err error) {
	b.reset(h, signal)
	switch signal {
	case abi.SignalTraces:
		tf, ok := f.(TracesFilter)
		if !ok {
			return errors.New("wasmcol: this filter does not process traces")
		}
		err = tf.ProcessTraces(Traces{b})
	case abi.SignalMetrics:
		mf, ok := f.(MetricsFilter)
		if !ok {
			return errors.New("wasmcol: this filter does not process metrics")
		}
		err = mf.ProcessMetrics(Metrics{b})
	case abi.SignalLogs:
		lf, ok := f.(LogsFilter)
		if !ok {
			return errors.New("wasmcol: this filter does not process logs")
		}
		err = lf.ProcessLogs(Logs{b})
	default:
		return fmt.Errorf("wasmcol: unknown signal %d", signal)
	}
	if err != nil {
		return err
	}
	return b.finish()
}

func getOTLP(b *batch) ([]byte, error) {
	p, rc := b.h.OTLPGet()
	if rc < 0 {
		return nil, fmt.Errorf("wasmcol: otlp_get: %s", abi.ErrorText(rc))
	}
	return p, nil
}

func setOTLP(b *batch, p []byte) error {
	if rc := b.h.OTLPSet(p); rc < 0 {
		return fmt.Errorf("wasmcol: otlp_set: %s", abi.ErrorText(rc))
	}
	b.otlp = true
	return nil
}

func init() {
	hostcall.Init = initFilter
	hostcall.Process = func(h hostcall.Host, signal int32, f any) error {
		return process(new(batch), h, signal, f)
	}
	hostcall.Signals = signals
	hostcall.Choose = chooseFilter
}
