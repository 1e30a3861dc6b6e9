# wasmcol build. The README, CI (.ci/run) and the tests all go through
# these targets; every tool they need is installed here, so a fresh machine
# needs only Go, make and apt-get.

.DEFAULT_GOAL := help
GO_GUEST := GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared

# Guests are Go packages with a main.go: the example filters and the test
# guests of the host and processor. Each builds to <dir>/<dir name>.wasm.
GUEST_DIRS := $(patsubst %/main.go,%,$(wildcard examples/*/main.go internal/wasmhost/testdata/guests/*/main.go processors/wasmprocessor/testdata/guests/*/main.go))
# The example filters that ship inside the binary as builtin:<name>.
BUILTINS := knative-hops coinflip kedify sampler

.PHONY: help tools wabt wasm builtins test test-race fuzz bench check fmt vet tidy-check clean

help:
	@echo "make run     build the distribution and run it with distro/config.yaml"
	@echo "make test    install test tools, build every guest, run all tests"
	@echo "make bench   run the benchmarks and print the comparison table"
	@echo "make check   same as make test (formatting, vet, go mod tidy, generated sources, tests)"

# wat2wasm (Debian's wabt) assembles the hand-written WAT test modules.
wabt:
	@command -v wat2wasm >/dev/null || { apt-get update -qq && apt-get install -y -qq wabt >/dev/null; }

tools: wabt jaeger

wasm:
	@set -e; for d in $(GUEST_DIRS); do \
		echo "guest $$d"; (cd $$d && $(GO_GUEST) -o $$(basename $$d).wasm .); \
	done
	@$(MAKE) --no-print-directory builtins

builtins:
	@set -e; for b in $(BUILTINS); do \
		if [ -f examples/$$b/$$b.wasm ]; then gzip -9 -n -c examples/$$b/$$b.wasm > processors/wasmprocessor/builtin/$$b.wasm.gz; fi; \
	done

# The README's test command. -p 1 keeps the machine's two cores for the
# tests that measure or time out guests rather than for parallel builds.
test: tools wasm
	$(MAKE) --no-print-directory fmt vet tidy-check distro-check
	go test -count=1 ./...
	cd wasm-sdk && go test -count=1 ./...
	$(MAKE) --no-print-directory test-race
	$(MAKE) --no-print-directory distro-test

# The instance pool and the processor under concurrent load, with the race detector.
test-race:
	go test -count=1 -race -run 'Concurrent|Pool|Race' ./internal/wasmhost/ ./processors/wasmprocessor/

FUZZTIME ?= 30s

# Each fuzzer in turn: host functions with hostile arguments, edit lists
# (rejected ones must leave the batch untouched), and the instrumenter.
fuzz:
	@set -e; for f in FuzzHostFunctions FuzzEdits FuzzInstrument; do \
		go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./internal/wasmhost/; \
	done

BENCH_PKGS ?= ./internal/wasmhost/ ./processors/wasmprocessor/ ./examples/... ./exporters/... ./receivers/...
BENCH_TIME ?= 2s

bench: tools wasm
	@mkdir -p .cache
	go test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) $(BENCH_PKGS) | tee .cache/bench.txt
	@go run ./internal/cmd/benchtable < .cache/bench.txt

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "$$out"; echo "gofmt: files above need formatting"; exit 1; fi

vet:
	go vet ./...
	cd wasm-sdk && go vet ./... && GOOS=wasip1 GOARCH=wasm go vet ./...

tidy-check:
	@mkdir -p .cache && cp go.mod .cache/go.mod && cp go.sum .cache/go.sum && go mod tidy && \
	if ! cmp -s go.mod .cache/go.mod || ! cmp -s go.sum .cache/go.sum; then \
		diff -u .cache/go.mod go.mod; cp .cache/go.mod go.mod; cp .cache/go.sum go.sum; \
		echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; fi

# `make test` runs the same static checks first, so CI enforces them too.
check: test

clean:
	rm -rf bin .cache
	find . -name '*.wasm' -not -path './.git/*' -delete
	rm -f processors/wasmprocessor/builtin/*.wasm.gz

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

.PHONY: distro distro-gen distro-check distro-test run

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

# The built-in filters are embedded into the binary, so their .wasm files
# must exist first; the `wasm` target's recipe lives with the filters.
distro: wasm
	cd distro && $(DISTRO_BUILD) -o $(CURDIR)/bin/wasmcol .

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
# Dockerfile would package, and runs the end-to-end tests
# (distro/internal/e2e), which start bin/wasmcol with real clients and a
# real Jaeger (hence `jaeger`).
distro-test: distro jaeger
	cd distro && go test -count=1 ./...

# distro/config.yaml exports to debug only. Setting WASMCOL_OTLP_ENDPOINT or
# WASMCOL_JAEGER_ENDPOINT merges in the matching overlay, which adds its own
# export pipeline fed by the forward connector (see distro/README.md).
RUN_CONFIGS := --config distro/config.yaml \
	$(if $(WASMCOL_OTLP_ENDPOINT),--config distro/export-otlp.yaml) \
	$(if $(WASMCOL_JAEGER_ENDPOINT),--config distro/export-jaeger.yaml)

run: distro
	bin/wasmcol $(strip $(RUN_CONFIGS))
