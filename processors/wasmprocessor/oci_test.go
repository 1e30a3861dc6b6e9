// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/cli"
	"github.com/wasmcol/wasmcol/internal/ocimodule"
	"github.com/wasmcol/wasmcol/internal/ocitest"
)

const (
	registryUser     = "filters"
	registryPassword = "pull-s3cret"
)

// privateRegistry starts a registry that wants basic auth and points
// DOCKER_CONFIG at a config with the right credentials for it.
func privateRegistry(t *testing.T) *ocitest.Registry {
	t.Helper()
	reg := ocitest.Start(t, ocitest.Options{User: registryUser, Password: registryPassword})
	t.Setenv("DOCKER_CONFIG", ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, registryUser, registryPassword))
	return reg
}

// pushGuest pushes the test guest's module to reg as repoTag with the
// library, and returns the manifest digest.
func pushGuest(t *testing.T, reg *ocitest.Registry, repoTag, guestName string) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(reg.Host+"/"+repoTag, name.Insecure)
	require.NoError(t, err)
	c := &ocimodule.Client{PlainHTTP: true, Auth: &authn.Basic{Username: registryUser, Password: registryPassword}}
	digest, err := c.Push(t.Context(), tag, wasmBytes(t, guest(t, guestName)), guestName+".wasm")
	require.NoError(t, err)
	return digest
}

// pulled returns the "wasm module pulled" log entries.
func (h *harness) pulled() []observedEntry {
	return h.logs.FilterMessage("wasm module pulled").All()
}

// TestOCIModule pulls a real filter from a private registry, with the
// credentials of DOCKER_CONFIG, and runs it.
func TestOCIModule(t *testing.T) {
	reg := privateRegistry(t)
	digest := pushGuest(t, reg, "filters/version:v1", "reloadv1")
	module := "oci://" + reg.Host + "/filters/version:v1"

	h := start(t, map[string]any{"module": module, "plain_http": true, "pool_size": 1})
	require.NoError(t, h.consume(spans("a")))
	assert.Equal(t, "1", spanAttr(h.last(t), 0, "filter.version"))

	// A tag without a pin logs what it resolved to, so it can be pinned.
	logs := h.pulled()
	require.Len(t, logs, 1)
	fields := logs[0].ContextMap()
	assert.Equal(t, module, fields["module"])
	assert.Equal(t, digest.String(), fields["digest"])
	assert.Equal(t, false, fields["from_cache"])
	sum := wasmSHA256(t, guest(t, "reloadv1"))
	assert.Equal(t, sum, fields["sha256"])

	// The same module pinned by digest, and by the module's own sha256.
	pinned := "oci://" + reg.Host + "/filters/version@" + digest.String()
	h = start(t, map[string]any{"module": pinned, "sha256": sum, "plain_http": true, "pool_size": 1})
	require.NoError(t, h.consume(spans("a")))
	assert.Equal(t, "1", spanAttr(h.last(t), 0, "filter.version"))
}

// TestOCIModulePushedByCommand: what `wasmcol push` pushes, the processor
// pulls, at the pin the command prints.
func TestOCIModulePushedByCommand(t *testing.T) {
	reg := privateRegistry(t)
	var stdout, stderr bytes.Buffer
	code, handled := cli.Run([]string{"push", "--plain-http", guest(t, "reloadv2"), reg.Host + "/filters/pushed:v2"},
		cli.IO{Stdout: &stdout, Stderr: &stderr})
	require.True(t, handled)
	require.Equal(t, 0, code, stderr.String())
	_, pin, ok := strings.Cut(stdout.String(), "module: ")
	require.True(t, ok, stdout.String())
	pin, _, _ = strings.Cut(pin, "\n")

	h := start(t, map[string]any{"module": pin, "plain_http": true, "pool_size": 1,
		"sha256": wasmSHA256(t, guest(t, "reloadv2"))})
	require.NoError(t, h.consume(spans("a")))
	assert.Equal(t, "2", spanAttr(h.last(t), 0, "filter.version"))
}

