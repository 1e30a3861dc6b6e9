// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

// A module nobody vouches for is compiled first in a process of its own,
// which can be killed. wazero cannot abandon a compilation, and Go's out of
// memory ends the whole process, so the bounds the rewrite checks
// (flowcost.go) are the host's only defence in process; nine attack rounds
// found a new way past them each time. The probe makes the last word the
// compiler's own: a compilation that passes probeHeapLimit or
// compileTimeout in the child is refused, and the Collector is untouched.
//
// The child is the running executable (probeExecutable), which links this
// package: its init sees probeEnv and compiles instead of starting. It
// compiles the rewritten module with the engine's runtime configuration
// and, when the engine keeps compiled code on disk (NewDiskCache), into the
// same directory, where the host's own compilation then finds it: the
// module is compiled once. With an in-memory cache it is compiled twice.

// probeEnv names the environment variable that makes the executable a
// compile probe. Its value is the parent's process ID, the heap limit in
// bytes and the compiled-code directory or "-", separated by colons. The
// process ID must be the probe's parent: a Collector started with the
// variable already set (by mistake, or passed down) starts as a Collector,
// where it would have waited on its standard input as a probe.
const probeEnv = "WASMCOL_COMPILE_PROBE"

// probeHeapLimit is the most heap the probe may hold while compiling: four
// times what a function at maxWeight is estimated to take. Compiling the
// built-in bundle holds under 100 MiB.
const probeHeapLimit = 1 << 30

// probe exit codes, besides 0 (compiled) and being killed (too slow).
const (
	probeInvalid   = 1 // wazero refused the module; stdout says why
	probeTooLarge  = 3 // the heap passed probeHeapLimit
	probeBadInput  = 4
	maxProbeOutput = 4 << 10
)

func init() {
	v, ok := os.LookupEnv(probeEnv)
	if !ok {
		return
	}
	_ = os.Unsetenv(probeEnv) // not for what this process starts
	ppid, rest, _ := strings.Cut(v, ":")
	if ppid != strconv.Itoa(os.Getppid()) {
		return
	}
	limit, dir, _ := strings.Cut(rest, ":")
	if dir == "" {
		dir = "-" // never wazero's default, the working directory
	}
	n, err := strconv.ParseUint(limit, 10, 64)
	if err != nil {
		n = probeHeapLimit
	}
	os.Exit(runProbe(n, dir, os.Stdin, os.Stdout))
}

// probeLimit and probeTimeout are what a probe may take: tests lower them.
var (
	probeLimit   atomic.Uint64
	probeTimeout = compileTimeout
)

func init() { probeLimit.Store(probeHeapLimit) }

// errCompileTooLarge is a compilation the probe stopped at its heap limit:
// the module's own doing, which no other cache would change.
var errCompileTooLarge = errors.New("compiling the module needs too much memory")

// errNoProbe is a module refused because no probe could be started.
var errNoProbe = errors.New("the module could not be compiled in a process of its own, as modules wasmcol did not build must be")

// probeExecutable is what a probe runs: the running executable, through
// /proc/self/exe where there is one, which stays the Collector's own even
// once its file is deleted or replaced on disk. Tests replace it.
var probeExecutable = func() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe", nil
	}
	return os.Executable()
}

// probesRun counts the probes that ran to an answer, probesSkipped those
// that could not start (and refused their module), and probesCached those
// a mark on disk made needless, for tests.
var probesRun, probesSkipped, probesCached atomic.Int64

// probedFile names the mark a passed probe of out leaves in dir. It is
// keyed by what the probe's answer depends on: the rewritten module,
// wazero's version and the limits. Whoever can write dir can write the
// compiled code beside it, so the mark is trusted as that code is.
func probedFile(dir string, out []byte, limit uint64) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %d %s\n", wazeroVersion(), limit, probeTimeout)
	h.Write(out)
	return filepath.Join(dir, "wasmcol-probed-"+hex.EncodeToString(h.Sum(nil)))
}

// wazeroVersion is the version of wazero built in, from the build's
// information.
var wazeroVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				if d.Replace != nil {
					d = d.Replace
				}
				return d.Version + " " + d.Sum
			}
		}
	}
	return "unknown"
})

// probeDisabled turns probes off, for tests of the in-process path.
var probeDisabled atomic.Bool

