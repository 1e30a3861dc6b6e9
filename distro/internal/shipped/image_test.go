// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"go.yaml.in/yaml/v3"
)

// No Docker engine runs where these tests do, so the image is checked in
// two halves: the Dockerfile must package exactly what `make distro` builds
// (TestDockerfile), and that binary must be fit for a distroless static,
// nonroot image (the other tests here).

// builderConfig is the part of builder-config.yaml the tests compare with.
type builderConfig struct {
	Dist struct {
		Name    string `yaml:"name"`
		Module  string `yaml:"module"`
		Version string `yaml:"version"`
	} `yaml:"dist"`
	Receivers  []builderModule `yaml:"receivers"`
	Processors []builderModule `yaml:"processors"`
	Exporters  []builderModule `yaml:"exporters"`
	Connectors []builderModule `yaml:"connectors"`
	Extensions []builderModule `yaml:"extensions"`
	Providers  []builderModule `yaml:"providers"`
}

type builderModule struct {
	GoMod  string `yaml:"gomod"`
	Import string `yaml:"import"`
}

func readBuilderConfig(t *testing.T) builderConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var bc builderConfig
	if err := yaml.Unmarshal(data, &bc); err != nil {
		t.Fatalf("builder-config.yaml: %v", err)
	}
	return bc
}

// TestBinaryIsStatic: distroless/static has no libc and no dynamic loader,
// so a binary that needs either would not even start in the image.
func TestBinaryIsStatic(t *testing.T) {
	bin := wasmcolBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s is not an ELF binary, so the Linux image could not run it: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it is dynamically linked (built with cgo?)", bin)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v, which distroless/static does not have", bin, libs)
	}
}

// TestBinaryBuildSettings reads the build information Go embeds: the flags
// `make distro` promises, the main module, and every component module at
// its pinned version, including this project's own through the replace.
func TestBinaryBuildSettings(t *testing.T) {
	bin := wasmcolBinary(t)
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("reading Go build info of %s: %v", bin, err)
	}
	bc := readBuilderConfig(t)
	if info.Path != bc.Dist.Module {
		t.Errorf("main package %q, want %q from builder-config.yaml", info.Path, bc.Dist.Module)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux"} {
		if got := settings[key]; got != want {
			t.Errorf("build setting %s = %q, want %q", key, got, want)
		}
	}
	// Go does not record -ldflags when -trimpath is on, so look for what
	// -s -w leave out: the symbol table and the DWARF sections.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sec := range f.Sections {
		if sec.Name == ".symtab" || strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			t.Errorf("section %s present: the binary was not linked with -ldflags=\"-s -w\" as `make distro` does", sec.Name)
		}
	}

	deps := map[string]*debugModule{}
	for _, d := range info.Deps {
		deps[d.Path] = &debugModule{version: d.Version}
		if d.Replace != nil {
			deps[d.Path].replace = d.Replace.Path
		}
	}
	var all []builderModule
	for _, l := range [][]builderModule{bc.Receivers, bc.Processors, bc.Exporters, bc.Connectors, bc.Extensions, bc.Providers} {
		all = append(all, l...)
	}
	for _, m := range all {
		path, version, _ := strings.Cut(m.GoMod, " ")
		d, ok := deps[path]
		switch {
		case !ok:
			t.Errorf("module %s from builder-config.yaml is not in the binary", path)
		case strings.HasPrefix(path, "github.com/wasmcol/wasmcol"):
			// This project's modules come from the working tree.
			if d.replace != "../" {
				t.Errorf("module %s is replaced by %q, want ../ (the working tree)", path, d.replace)
			}
		case d.version != version:
			t.Errorf("module %s is at %s in the binary, want %s pinned in builder-config.yaml", path, d.version, version)
		}
	}
}

type debugModule struct{ version, replace string }

