# syntax=docker/dockerfile:1
#
# wasmcol image: the bin/wasmcol that `make distro` builds, alone on a
# distroless base, running as nonroot.
#
#   docker build -t wasmcol:dev .
#   docker run --rm -p 4317:4317 -p 4318:4318 -p 9411:9411 -p 13133:13133 wasmcol:dev
#
# The OpenTelemetry Operator runs this image with --config=/conf/collector.yaml
# as arguments, so ENTRYPOINT must be the collector binary; those arguments
# replace CMD, which only supplies the default config for a plain docker run.
#
# Docker cannot run where this project is developed and tested, so the build
# stage is nothing but `make distro-image`: `make distro`, then the built-in
# filters compiled ahead into bin/cache. distro/internal/shipped/image_test.go
# checks the binary that target produces (static, build flags, version,
# components) and that this file still packages exactly that binary and
# cache.
# `make distro` compiles no Wasm guest: the built-in filters are committed
# (processors/wasmprocessor/builtin) and embedded as they are.
# .dockerignore keeps .git, bin/ and build output out of the context.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Module downloads get their own layer so that source edits do not redo them.
COPY go.mod go.sum ./
COPY wasm-sdk/go.mod wasm-sdk/
COPY distro/go.mod distro/go.sum distro/
RUN --mount=type=cache,target=/go/pkg/mod \
    cd distro && go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    make distro-image

# static: no libc, which the CGO_ENABLED=0 binary does not need; nonroot:
# uid/gid 65532. Without cache_dir, a wasm processor keeps compiled code in
# $XDG_CACHE_HOME/wasmcol: there the image ships the built-ins already
# compiled, so a pod starts warm. On a read-only root filesystem (as in
# examples/kubernetes) those entries still load, and any other module is
# compiled in memory; give cache_dir a volume to keep user modules across
# pod starts (a hostPath: once per node). Compiled code is tied to the
# CPU's features: on a CPU unlike the build machine's, the entries are
# ignored and the built-ins compile at start.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/wasmcol /wasmcol
COPY --from=build --chown=65532:65532 /src/bin/cache /home/nonroot/.cache/wasmcol
COPY distro/config.yaml /etc/wasmcol/config.yaml
ENV XDG_CACHE_HOME=/home/nonroot/.cache
USER 65532:65532
# OTLP gRPC, OTLP HTTP, CloudEvents, Zipkin, health_check.
EXPOSE 4317 4318 8090 9411 13133
ENTRYPOINT ["/wasmcol"]
CMD ["--config=/etc/wasmcol/config.yaml"]