// probeCompile compiles bin (as rewritten) in a child process under the
// heap limit and ctx's deadline, into dir's compiled code if dir is not
// empty. An error means the module must not be compiled in process: when
// no child can be started too, since an attacker who can exhaust the
// Collector's file descriptors or replace its executable could otherwise
// skip the probe (the tenth round).
func probeCompile(ctx context.Context, dir string, bin []byte) error {
	if probeDisabled.Load() {
		return nil
	}
	limit := probeLimit.Load()
	var mark string
	if dir != "" {
		// A probe that passed leaves a mark: the next start with the same
		// module, wazero and limits loads the compiled code at once (a
		// warm start of a 3.5 MB Go filter took 0.3 s with the probe, 0.1
		// without).
		mark = probedFile(dir, bin, limit)
		if isOwnFile(mark) {
			touchCached(mark)
			probesCached.Add(1)
			return nil
		}
	}
	exe, err := probeExecutable()
	if err != nil {
		probesSkipped.Add(1)
		return fmt.Errorf("%w: %v", errNoProbe, err)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	if dir == "" {
		dir = "-"
	}
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%d:%s", probeEnv, os.Getpid(), limit, dir))
	cmd.Stdin = bytes.NewReader(bin)
	cmd.SysProcAttr = probeAttr()
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out // a compiler panic prints to stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		probesSkipped.Add(1)
		return fmt.Errorf("%w: %v", errNoProbe, err)
	}
	err = cmd.Wait()
	probesRun.Add(1)
	if err == nil {
		if mark != "" {
			_ = os.WriteFile(mark, nil, 0o644) // a cache: failing to write only costs a probe
		}
		return nil
	}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%s, in a process of its own, which was stopped)", errCompileDeadline, time.Since(began).Round(time.Millisecond))
	case errors.As(err, &exit) && exit.ExitCode() == probeTooLarge:
		return fmt.Errorf("%w: more than %d MiB (in a process of its own, which was stopped)", errCompileTooLarge, limit>>20)
	case errors.As(err, &exit) && exit.ExitCode() == probeInvalid:
		return errors.New(out.firstLine())
	}
	return fmt.Errorf("the compiler failed on this module (in a process of its own: %v): %s", err, out.firstLine())
}

// runProbe is the child: it compiles the module on in, within the heap
// limit, and reports on out.
func runProbe(limit uint64, dir string, in io.Reader, out io.Writer) int {
	bin, err := io.ReadAll(io.LimitReader(in, 2*MaxModuleBytes+1))
	if err != nil || len(bin) > 2*MaxModuleBytes {
		fmt.Fprintln(out, "the compile probe could not read the module")
		return probeBadInput
	}
	// What the watcher sees counts garbage not yet swept: collect as the
	// heap nears the limit, whatever GOGC or GOMEMLIMIT the Collector's
	// environment passed down (GOGC=off would refuse every module).
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(int64(limit / 8 * 7))
	go watchHeap(limit, func() {
		fmt.Fprintf(out, "compiling needs more than %d MiB\n", limit>>20)
		os.Exit(probeTooLarge)
	})
	ctx := context.Background()
	cache := wazero.NewCompilationCache()
	if dir != "-" {
		if cache, err = wazero.NewCompilationCacheWithDir(dir); err != nil {
			fmt.Fprintln(out, err)
			return probeBadInput
		}
	}
	r := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(cache))
	_, err = compileModule(ctx, r, bin)
	if err != nil {
		fmt.Fprintln(out, err) // the host says it is not a valid module
		return probeInvalid
	}
	_ = r.Close(ctx)
	_ = cache.Close(ctx)
	return 0
}

// watchHeap calls over once the heap's live objects pass limit. It looks
// every 5 ms: the compiler allocates well under a GiB in that time.
func watchHeap(limit uint64, over func()) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for range time.Tick(5 * time.Millisecond) {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() > limit {
			over()
			return
		}
	}
}

// firstLine is the first line written, made safe to log: what wazero
// says of a module may quote it.
func (l *limitedBuffer) firstLine() string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(l.b), []byte("\n"))
	return sanitizeCut(line, maxProbeOutput) // escaping lengthens it
}

// limitedBuffer keeps the first maxProbeOutput bytes written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxProbeOutput - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}