// TestBinaryVersionAndComponents runs the binary as the image's ENTRYPOINT
// would and compares what it reports with builder-config.yaml and with the
// components the issue promises.
func TestBinaryVersionAndComponents(t *testing.T) {
	bin := wasmcolBinary(t)
	bc := readBuilderConfig(t)
	dir := t.TempDir()

	res := runWasmcol(t, bin, dir, nil, "--version")
	if want := bc.Dist.Name + " version " + bc.Dist.Version; res.err != nil || strings.TrimSpace(res.out) != want {
		t.Errorf("--version printed %q (err %v), want %q", strings.TrimSpace(res.out), res.err, want)
	}

	res = runWasmcol(t, bin, dir, nil, "components")
	if res.err != nil {
		t.Fatalf("components: %v\n%s", res.err, res.out)
	}
	type component struct {
		Name   string `yaml:"name"`
		Scheme string `yaml:"scheme"` // providers have a scheme, not a name
	}
	var out struct {
		Receivers  []component `yaml:"receivers"`
		Processors []component `yaml:"processors"`
		Exporters  []component `yaml:"exporters"`
		Connectors []component `yaml:"connectors"`
		Extensions []component `yaml:"extensions"`
		Providers  []component `yaml:"providers"`
	}
	if err := yaml.Unmarshal([]byte(res.out), &out); err != nil {
		t.Fatalf("components output is not YAML: %v\n%s", err, res.out)
	}
	comps := map[string][]component{
		"receivers": out.Receivers, "processors": out.Processors, "exporters": out.Exporters,
		"connectors": out.Connectors, "extensions": out.Extensions, "providers": out.Providers,
	}
	names := func(kind string) []string {
		var names []string
		for _, c := range comps[kind] {
			names = append(names, c.Name+c.Scheme)
		}
		return names
	}
	for kind, want := range map[string]struct {
		configured int
		required   []string
	}{
		"receivers":  {len(bc.Receivers), []string{"otlp", "zipkin", "jaeger"}},
		"processors": {len(bc.Processors), []string{"wasm", "memory_limiter", "batch", "transform", "probabilistic_sampler", "tail_sampling", "k8s_attributes", "resource_detection"}},
		"exporters":  {len(bc.Exporters), []string{"debug", "otlp_grpc", "otlp_http", "zipkin", "file", "load_balancing", "jaeger"}},
		"connectors": {len(bc.Connectors), []string{"forward"}},
		"extensions": {len(bc.Extensions), []string{"health_check", "zpages"}},
		"providers":  {len(bc.Providers), []string{"env", "file", "yaml"}},
	} {
		got := names(kind)
		if len(got) != want.configured {
			t.Errorf("%s: the binary has %d (%v), builder-config.yaml lists %d", kind, len(got), got, want.configured)
		}
		for _, r := range want.required {
			if !slices.Contains(got, r) {
				t.Errorf("%s: %q missing from the binary (has %v)", kind, r, got)
			}
		}
	}
}

