// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

var signalNames = map[int32]string{abi.SignalTraces: "traces", abi.SignalMetrics: "metrics", abi.SignalLogs: "logs"}

type wasmProcessor struct {
	cfg    *Config
	set    processor.Settings
	signal int32
	plugin atomic.Pointer[wasmhost.Plugin]
	tel    *telemetry
	host   component.Host

	stopWatch context.CancelFunc
	watching  sync.WaitGroup
	failLog   failureLog
}

func newProcessor(set processor.Settings, cfg *Config, signal int32) *wasmProcessor {
	return &wasmProcessor{cfg: cfg, set: set, signal: signal}
}

func (p *wasmProcessor) start(ctx context.Context, host component.Host) error {
	p.host = host
	src, err := newModuleSource(p.cfg, p.set.Logger)
	if err != nil {
		return err
	}
	bin, version, err := src.load(ctx)
	if src.done != nil {
		defer src.done()
	}
	if err != nil {
		return err
	}
	opts, err := p.options(bin)
	if err != nil {
		return err
	}
	plugin, err := wasmhost.New(ctx, opts)
	if err != nil {
		return err
	}
	if plugin.Signals()&p.signal == 0 {
		_ = plugin.Close(ctx)
		return fmt.Errorf("module %q does not process %s (it processes %s)",
			p.cfg.Module, signalNames[p.signal], describeSignals(plugin.Signals()))
	}
	p.plugin.Store(plugin)
	if p.tel, err = newTelemetry(p.set.TelemetrySettings, p.set.ID, signalNames[p.signal], p.plugin.Load); err != nil {
		return fmt.Errorf("wasm processor telemetry: %w", err)
	}
	if p.cfg.Reload {
		watchCtx, cancel := context.WithCancel(context.Background())
		p.stopWatch = cancel
		p.watching.Add(1)
		go p.watch(watchCtx, src, version)
	}
	return nil
}

func describeSignals(s int32) string {
	var out []string
	for _, sig := range []int32{abi.SignalTraces, abi.SignalMetrics, abi.SignalLogs} {
		if s&sig != 0 {
			out = append(out, signalNames[sig])
		}
	}
	if len(out) == 0 {
		return "nothing"
	}
	return fmt.Sprint(out)
}

func (p *wasmProcessor) options(bin []byte) (wasmhost.Options, error) {
	guestCfg, err := json.Marshal(p.cfg.Config)
	if err != nil {
		return wasmhost.Options{}, fmt.Errorf("config: %w", err)
	}
	if p.cfg.Config == nil {
		guestCfg = []byte("{}")
	}
	// Every built-in loads the module that holds them all; the name tells
	// it which filter to run.
	var filterName string
	if name, ok := strings.CutPrefix(p.cfg.Module, builtinPrefix); ok {
		filterName = name
	}
	opts := wasmhost.Options{
		Source:              p.cfg.Module,
		Module:              bin,
		Config:              guestCfg,
		FilterName:          filterName,
		PoolSize:            p.cfg.PoolSize,
		MemoryLimitMiB:      uint32(p.cfg.MemoryLimit), // validated: 1-4096
		Timeout:             p.cfg.Timeout,
		MaxCallsPerInstance: p.cfg.MaxCallsPerInstance,
		HostMemoryMiB:       uint32(p.cfg.HostMemoryLimit),
		Logger:              p.set.Logger.With(zap.String("wasm_module", p.cfg.Module)),
		OnOverrun:           p.overrun,
	}
	// Only variables the operator named reach the guest, and only if set.
	for _, name := range p.cfg.Env {
		if v, ok := os.LookupEnv(name); ok {
			if opts.Env == nil {
				opts.Env = map[string]string{}
			}
			opts.Env[name] = v
		}
	}
	for _, m := range p.cfg.Mounts {
		opts.Mounts = append(opts.Mounts, wasmhost.Mount{HostPath: m.HostPath, GuestPath: m.GuestPath})
	}
	if dir := p.cfg.CacheDir; dir != "" {
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			return wasmhost.Options{}, fmt.Errorf("cache_dir: %s is not a directory", dir)
		}
		// Any other problem only means compiling: a read-only volume
		// precompiled by an older wasmcol lacks this wazero's directory,
		// which cannot be created there.
		if opts.Cache, err = diskCache(dir); err != nil {
			p.set.Logger.Warn("cache_dir cannot be used; compiling without it", zap.String("cache_dir", dir), zap.Error(err))
			opts.Cache = nil
		}
	} else if dir := compileCacheDir(); dir != "" {
		// The default cache: any problem with it only means compiling,
		// said once a start, since a cache refused as another user's
		// makes every start a cold one (and pulls every oci:// module).
		if opts.Cache, err = diskCache(dir); err != nil {
			p.set.Logger.Info("the default compilation cache cannot be used; compiling without it", zap.String("dir", dir), zap.Error(err))
			opts.Cache = nil
		}
	}
	return opts, nil
}

