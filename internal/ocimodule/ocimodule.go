// SPDX-License-Identifier: Apache-2.0

// Package ocimodule pulls Wasm modules from OCI registries and pushes them
// there, for the wasm processor's oci:// modules and `wasmcol push`.
//
// A module is pulled from one of the layouts in use for Wasm artifacts:
//
//   - a layer of media type application/vnd.module.wasm.content.layer.v1+wasm
//     holding the raw module, alone (as `oras push` makes it) or beside a
//     runtime-config layer of type application/vnd.module.wasm.config.v1+json
//     (the two-layer layout Istio's WasmPlugin pulls, which Push writes);
//   - an image with a single tar or tar+gzip layer holding one .wasm file
//     (`FROM scratch` + `COPY filter.wasm /`, Istio's "compat" layout).
//
// An image index resolves to its one image, ignoring attestation
// manifests, as `docker buildx` pushes them.
//
// # Notes
//
//   - Credentials come only from a Docker config file's "auths" (see
//     DockerConfigPath); credential helpers are never run.
//   - Plain HTTP is refused unless the Client allows it.
//   - Every blob is checked against its digest, whether it came from the
//     registry or from the cache.
package ocimodule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.uber.org/zap"
)

// Scheme prefixes a module reference in the processor's configuration:
// oci://registry/repository:tag or oci://registry/repository@sha256:<hex>.
const Scheme = "oci://"

// MaxModuleSize bounds a module, whatever its source: a layer, a file in a
// layer, or a file on disk after decompression.
const MaxModuleSize = 256 << 20

// maxManifestSize bounds a manifest or index. Real ones are a few KiB;
// containerd uses the same bound.
const maxManifestSize = 4 << 20

// Media types of the Wasm artifact layout that Istio's WasmPlugin pulls
// (github.com/solo-io/wasm/spec/spec.md).
const (
	WasmLayerMediaType  types.MediaType = "application/vnd.module.wasm.content.layer.v1+wasm"
	WasmConfigMediaType types.MediaType = "application/vnd.module.wasm.config.v1+json"
)

// DefaultTimeout bounds one pull, resolve or push, retries included.
const DefaultTimeout = 2 * time.Minute

// Client talks to OCI registries. The zero value pulls over HTTPS with the
// Docker config file's credentials, without a cache.
type Client struct {
	// PlainHTTP allows the registry to be reached over plain HTTP. Without
	// it, any request over HTTP (a downgrade, a redirect) is refused.
	PlainHTTP bool
	// Timeout bounds each operation; 0 means DefaultTimeout.
	Timeout time.Duration
	// CacheDir holds pulled manifests and layers by digest; "" disables
	// the cache.
	CacheDir string
	// Auth, when set, replaces the Docker config file's credentials.
	Auth authn.Authenticator
	// Logger gets the cache's warnings; nil discards them.
	Logger *zap.Logger
}

// ParseReference parses a reference without the oci:// prefix. It must
// name its registry and either a tag or a sha256 digest, so that nothing
// is defaulted (no Docker Hub, no :latest).
func ParseReference(s string, plainHTTP bool) (name.Reference, error) {
	opts := []name.Option{name.StrictValidation}
	if plainHTTP {
		opts = append(opts, name.Insecure)
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 && !strings.HasPrefix(s[i+1:], "sha256:") {
		return nil, fmt.Errorf("%q: only sha256 digests are supported", s)
	}
	ref, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, fmt.Errorf("%q is not registry/repository:tag or registry/repository@sha256:<digest>: %w", s, err)
	}
	return ref, nil
}

// IsDigest reports whether ref pins a manifest digest.
func IsDigest(ref name.Reference) bool {
	_, ok := ref.(name.Digest)
	return ok
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) warn(msg string, fields ...zap.Field) {
	if c.Logger != nil {
		c.Logger.Warn(msg, fields...)
	}
}

// errPlainHTTP marks a request the transport refused because it would have
// gone over plain HTTP.
var errPlainHTTP = errors.New("plain HTTP is not allowed")