// TestDockerfile checks that the image packages what the other tests
// check: the build stage's result is `make distro`'s bin/wasmcol, copied
// alone onto distroless static as nonroot, with the binary as ENTRYPOINT so
// the operator's --config argument reaches it, and a default CMD config
// that exists in the repository.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		from, name, workdir string
		ins                 []dockerInstruction
	}
	var stages []*stage
	for _, ins := range dockerInstructions(data) {
		if ins.cmd == "FROM" {
			s := &stage{from: ins.args[0]}
			if len(ins.args) == 3 && strings.EqualFold(ins.args[1], "AS") {
				s.name = ins.args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if ins.cmd != "ARG" {
				t.Fatalf("Dockerfile: %s before the first FROM", ins.cmd)
			}
			continue
		}
		s := stages[len(stages)-1]
		if ins.cmd == "WORKDIR" {
			s.workdir = ins.args[0]
		}
		if ins.cmd == "ENV" && regexp.MustCompile(`CGO_ENABLED|GOFLAGS|GOOS|GOARCH`).MatchString(ins.raw) {
			t.Errorf("Dockerfile: %s %s changes the build away from `make distro`", ins.cmd, ins.raw)
		}
		s.ins = append(s.ins, ins)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and a runtime stage", len(stages))
	}
	final := stages[len(stages)-1]

	// The build stage is the one the final stage copies the binary from.
	var build *stage
	var binDest, cacheDest string
	copies := map[string]string{} // destination -> build-context source
	for _, ins := range final.ins {
		if ins.cmd != "COPY" {
			continue
		}
		args := ins.args
		from := ""
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			if v, ok := strings.CutPrefix(args[0], "--from="); ok {
				from = v
			}
			args = args[1:]
		}
		if len(args) != 2 {
			t.Errorf("Dockerfile: COPY %s: want exactly one source and a destination", ins.raw)
			continue
		}
		if from == "" {
			copies[args[1]] = args[0]
			continue
		}
		for _, s := range stages {
			if s.name == from {
				build = s
			}
		}
		if build == nil {
			t.Fatalf("Dockerfile: COPY --from=%s names no stage", from)
		}
		switch args[0] {
		case filepath.Join(build.workdir, "bin", "wasmcol"):
			binDest = args[1]
		case filepath.Join(build.workdir, "bin", "cache"):
			cacheDest = args[1]
		default:
			t.Errorf("Dockerfile: the runtime stage copies %s, want make distro-image's bin/wasmcol and bin/cache", args[0])
		}
	}
	if build == nil {
		t.Fatal("Dockerfile: the runtime stage copies nothing from a build stage")
	}
	var lastRun string
	for _, ins := range build.ins {
		if ins.cmd == "RUN" {
			lastRun = ins.raw
		}
	}
	if !regexp.MustCompile(`(^|&&|\s)make distro-image$`).MatchString(lastRun) {
		t.Errorf("Dockerfile: the build stage's last RUN is %q, want it to end in `make distro-image`", lastRun)
	}
	// The precompiled built-ins must land where the binary looks without
	// cache_dir: $XDG_CACHE_HOME/wasmcol, for the image's user.
	var xdg string
	for _, ins := range final.ins {
		if v, ok := strings.CutPrefix(ins.raw, "XDG_CACHE_HOME="); ins.cmd == "ENV" && ok {
			xdg = v
		}
	}
	if cacheDest == "" || xdg == "" || cacheDest != filepath.Join(xdg, "wasmcol") {
		t.Errorf("Dockerfile: precompiled cache copied to %q with XDG_CACHE_HOME %q; want it at $XDG_CACHE_HOME/wasmcol", cacheDest, xdg)
	}
	checkGoImage(t, build.from)

	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") || !strings.HasSuffix(final.from, ":nonroot") {
		t.Errorf("Dockerfile: runtime base %s, want gcr.io/distroless/static-*:nonroot", final.from)
	}
	var user, entrypoint, cmd string
	for _, ins := range final.ins {
		switch ins.cmd {
		case "USER":
			user = ins.raw
		case "ENTRYPOINT":
			entrypoint = ins.raw
		case "CMD":
			cmd = ins.raw
		case "RUN":
			t.Errorf("Dockerfile: RUN %s in the runtime stage: distroless has no shell", ins.raw)
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("Dockerfile: USER %q, want a non-root user", user)
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) != 1 || ep[0] != binDest {
		t.Errorf("Dockerfile: ENTRYPOINT %s, want the exec form [%q] alone, so the operator's --config argument goes to the binary", entrypoint, binDest)
	}
	var args []string
	if err := json.Unmarshal([]byte(cmd), &args); err != nil || len(args) != 1 {
		t.Fatalf("Dockerfile: CMD %s, want exec form with one --config=<file>", cmd)
	}
	conf, ok := strings.CutPrefix(args[0], "--config=")
	if src := copies[conf]; !ok || src == "" {
		t.Errorf("Dockerfile: CMD %s uses a config the runtime stage does not COPY", cmd)
	} else if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
		t.Errorf("Dockerfile: CMD config is copied from %s: %v", src, err)
	}
}

// checkGoImage checks that the build stage's Go is new enough for the go
// directives of the modules it builds, so the image build cannot fail (or
// download a toolchain) where `make distro` here succeeds.
func checkGoImage(t *testing.T, image string) {
	t.Helper()
	m := regexp.MustCompile(`^golang:(\d+\.\d+)`).FindStringSubmatch(image)
	if m == nil {
		t.Errorf("Dockerfile: build stage image %s, want golang:<major>.<minor>[-variant]", image)
		return
	}
	for _, mod := range []string{"go.mod", "distro/go.mod", "wasm-sdk/go.mod"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, mod))
		if err != nil {
			t.Fatal(err)
		}
		gm := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
		if gm == nil {
			t.Errorf("%s has no go directive", mod)
			continue
		}
		if goVersionLess(m[1], string(gm[1])) {
			t.Errorf("Dockerfile: %s is older than %s's go %s", image, mod, gm[1])
		}
	}
}

