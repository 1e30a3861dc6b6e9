// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/processors/wasmprocessor/internal/metadata"
)

// telemetry is the processor's own metrics, reported through the
// Collector's internal telemetry (the component's TelemetrySettings).
type telemetry struct {
	batches  metric.Int64Counter
	failures metric.Int64Counter
	items    metric.Int64Counter
	duration metric.Float64Histogram
	reg      metric.Registration

	// Attribute options are built once: building them per batch allocates.
	signalAttr, idAttr              attribute.KeyValue
	sigOpt, inAttr, outAttr, dropAt metric.MeasurementOption
	faultOpts                       map[wasmhost.FaultKind]metric.MeasurementOption
}

// Every measurement carries the processor's ID as well as the signal: the
// Collector's Prometheus endpoint does not tell two wasm processors apart
// otherwise.
func newTelemetry(set component.TelemetrySettings, id component.ID, signal string, plugin func() *wasmhost.Plugin) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	t := &telemetry{signalAttr: attribute.String("signal", signal), idAttr: attribute.String("processor", id.String())}
	var errs [9]error
	t.batches, errs[0] = m.Int64Counter("otelcol_processor_wasm_batches",
		metric.WithDescription("Batches handed to the guest."), metric.WithUnit("{batches}"))
	t.failures, errs[1] = m.Int64Counter("otelcol_processor_wasm_failures",
		metric.WithDescription("Failed guest calls, by kind (trap, timeout, memory, guest, host)."), metric.WithUnit("{failures}"))
	t.items, errs[2] = m.Int64Counter("otelcol_processor_wasm_items",
		metric.WithDescription("Items by signal and direction (in, out, dropped)."), metric.WithUnit("{items}"))
	t.duration, errs[3] = m.Float64Histogram("otelcol_processor_wasm_batch_duration",
		metric.WithDescription("Time the guest spent on one batch."), metric.WithUnit("ms"),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000))
	instances, e4 := m.Int64ObservableGauge("otelcol_processor_wasm_instances",
		metric.WithDescription("Live guest instances."), metric.WithUnit("{instances}"))
	reloads, e5 := m.Int64ObservableCounter("otelcol_processor_wasm_reloads",
		metric.WithDescription("Successful hot reloads of the module."), metric.WithUnit("{reloads}"))
	guest, e6 := m.Int64ObservableUpDownCounter("otelcol_processor_wasm_guest_counter",
		metric.WithDescription("Counters the guest adds to through the SDK, by name."), metric.WithUnit("1"))
	logDropped, e7 := m.Int64ObservableCounter("otelcol_processor_wasm_guest_log_dropped",
		metric.WithDescription("Guest log lines discarded by the rate limit."), metric.WithUnit("{lines}"))
	overrunning, e9 := m.Int64ObservableGauge("otelcol_processor_wasm_overrunning",
		metric.WithDescription("Guest calls running past their deadline by more than the watchdog's margin."), metric.WithUnit("{calls}"))
	overruns, e10 := m.Int64ObservableCounter("otelcol_processor_wasm_overruns",
		metric.WithDescription("Guest calls the watchdog reported as running past their deadline."), metric.WithUnit("{calls}"))
	hostMem, e11 := m.Int64ObservableGauge("otelcol_processor_wasm_host_memory",
		metric.WithDescription("Host-side memory the guests hold: results, staged edits, replacement batches."), metric.WithUnit("By"))
	errs[4], errs[5], errs[6], errs[7] = errors.Join(e4, e9), errors.Join(e5, e10), errors.Join(e6, e11), e7
	t.reg, errs[8] = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		p := plugin()
		if p == nil {
			return nil
		}
		o.ObserveInt64(instances, p.LiveInstances(), metric.WithAttributes(t.signalAttr, t.idAttr))
		o.ObserveInt64(reloads, p.Reloads(), metric.WithAttributes(t.signalAttr, t.idAttr))
		o.ObserveInt64(logDropped, p.LogLinesDropped(), metric.WithAttributes(t.signalAttr, t.idAttr))
		o.ObserveInt64(overrunning, p.Overrunning(), metric.WithAttributes(t.signalAttr, t.idAttr))
		o.ObserveInt64(overruns, p.Overruns(), metric.WithAttributes(t.signalAttr, t.idAttr))
		o.ObserveInt64(hostMem, p.HostMemoryInUse(), metric.WithAttributes(t.signalAttr, t.idAttr))
		for _, c := range p.Counters() {
			o.ObserveInt64(guest, c.Value, metric.WithAttributes(t.signalAttr, t.idAttr, attribute.String("name", c.Name)))
		}
		return nil
	}, instances, reloads, guest, logDropped, overrunning, overruns, hostMem)
	t.sigOpt = metric.WithAttributeSet(attribute.NewSet(t.signalAttr, t.idAttr))
	t.faultOpts = map[wasmhost.FaultKind]metric.MeasurementOption{}
	for _, k := range []wasmhost.FaultKind{wasmhost.FaultTrap, wasmhost.FaultTimeout, wasmhost.FaultMemory, wasmhost.FaultGuest, wasmhost.FaultHost} {
		t.faultOpts[k] = metric.WithAttributeSet(attribute.NewSet(t.signalAttr, t.idAttr, attribute.String("kind", string(k))))
	}
	t.inAttr = metric.WithAttributes(t.signalAttr, t.idAttr, attribute.String("direction", "in"))
	t.outAttr = metric.WithAttributes(t.signalAttr, t.idAttr, attribute.String("direction", "out"))
	t.dropAt = metric.WithAttributes(t.signalAttr, t.idAttr, attribute.String("direction", "dropped"))
	return t, errors.Join(errs[:]...)
}

// record counts one batch: in items, out items (0 when dropped whole) and
// the failure kind, if any.
func (t *telemetry) record(ctx context.Context, in, out int, took time.Duration, fault *wasmhost.Fault) {
	t.batches.Add(ctx, 1, t.sigOpt)
	t.duration.Record(ctx, float64(took)/float64(time.Millisecond), t.sigOpt)
	t.items.Add(ctx, int64(in), t.inAttr)
	t.items.Add(ctx, int64(out), t.outAttr)
	if in > out {
		t.items.Add(ctx, int64(in-out), t.dropAt)
	}
	if fault != nil {
		t.failures.Add(ctx, 1, t.faultOpts[fault.Kind])
	}
}

func (t *telemetry) close() {
	if t != nil && t.reg != nil {
		_ = t.reg.Unregister()
	}
}