// TestOCIStartFailures: every way a pull can fail stops the start with a
// message that names the reference.
func TestOCIStartFailures(t *testing.T) {
	reg := privateRegistry(t)
	digest := pushGuest(t, reg, "filters/version:v1", "reloadv1")
	module := "oci://" + reg.Host + "/filters/version:v1"
	good := os.Getenv("DOCKER_CONFIG")

	t.Run("wrong credentials", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, registryUser, "wrong"))
		err := startErr(t, map[string]any{"module": module, "plain_http": true})
		assert.ErrorContains(t, err, `module "`+module+`"`)
		assert.ErrorContains(t, err, "UNAUTHORIZED")
		assert.ErrorContains(t, err, "the registry refused the credentials for "+reg.Host)
	})
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		err := startErr(t, map[string]any{"module": module, "plain_http": true})
		assert.ErrorContains(t, err, `module "`+module+`"`)
		assert.ErrorContains(t, err, "no Docker config at")
	})
	t.Run("plain HTTP not allowed", func(t *testing.T) {
		err := startErr(t, map[string]any{"module": module})
		assert.ErrorContains(t, err, `module "`+module+`"`)
		assert.ErrorContains(t, err, "set plain_http: true")
	})
	t.Run("registry serves the wrong content", func(t *testing.T) {
		reg.Tamper(true)
		defer reg.Tamper(false)
		err := startErr(t, map[string]any{"module": module, "plain_http": true, "cache_dir": t.TempDir()})
		assert.ErrorContains(t, err, `module "`+module+`"`)
		assert.ErrorContains(t, err, "error verifying sha256 checksum")

		pinned := "oci://" + reg.Host + "/filters/version@" + digest.String()
		err = startErr(t, map[string]any{"module": pinned, "plain_http": true, "cache_dir": t.TempDir()})
		assert.ErrorContains(t, err, `module "`+pinned+`"`)
		assert.ErrorContains(t, err, "does not match requested digest")
	})
	t.Run("sha256 pin does not match", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", good)
		other := wasmSHA256(t, guest(t, "reloadv2"))
		err := startErr(t, map[string]any{"module": module, "plain_http": true, "sha256": other})
		assert.ErrorContains(t, err, `module "`+module+`": sha256 is `+wasmSHA256(t, guest(t, "reloadv1"))+", config pins "+other)
	})
	t.Run("unknown tag", func(t *testing.T) {
		missing := "oci://" + reg.Host + "/filters/version:v9"
		err := startErr(t, map[string]any{"module": missing, "plain_http": true})
		assert.ErrorContains(t, err, `module "`+missing+`"`)
		assert.ErrorContains(t, err, "MANIFEST_UNKNOWN")
	})
	t.Run("not a Wasm artifact", func(t *testing.T) {
		img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
			mutate.Addendum{Layer: static.NewLayer([]byte("{}"), "application/vnd.example.config+json")})
		require.NoError(t, err)
		ref, err := name.NewTag(reg.Host+"/filters/other:v1", name.Insecure)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: registryUser, Password: registryPassword})))
		other := "oci://" + reg.Host + "/filters/other:v1"
		err = startErr(t, map[string]any{"module": other, "plain_http": true})
		assert.ErrorContains(t, err, `module "`+other+`"`)
		assert.ErrorContains(t, err, "is not a Wasm module: it has 1 layer(s): application/vnd.example.config+json")
	})
	t.Run("registry down", func(t *testing.T) {
		reg.Close()
		err := startErr(t, map[string]any{"module": module, "plain_http": true})
		assert.ErrorContains(t, err, `module "`+module+`"`)
		assert.ErrorContains(t, err, "connection refused")
	})
}

// TestOCIPinnedDigestStartsOffline: a module pinned by digest, pulled
// once, starts from the cache while the registry is down.
func TestOCIPinnedDigestStartsOffline(t *testing.T) {
	reg := privateRegistry(t)
	digest := pushGuest(t, reg, "filters/version:v1", "reloadv1")
	pinned := "oci://" + reg.Host + "/filters/version@" + digest.String()
	cacheDir := t.TempDir()
	conf := func() map[string]any {
		return map[string]any{"module": pinned, "plain_http": true, "pool_size": 1, "cache_dir": cacheDir}
	}

	h := start(t, conf())
	assert.Equal(t, false, h.pulled()[0].ContextMap()["from_cache"])
	entries, err := os.ReadDir(filepath.Join(cacheDir, "modules", "blobs", "sha256"))
	require.NoError(t, err)
	assert.Len(t, entries, 2, "the manifest and the Wasm layer; the runtime config is not needed")

	reg.Close()
	h = start(t, conf())
	assert.Equal(t, true, h.pulled()[0].ContextMap()["from_cache"])
	require.NoError(t, h.consume(spans("a")))
	assert.Equal(t, "1", spanAttr(h.last(t), 0, "filter.version"))
}

// TestOCIDefaultCacheDir: without cache_dir, pulled modules go under the
// user cache directory; if that cannot be written, there is no cache and
// the start still succeeds.
func TestOCIDefaultCacheDir(t *testing.T) {
	reg := privateRegistry(t)
	pushGuest(t, reg, "filters/version:v1", "reloadv1")
	module := "oci://" + reg.Host + "/filters/version:v1"

	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	start(t, map[string]any{"module": module, "plain_http": true, "pool_size": 1, "cache_dir": ""})
	entries, err := os.ReadDir(filepath.Join(xdg, "wasmcol", "modules", "blobs", "sha256"))
	require.NoError(t, err)
	assert.Len(t, entries, 2)

	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	t.Setenv("XDG_CACHE_HOME", notADir)
	h := start(t, map[string]any{"module": module, "plain_http": true, "pool_size": 1, "cache_dir": ""})
	require.NoError(t, h.consume(spans("a")))
	assert.Empty(t, h.logs.FilterMessageSnippet("cache").All(), "no cache, silently")
}