// TestImageDefaultConfigStarts runs the binary the way the image does when
// started without arguments: alone in an empty directory with the default
// config, no repository around it and a bare environment. The built-in
// filters must come from the binary itself. Listen addresses are moved to
// loopback port 0, the only change to the config.
func TestImageDefaultConfigStarts(t *testing.T) {
	bin := wasmcolBinary(t)
	dir := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "wasmcol")
	if err := os.WriteFile(local, data, 0o755); err != nil {
		t.Fatal(err)
	}
	docs := readYAMLDocs(t, filepath.Join(distroDir, "config.yaml"))
	cfg := docs[0]
	listen := []string{}
	for _, keys := range [][]string{
		{"receivers", "otlp", "protocols", "grpc"},
		{"receivers", "otlp", "protocols", "http"},
		{"receivers", "zipkin"},
		{"extensions", "health_check"},
	} {
		m, ok := dig(cfg, keys...).(map[string]any)
		if !ok {
			t.Fatalf("distro/config.yaml: %s missing", strings.Join(keys, "."))
		}
		listen = append(listen, strings.Join(keys, ".")+"="+strconv.Quote(m["endpoint"].(string)))
		m["endpoint"] = "127.0.0.1:0"
	}
	t.Logf("moved to 127.0.0.1:0: %s", strings.Join(listen, ", "))
	svc := cfg["service"].(map[string]any)
	svc["telemetry"] = map[string]any{"metrics": map[string]any{"level": "none"}}
	startUntilReady(t, local, dir, []string{"HOME=" + dir}, writeConfig(t, dir, "config.yaml", cfg))
}

// goVersionLess compares two "major.minor" Go versions.
func goVersionLess(a, b string) bool {
	parse := func(v string) (int, int) {
		maj, min, _ := strings.Cut(v, ".")
		x, _ := strconv.Atoi(maj)
		y, _ := strconv.Atoi(min)
		return x, y
	}
	amaj, amin := parse(a)
	bmaj, bmin := parse(b)
	return amaj < bmaj || (amaj == bmaj && amin < bmin)
}

// TestDockerignore reads .dockerignore with the matcher Docker's builder
// uses (moby/patternmatcher) and checks the build context: every committed
// file is in it, the built-in filters included, since `make distro` embeds
// them as committed; the repository's history, installed tools and build
// output are not.
func TestDockerignore(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatalf("no .dockerignore: the build context would carry .git, bin/ (ocb, Jaeger) and .cache: %v", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	excluded := func(path string) bool {
		t.Helper()
		m, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatalf(".dockerignore against %s: %v", path, err)
		}
		return m
	}

	out, err := exec.Command("git", "-C", repoRoot, "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Fields(string(out))
	builtins := 0
	for _, file := range files {
		if excluded(file) {
			t.Errorf(".dockerignore leaves out %s, which is committed: the image build may need it", file)
		}
		if strings.HasPrefix(file, "processors/wasmprocessor/builtin/") && strings.HasSuffix(file, ".wasm.gz") {
			builtins++
		}
	}
	if builtins == 0 {
		t.Error("no built-in filter is committed under processors/wasmprocessor/builtin: builds from the context would embed none")
	}
	for _, path := range []string{
		".git/HEAD", ".git/objects/pack/x.pack",
		"bin/wasmcol", "bin/all-in-one", "bin/ocb-v0.158.0",
		".cache/bench.txt",
		"examples/coinflip/coinflip.wasm", "internal/wasmhost/testdata/guests/noop/noop.wasm",
		"distro/wasmcol",
	} {
		if !excluded(path) {
			t.Errorf(".dockerignore lets %s into the build context", path)
		}
	}
}

// TestDistroBuildsNoGuest: the image's build stage is `make distro`, which
// must build the collector alone, embedding the committed built-ins, and
// not compile Wasm guests (the test guests least of all).
func TestDistroBuildsNoGuest(t *testing.T) {
	cmd := exec.Command("make", "--dry-run", "--always-make", "distro")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make --dry-run distro: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "go build") {
		t.Fatalf("make distro would not run go build:\n%s", out)
	}
	if strings.Contains(string(out), "wasip1") {
		t.Errorf("make distro compiles Wasm guests; the image's build stage should embed the committed built-ins only:\n%s", out)
	}
}
