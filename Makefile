# wasmcol build. The README, CI (.ci/run) and the tests all go through
# these targets; every tool they need is installed here, so a fresh machine
# needs only Go, make and apt-get.

.DEFAULT_GOAL := help
# -trimpath and -buildvcs=false keep local paths and the commit out of the
# module, so the same source and Go version always give the same bytes
# (the committed built-ins depend on it, see `builtins`).
GO_GUEST := GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false

# Guests are Go packages with a main.go: the example filters and the test
# guests of the host and processor. Each builds to <dir>/<dir name>.wasm.
GUEST_DIRS := $(patsubst %/main.go,%,$(wildcard examples/*/main.go internal/wasmhost/testdata/guests/*/main.go processors/wasmprocessor/testdata/guests/*/main.go))
# The example filters that ship inside the binary as builtin:<name>, all in
# one module, examples/builtins, which registers each under its name.
BUILTINS := knative-hops coinflip kedify sampler

.PHONY: help tools wabt wasm builtins builtins-check test test-race fuzz bench guest-profile check fmt vet tidy-check clean

help:
	@echo "make run     build the distribution and run it with distro/config.yaml"
	@echo "make test    install test tools, build every guest, run all tests"
	@echo "make bench   run the benchmarks and print the comparison table"
	@echo "make check   same as make test (formatting, vet, go mod tidy, generated sources, tests)"

# wat2wasm (Debian's wabt) assembles the hand-written WAT test modules.
wabt:
	@command -v wat2wasm >/dev/null || { apt-get update -qq && apt-get install -y -qq wabt >/dev/null; }

tools: wabt jaeger

# Every guest, for the tests. It never touches the committed built-ins:
# `make test` must find them as they were committed, or builtins-check
# could not tell a stale commit from a fresh build.
wasm:
	@set -e; for d in $(GUEST_DIRS); do \
		echo "guest $$d"; (cd $$d && $(GO_GUEST) -o $$(basename $$d).wasm .); \
	done

# The built-in filters are committed, gzipped, in $(BUILTIN_DIR), so that
# every build of the module embeds them: `make distro`, the image, and an
# ocb build from a module download that never runs make. `make builtins`
# rebuilds them from source after a filter changes; commit the result.
# They are one module, builtins.wasm.gz (examples/builtins), which runs the
# filter the processor names, so that the four share one Go runtime, one
# compilation and one copy of compiled code; names.txt lists the names it
# holds, one a line, for the processor to check builtin:<name> at config
# time without opening the module.
# Its contract with builtins-check: it writes every file that gets embedded
# into $(BUILTIN_OUT), and nothing else, so the check keeps working whatever
# the recipe builds.
# gzip -n leaves the file name and time out of the header.
BUILTIN_DIR := processors/wasmprocessor/builtin
BUILTIN_OUT ?= $(BUILTIN_DIR)

builtins:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p "$(BUILTIN_OUT)"; rm -f "$(BUILTIN_OUT)"/*.wasm.gz "$(BUILTIN_OUT)"/names.txt; \
	(cd examples/builtins && $(GO_GUEST) -o "$$tmp/builtins.wasm" .); \
	gzip -9 -n -c "$$tmp/builtins.wasm" > "$(BUILTIN_OUT)/builtins.wasm.gz"; \
	printf '%s\n' $(BUILTINS) > "$(BUILTIN_OUT)/names.txt"

# Rebuilds the built-ins into a temporary directory and compares them with
# the committed ones, byte for byte, as distro-check does for distro/.
builtins-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory builtins BUILTIN_OUT="$$tmp" && \
	if ! diff -r --brief --exclude=README.md "$(BUILTIN_DIR)" "$$tmp"; then \
		echo "$(BUILTIN_DIR) differs from what 'make builtins' builds from the filters' sources with $$(go env GOVERSION): run 'make builtins' and commit the result" >&2; \
		exit 1; \
	fi

# The README's test command. -p 1 keeps the machine's two cores for the
# tests that measure or time out guests, one package at a time, rather than
# for running the host's and the processor's at once: together, on a
# loaded machine, TestLargeBatch and the sandbox's timing bounds missed.
test: tools wasm
	$(MAKE) --no-print-directory fmt vet tidy-check distro-check builtins-check
	go test -count=1 -p 1 ./...
	cd examples && go test -count=1 ./...
	cd wasm-sdk && go test -count=1 ./...
	$(MAKE) --no-print-directory test-race
	$(MAKE) --no-print-directory distro-test

# The instance pool and the processor under concurrent load, with the race
# detector. One package at a time, as in test: each compiles Go guests,
# which the race detector slows to 20-25 s a module, and the two at once on
# two cores took one past the 60 s compile deadline. ^TestPool, not Pool:
# the tests of pdata's proto pooling hold timing bounds the race detector
# cannot meet, and test above runs them.
test-race:
	go test -count=1 -p 1 -race -run 'Concurrent|^TestPool|Race' ./internal/wasmhost/ ./processors/wasmprocessor/

FUZZTIME ?= 30s

# Each fuzzer in turn: host functions with hostile arguments, edit lists
# (rejected ones must leave the batch untouched), and the instrumenter.
fuzz:
	@set -e; for f in FuzzHostFunctions FuzzEdits FuzzInstrument; do \
		go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./internal/wasmhost/; \
	done

# examples/ is its own module (see its go.mod), so its benchmarks run from
# there, into the same output.
BENCH_PKGS ?= ./internal/wasmhost/ ./processors/wasmprocessor/ ./exporters/... ./receivers/...
BENCH_EXAMPLES ?= ./...
BENCH_TIME ?= 2s

# The footprint of bin/wasmcol itself (time to ready, idle memory) is
# measured by starting it: once per configuration, each start takes seconds.
bench: tools wasm distro
	@mkdir -p .cache
	go test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) $(BENCH_PKGS) | tee .cache/bench.txt
	cd examples && go test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) $(BENCH_EXAMPLES) | tee -a ../.cache/bench.txt
	cd distro && go test -run '^$$' -bench . -benchtime 1x ./internal/footprint/ | tee -a ../.cache/bench.txt
	@go run ./internal/cmd/benchtable < .cache/bench.txt

# Where a built-in filter's time goes as Wasm, per batch of FILTER: by
# default (pprof) the guest's own code against the host's Go code, by
# host function, from Go's CPU profiler with nothing added to the guest.
# GUEST_PROFILE_MODE=split times the guest, each host function and the
# work around the call with function listeners, and the host functions
# again by request (a select by table, field, key and test: the first
# select on span names costs ten times the next); FILTER comma-separated
# runs modules in alternating rounds, a before/after in one run;
# GUEST_PROFILE_MODE=counts lists the guest functions called most per
# batch. See BENCHMARKS.md.
FILTER ?= knative-hops
GUEST_PROFILE_MODE ?= pprof
guest-profile:
	cd examples && go run ./internal/guestprofile -filter $(FILTER) -mode $(GUEST_PROFILE_MODE)

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "$$out"; echo "gofmt: files above need formatting"; exit 1; fi

vet:
	go vet ./...
	cd examples && go vet ./...
	cd wasm-sdk && go vet ./... && GOOS=wasip1 GOARCH=wasm go vet ./...

# The root module and examples/, the module of the filters and of the
# benchmarks against contrib processors.
TIDY_MODULES := . examples

tidy-check:
	@set -e; for m in $(TIDY_MODULES); do \
		mkdir -p .cache/tidy/$$m && cp $$m/go.mod $$m/go.sum .cache/tidy/$$m/ && (cd $$m && go mod tidy) && \
		if ! cmp -s $$m/go.mod .cache/tidy/$$m/go.mod || ! cmp -s $$m/go.sum .cache/tidy/$$m/go.sum; then \
			diff -u .cache/tidy/$$m/go.mod $$m/go.mod || true; cp .cache/tidy/$$m/go.mod .cache/tidy/$$m/go.sum $$m/; \
			echo "$$m/go.mod, go.sum are not tidy: run go mod tidy in $$m"; exit 1; fi; \
	done

# `make test` runs the same static checks first, so CI enforces them too.
check: test

clean:
	rm -rf bin .cache
	find . -name '*.wasm' -not -path './.git/*' -delete

# Jaeger all-in-one is the real peer for exporters/jaegerexporter tests and
# benchmarks. v1.42.0 is the newest tag that `go install` accepts (later tags
# carry replace directives). Installed only when missing.
JAEGER_VERSION ?= v1.42.0

.PHONY: jaeger
jaeger: bin/all-in-one

bin/all-in-one:
	GOBIN=$(CURDIR)/bin go install github.com/jaegertracing/jaeger/cmd/all-in-one@$(JAEGER_VERSION)

# --- wasmcol distribution (ocb) ---------------------------------------------
# ocb is pinned to the same release train as every component in
# builder-config.yaml. It is installed under a versioned name so that bumping
# OCB_VERSION reinstalls it instead of silently reusing an older builder.
OCB_VERSION ?= v0.158.0
OCB := $(CURDIR)/bin/ocb-$(OCB_VERSION)
# The Dockerfile's build stage runs `make distro`, so these flags are also
# what the image ships: a static (CGO_ENABLED=0), reproducible (-trimpath)
# binary without debug info.
DISTRO_BUILD := CGO_ENABLED=0 go build -trimpath -ldflags="-s -w"

.PHONY: distro distro-image distro-gen distro-check distro-test run

$(OCB):
	GOBIN=$(CURDIR)/bin go install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)
	mv $(CURDIR)/bin/builder $@

# Regenerates distro/{main*.go,components.go,go.mod,go.sum}. Strict
# versioning makes ocb fail if dependency resolution moved any component off
# its pinned version. ocb's templates are not gofmt-clean (unsorted imports),
# and `make fmt` checks the whole tree, so the output is formatted here; the
# check below does the same, so "generated" means ocb followed by gofmt.
DISTRO_GEN = $(OCB) --config builder-config.yaml --skip-compilation --skip-strict-versioning=false && gofmt -w distro/*.go

distro-gen: $(OCB)
	$(DISTRO_GEN)

# The binary embeds the committed built-ins (see `builtins`), so building it
# compiles no guest: the image's build stage runs exactly this.
distro:
	cd distro && $(DISTRO_BUILD) -o $(CURDIR)/bin/wasmcol .

# The image's build stage: the distribution, plus its built-in filters
# compiled ahead of time into bin/cache, which the Dockerfile installs where
# the binary looks when cache_dir is not set. A container then starts warm:
# compiling the built-ins would take a second or two at every pod start.
distro-image: distro
	rm -rf bin/cache && bin/wasmcol precompile --cache-dir $(CURDIR)/bin/cache

# Regenerates into a copy of the working tree and diffs distro/. The copy
# keeps the hand-written files in distro/ (tests, configs) because ocb's
# `go mod tidy` sees the tests' imports too; ocb never writes those files, so
# they compare equal and only generated files can differ.
distro-check: $(OCB)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	tar -C $(CURDIR) --exclude=./.git --exclude=./bin --exclude=./.cache \
		--exclude=node_modules --exclude=./distro/wasmcol -cf - . | tar -C "$$tmp" -xf - && \
	(cd "$$tmp" && { $(DISTRO_GEN); } >"$$tmp/ocb.log" 2>&1 || { cat "$$tmp/ocb.log"; exit 1; }) && \
	rm "$$tmp/ocb.log" && \
	if ! diff -ru distro "$$tmp/distro"; then \
		echo "distro/ differs from what ocb generates from builder-config.yaml: run 'make distro-gen' and commit the result" >&2; \
		exit 1; \
	fi

# Validates every shipped config against the built binary, checks what the
# Dockerfile would package, runs the end-to-end tests (distro/internal/e2e),
# which start bin/wasmcol with real clients and a real Jaeger (hence
# `jaeger`), and builds a user's own distribution with ocb from a clean
# clone (distro/internal/userbuild, hence $(OCB)).
distro-test: distro jaeger wasm $(OCB)
	cd distro && WASMCOL_OCB=$(OCB) go test -count=1 ./...

# distro/config.yaml exports to debug only. Setting WASMCOL_OTLP_ENDPOINT or
# WASMCOL_JAEGER_ENDPOINT merges in the matching overlay, which adds its own
# export pipeline fed by the forward connector (see distro/README.md).
RUN_CONFIGS := --config distro/config.yaml \
	$(if $(WASMCOL_OTLP_ENDPOINT),--config distro/export-otlp.yaml) \
	$(if $(WASMCOL_JAEGER_ENDPOINT),--config distro/export-jaeger.yaml)

# `builtins` first, so that a filter just edited is the one that runs.
run: builtins distro
	bin/wasmcol $(strip $(RUN_CONFIGS))