var (
	diskCachesMu sync.Mutex
	diskCaches   = map[string]wazero.CompilationCache{}
)

// diskCache shares one compilation cache per directory across the process,
// so every processor using the same module compiles it once.
func diskCache(dir string) (wazero.CompilationCache, error) {
	diskCachesMu.Lock()
	defer diskCachesMu.Unlock()
	if c, ok := diskCaches[dir]; ok {
		return c, nil
	}
	c, err := wasmhost.NewDiskCache(dir)
	if err != nil {
		return nil, err
	}
	diskCaches[dir] = c
	return c, nil
}

// overrun hears from the plugin's watchdog. A guest call that runs past
// its deadline by the watchdog's margin means the host is stuck where no
// deadline reaches; while that lasts the processor reports a recoverable
// error, which turns a component-status health check not ready.
func (p *wasmProcessor) overrun(stuck int) {
	if p.host == nil {
		return
	}
	if stuck > 0 {
		componentstatus.ReportStatus(p.host, componentstatus.NewRecoverableErrorEvent(
			fmt.Errorf("wasm module %q: %d guest call(s) running past their deadline", p.cfg.Module, stuck)))
		return
	}
	componentstatus.ReportStatus(p.host, componentstatus.NewEvent(componentstatus.StatusOK))
}

// shutdown closes the plugin first: that interrupts any guest still
// running, including a reload in progress, so waiting for the watcher
// afterwards is short. Short, but not certain: a read of the module file
// on a filesystem that hangs cannot be interrupted. So the wait ends with
// ctx or after watcherWait, whichever comes first; the watcher, once its
// read returns, sees that it was stopped and does nothing more.
func (p *wasmProcessor) shutdown(ctx context.Context) error {
	if p.stopWatch != nil {
		p.stopWatch() // also cancels a pull in progress
	}
	var err error
	if plugin := p.plugin.Swap(nil); plugin != nil {
		err = plugin.Close(ctx)
	}
	if p.stopWatch != nil {
		stopped := make(chan struct{})
		go func() { p.watching.Wait(); close(stopped) }()
		wait := time.NewTimer(watcherWait)
		defer wait.Stop()
		select {
		case <-stopped:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("wasm module %q: the reload watcher has not stopped: %w", p.cfg.Module, ctx.Err()))
		case <-wait.C:
			err = errors.Join(err, fmt.Errorf("wasm module %q: the reload watcher has not stopped after %s", p.cfg.Module, watcherWait))
		}
		p.stopWatch = nil
	}
	p.tel.close()
	return err
}

// watcherWait bounds how long shutdown waits for the reload watcher.
var watcherWait = 5 * time.Second

// reloadInterval is how often a reload: true processor looks at its file,
// unless reload_interval says otherwise.
var reloadInterval = time.Second

// watch polls the module: a file by reading it (polling, rather than
// inotify, also follows Kubernetes ConfigMap updates, which swap a
// symlink), a tag by asking the registry for its digest. version is what
// runs now.
func (p *wasmProcessor) watch(ctx context.Context, src *moduleSource, version string) {
	defer p.watching.Done()
	t := time.NewTicker(src.reloadInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ok bool
		if version, ok = p.reloadOnce(ctx, src, version); !ok {
			return
		}
	}
}

// reloadOnce polls the module and swaps in a new one, returning the
// version to compare with next time, or false once shutting down. A panic
// on the way, a host bug that a module or a registry might trigger, is
// logged and counted as a trap, and the running module stays: nothing
// here may take the Collector down.
func (p *wasmProcessor) reloadOnce(ctx context.Context, src *moduleSource, version string) (seen string, ok bool) {
	seen = version
	defer func() {
		if r := recover(); r != nil {
			p.set.Logger.Error("wasm reload panicked; keeping the running module", zap.String("module", p.cfg.Module),
				zap.Any("panic", r), zap.Stack("stack"))
			p.tel.failures.Add(context.Background(), 1, p.tel.faultOpts[wasmhost.FaultTrap])
			ok = true
		}
	}()
	bin, next, err := src.poll(ctx, version)
	if ctx.Err() != nil {
		return seen, false
	}
	if err != nil {
		p.set.Logger.Warn("wasm reload: cannot read the new module; keeping the running one", zap.Error(err))
		return seen, true
	}
	if bin == nil {
		return seen, true
	}
	plugin := p.plugin.Load()
	if plugin == nil {
		return seen, false
	}
	seen = next // do not retry a module that failed, or panicked, every tick
	if err := plugin.Reload(context.Background(), bin); err != nil {
		p.set.Logger.Error("wasm reload failed; keeping the running module", zap.String("module", p.cfg.Module), zap.Error(err))
		return seen, true
	}
	p.set.Logger.Info("wasm module reloaded", zap.String("module", p.cfg.Module), zap.String("version", next))
	return seen, true
}

