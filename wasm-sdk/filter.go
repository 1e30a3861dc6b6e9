// SPDX-License-Identifier: Apache-2.0

package wasmcol

import (
	"encoding/json"
	"errors"
	"fmt"

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

var registered any

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
func Register(f any) {
	if registered != nil {
		panic("wasmcol: Register called twice")
	}
	if signals(f) == 0 {
		panic(fmt.Sprintf("wasmcol: %T implements none of TracesFilter, MetricsFilter, LogsFilter", f))
	}
	registered = f
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
}