// TestOCIReloadFollowsTag: with reload, a tag that moves is pulled and
// swapped in like a changed file; a tag moved to something broken, or a
// registry gone, keeps the running module and says why, a broken image
// once.
func TestOCIReloadFollowsTag(t *testing.T) {
	reg := privateRegistry(t)
	pushGuest(t, reg, "filters/version:live", "reloadv1")
	warmCache(t, guest(t, "reloadv2"))
	module := "oci://" + reg.Host + "/filters/version:live"
	h := start(t, map[string]any{"module": module, "plain_http": true, "pool_size": 1,
		"reload": true, "reload_interval": "1s"})
	version := func() string {
		t.Helper()
		require.NoError(t, h.consume(spans("x")))
		return spanAttr(h.last(t), 0, "filter.version")
	}
	reloads := func() int64 { return h.metric(t, "otelcol_processor_wasm_reloads") }
	require.Equal(t, "1", version())

	v2 := pushGuest(t, reg, "filters/version:live", "reloadv2")
	require.Eventually(t, func() bool { return reloads() == 1 }, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, "2", version())
	reloaded := h.logs.FilterMessage("wasm module reloaded").All()
	require.Len(t, reloaded, 1)
	assert.Equal(t, v2.String(), reloaded[0].ContextMap()["version"])

	// The tag moves to an image that is no Wasm module.
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer([]byte("#!/bin/sh\n"), types.OCIUncompressedLayer)})
	require.NoError(t, err)
	tag, err := name.NewTag(reg.Host+"/filters/version:live", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: registryUser, Password: registryPassword})))
	cannot := func() []observedEntry {
		return h.logs.FilterMessage("wasm reload: cannot read the new module; keeping the running one").All()
	}
	require.Eventually(t, func() bool { return len(cannot()) > 0 }, 10*time.Second, 20*time.Millisecond)
	assert.Contains(t, cannot()[0].ContextMap()["error"], `module "`+module+`"`)
	assert.Contains(t, cannot()[0].ContextMap()["error"], "the layer is not a valid tar")
	assert.Equal(t, "2", version())

	// Refused for what it holds, the digest is not pulled again at every
	// interval: a tag left on a gzip bomb was decompressed every second
	// (attack round 27c).
	n := len(cannot())
	time.Sleep(2500 * time.Millisecond) // two intervals and more
	assert.Len(t, cannot(), n, "the digest refused for its content was pulled again")

	// The registry goes away.
	reg.Close()
	require.Eventually(t, func() bool { return len(cannot()) > n }, 10*time.Second, 20*time.Millisecond)
	assert.Contains(t, cannot()[len(cannot())-1].ContextMap()["error"], "connection refused")
	assert.Equal(t, "2", version())
	assert.EqualValues(t, 1, reloads())
	h.requireOnlyFailures(t, nil)
}

// TestOCICredentialsNeverReachTheGuest: the registry's credentials live
// in the Collector's environment and files; a filter pulled with them sees
// neither, and cannot reach the registry.
func TestOCICredentialsNeverReachTheGuest(t *testing.T) {
	reg := privateRegistry(t)
	pushGuest(t, reg, "filters/snoop:v1", "snoop")
	configFile := filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json")
	h := start(t, map[string]any{
		"module": "oci://" + reg.Host + "/filters/snoop:v1", "plain_http": true, "pool_size": 1,
		"config": map[string]any{"read": []any{configFile}, "list": filepath.Dir(configFile), "dial": reg.Host},
	})
	before := reg.Requests.Load()
	require.NoError(t, h.consume(spans("x")))
	out := h.last(t)
	assert.Empty(t, spanAttr(out, 0, "snoop.env"), "no DOCKER_CONFIG, no environment at all")
	assert.True(t, strings.HasPrefix(spanAttr(out, 0, "snoop.read.0"), "error:"), spanAttr(out, 0, "snoop.read.0"))
	assert.True(t, strings.HasPrefix(spanAttr(out, 0, "snoop.list"), "error:"), spanAttr(out, 0, "snoop.list"))
	assert.True(t, strings.HasPrefix(spanAttr(out, 0, "snoop.dial"), "error:"), spanAttr(out, 0, "snoop.dial"))
	assert.Equal(t, before, reg.Requests.Load(), "the guest reached the registry")
}

func wasmSHA256(t *testing.T, path string) string {
	t.Helper()
	return sha256Hex(wasmBytes(t, path))
}
