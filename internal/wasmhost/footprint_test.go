// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// builtinDir holds the built-in filters as the binary embeds them.
const builtinDir = "../../processors/wasmprocessor/builtin"

// BenchmarkBuiltinFootprint reports, for every built-in filter, what it
// costs standing still: module-KiB and module-gz-KiB (the Wasm module, and
// as the binary embeds it; the built-ins are one module), compiled-MiB (the
// machine code wazero keeps for it, as written to a compilation cache), and
// for its instances linear-MiB (one instance's linear memory once started)
// and instance-MiB (what each instance beyond the first adds to the
// process's resident memory, all told: eight are started, and the growth
// from the first to all eight is divided by seven). An instance's linear
// memory is reserved at its size but resident only where touched, so
// instance-MiB can be less than linear-MiB; what an instance costs beyond
// its linear memory is at most their difference.
func BenchmarkBuiltinFootprint(b *testing.B) {
	gz, err := os.ReadFile(filepath.Join(builtinDir, "builtins.wasm.gz"))
	if err != nil {
		b.Skipf("no built-ins: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		b.Fatal(err)
	}
	bin, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	names, err := os.ReadFile(filepath.Join(builtinDir, "names.txt"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	dir := b.TempDir()
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := Precompile(ctx, cache, bin); err != nil {
		b.Fatal(err)
	}
	var compiled int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				compiled += info.Size()
			}
		}
		return err
	})
	for _, name := range strings.Fields(string(names)) {
		b.Run(name, func(b *testing.B) {
			var linear, extra float64
			for i := 0; i < b.N; i++ {
				linear, extra = instanceCost(b, bin, name, cache)
			}
			b.ReportMetric(float64(len(bin))/1024, "module-KiB")
			b.ReportMetric(float64(len(gz))/1024, "module-gz-KiB")
			b.ReportMetric(float64(compiled)/(1<<20), "compiled-MiB")
			b.ReportMetric(linear, "linear-MiB")
			b.ReportMetric(extra, "instance-MiB")
		})
	}
}

// instanceCost starts the filter's plugin, then seven more instances, and
// returns one instance's linear memory and what each extra one added to
// the resident set beyond its linear memory, in MiB.
func instanceCost(b *testing.B, bin []byte, name string, cache wazero.CompilationCache) (linear, extra float64) {
	ctx := context.Background()
	p, err := New(ctx, Options{Source: name, Module: bin, FilterName: name, PoolSize: 8, Cache: cache,
		Config: builtinConfigs[name]})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	g := p.gen.Load()
	memOf := func(inst *instance) float64 { return float64(inst.mod.Memory().Size()) / (1 << 20) }
	first := memOf(g.idle[0])
	runtime.GC()
	before := rssMiB(b)
	var started []*instance
	for i := 0; i < 7; i++ {
		inst, err := g.instantiate(ctx, p.opts.StartTimeout)
		if err != nil {
			b.Fatal(err)
		}
		started = append(started, inst)
	}
	runtime.GC()
	after := rssMiB(b)
	g.mu.Lock()
	g.live += len(started)
	g.idle = append(g.idle, started...)
	g.mu.Unlock()
	return first, (after - before) / float64(len(started))
}

// builtinConfigs are the built-ins' configs in distro/config.yaml, for
// those that need one to start.
var builtinConfigs = map[string][]byte{
	"sampler": []byte(`{"rules":[{"name":"default","percentage":100}]}`),
}

func rssMiB(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc: resident memory cannot be read here")
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}