// outcome applies the fault policy to a processed batch.
func (p *wasmProcessor) outcome(ctx context.Context, in int, out func() int, took time.Duration, err error) error {
	var fault *wasmhost.Fault
	if err != nil && !errors.As(err, &fault) {
		return err // not the guest's doing: shutdown or a cancelled context
	}
	if fault == nil {
		n := out()
		p.tel.record(ctx, in, n, took, nil)
		if n == 0 && in > 0 {
			return processorhelper.ErrSkipProcessingData
		}
		return nil
	}
	if ok, skipped := p.failLog.allow(time.Now()); ok {
		p.logFault(fault, skipped)
	}
	switch p.cfg.OnError {
	case OnErrorDrop:
		p.tel.record(ctx, in, 0, took, fault)
		return processorhelper.ErrSkipProcessingData
	case OnErrorError:
		p.tel.record(ctx, in, 0, took, fault)
		return fault
	default: // pass: the batch is exactly as it arrived
		p.tel.record(ctx, in, in, took, fault)
		return nil
	}
}

// logFault logs a failed batch; skipped is how many failures went
// unlogged since the last line (failureLog).
func (p *wasmProcessor) logFault(fault *wasmhost.Fault, skipped int64) {
	fields := []zap.Field{zap.String("module", p.cfg.Module), zap.String("kind", string(fault.Kind)),
		zap.String("on_error", string(p.cfg.OnError)), zap.Error(fault.Err)}
	if skipped > 0 {
		fields = append(fields, zap.Int64("failures_not_logged", skipped))
	}
	if fault.Kind == wasmhost.FaultHost {
		p.set.Logger.Error("wasm processor failed on a batch (a wasmcol bug: please report it with this stack)",
			append(fields, zap.ByteString("stack", fault.Stack))...)
		return
	}
	p.set.Logger.Warn("wasm filter failed", fields...)
}

func (p *wasmProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	in, start := td.SpanCount(), time.Now()
	plugin := p.plugin.Load()
	if plugin == nil {
		return td, errNotStarted
	}
	out, err := plugin.ProcessTraces(ctx, td)
	return out, p.outcome(ctx, in, out.SpanCount, time.Since(start), err)
}

func (p *wasmProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	in, start := md.DataPointCount(), time.Now()
	plugin := p.plugin.Load()
	if plugin == nil {
		return md, errNotStarted
	}
	out, err := plugin.ProcessMetrics(ctx, md)
	return out, p.outcome(ctx, in, out.DataPointCount, time.Since(start), err)
}

func (p *wasmProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	in, start := ld.LogRecordCount(), time.Now()
	plugin := p.plugin.Load()
	if plugin == nil {
		return ld, errNotStarted
	}
	out, err := plugin.ProcessLogs(ctx, ld)
	return out, p.outcome(ctx, in, out.LogRecordCount, time.Since(start), err)
}

var errNotStarted = errors.New("wasm processor is not running")

// failureLog limits the lines failed batches log to a burst of 10, then
// one a second: a guest failing every batch on purpose with a message of
// control characters wrote 37.7 MiB of log a second. Every failure is
// still counted in otelcol_processor_wasm_failures, and the next line
// logged says how many went unlogged before it.
type failureLog struct {
	mu      sync.Mutex
	tokens  float64
	last    time.Time
	skipped int64
}

const (
	failureLogBurst  = 10
	failureLogPerSec = 1
)

func (l *failureLog) allow(now time.Time) (ok bool, skipped int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = failureLogBurst
	} else {
		l.tokens = min(failureLogBurst, l.tokens+now.Sub(l.last).Seconds()*failureLogPerSec)
	}
	l.last = now
	if l.tokens < 1 {
		l.skipped++
		return false, 0
	}
	l.tokens--
	skipped, l.skipped = l.skipped, 0
	return true, skipped
}
