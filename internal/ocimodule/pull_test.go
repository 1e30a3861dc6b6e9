// SPDX-License-Identifier: Apache-2.0

package ocimodule_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/ocimodule"
	"github.com/wasmcol/wasmcol/internal/ocitest"
)

// module is the smallest valid Wasm module plus a custom section, so that
// two modules differ. Layout tests need valid bytes, not a filter; the
// processor's tests pull real filters.
func module(tag string) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	// custom section: id 0, size, name length, name, payload
	b = append(b, 0, byte(1+len("t")+len(tag)), 1, 't')
	return append(b, tag...)
}

// noDockerConfig points DOCKER_CONFIG at an empty directory, so that the
// developer's own credentials never take part in a test.
func noDockerConfig(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := ocimodule.ParseReference(s, true)
	require.NoError(t, err)
	return r
}

// put writes img to ref with the library directly, as other tools would.
func put(t *testing.T, r string, img v1.Image) v1.Hash {
	t.Helper()
	require.NoError(t, remote.Write(ref(t, r), img))
	d, err := img.Digest()
	require.NoError(t, err)
	return d
}

func tarLayer(t *testing.T, files map[string][]byte, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w = &buf
	tw := tar.NewWriter(w)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}))
	for n, b := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))}))
		_, err := tw.Write(b)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	if !gz {
		return buf.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, err := zw.Write(buf.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return z.Bytes()
}

func image(t *testing.T, manifestType types.MediaType, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, manifestType)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: l})
		require.NoError(t, err)
	}
	return img
}

// TestPullLayouts pushes each layout in use with the library and pulls it.
func TestPullLayouts(t *testing.T) {
	noDockerConfig(t)
	reg := ocitest.Start(t, ocitest.Options{})
	want := module("layouts")
	cfg := static.NewLayer([]byte(`{"type":"envoy_proxy"}`), ocimodule.WasmConfigMediaType)
	wasmLayer := static.NewLayer(want, ocimodule.WasmLayerMediaType)

	index := func(imgs ...v1.Image) v1.ImageIndex {
		var add []mutate.IndexAddendum
		for _, img := range imgs {
			add = append(add, mutate.IndexAddendum{Add: img})
		}
		return mutate.AppendManifests(empty.Index, add...)
	}
	attestation := image(t, types.OCIManifestSchema1, static.NewLayer([]byte(`{}`), "application/vnd.in-toto+json"))
	buildx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: image(t, types.OCIManifestSchema1,
			static.NewLayer(tarLayer(t, map[string][]byte{"plugin.wasm": want}, true), types.OCILayer)),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: attestation, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}})

	cases := []struct {
		name  string
		image v1.Image
		index v1.ImageIndex
	}{
		{name: "raw wasm layer alone (oras push)", image: image(t, types.OCIManifestSchema1, wasmLayer)},
		{name: "runtime config and wasm layers (Istio, wasmcol push)", image: image(t, types.OCIManifestSchema1, cfg, wasmLayer)},
		{name: "OCI tar+gzip layer", image: image(t, types.OCIManifestSchema1,
			static.NewLayer(tarLayer(t, map[string][]byte{"plugin.wasm": want, "README": []byte("hi")}, true), types.OCILayer))},
		{name: "OCI tar layer", image: image(t, types.OCIManifestSchema1,
			static.NewLayer(tarLayer(t, map[string][]byte{"filters/mine.wasm": want}, false), types.OCIUncompressedLayer))},
		{name: "Docker image (docker build, FROM scratch)", image: image(t, types.DockerManifestSchema2,
			static.NewLayer(tarLayer(t, map[string][]byte{"myfilter.wasm": want}, true), types.DockerLayer))},
		{name: "index with an attestation (docker buildx)", index: buildx},
		{name: "index of one image", index: index(image(t, types.OCIManifestSchema1, wasmLayer))},
	}
	c := &ocimodule.Client{PlainHTTP: true}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := reg.Host + "/layouts/case" + string(rune('a'+i)) + ":v1"
			var digest v1.Hash
			var err error
			if tc.index != nil {
				require.NoError(t, remote.WriteIndex(ref(t, r), tc.index))
				digest, err = tc.index.Digest()
				require.NoError(t, err)
			} else {
				digest = put(t, r, tc.image)
			}
			got, err := c.Pull(t.Context(), ref(t, r))
			require.NoError(t, err)
			assert.Equal(t, want, got.Wasm)
			assert.Equal(t, digest, got.Digest, "the digest the tag resolved to")
			assert.False(t, got.FromCache)

			resolved, err := c.Resolve(t.Context(), ref(t, r))
			require.NoError(t, err)
			assert.Equal(t, digest, resolved)
		})
	}
}

// TestPullRejectsOtherLayouts: anything else fails, naming what was found.
func TestPullRejectsOtherLayouts(t *testing.T) {
	noDockerConfig(t)
	reg := ocitest.Start(t, ocitest.Options{})
	wasm := module("other")
	gzTar := func(files map[string][]byte) v1.Layer {
		return static.NewLayer(tarLayer(t, files, true), types.OCILayer)
	}
	cases := []struct {
		name  string
		image v1.Image
		index v1.ImageIndex
		want  []string
	}{
		{
			name:  "two tar layers",
			image: image(t, types.OCIManifestSchema1, gzTar(map[string][]byte{"a.wasm": wasm}), gzTar(map[string][]byte{"b": nil})),
			want:  []string{"not a Wasm module: it has 2 layer(s): application/vnd.oci.image.layer.v1.tar+gzip, application/vnd.oci.image.layer.v1.tar+gzip", "want one layer of type application/vnd.module.wasm.content.layer.v1+wasm"},
		},
		{
			name:  "no .wasm in the layer",
			image: image(t, types.OCIManifestSchema1, gzTar(map[string][]byte{"bin/sh": []byte("#!"), "etc/passwd": nil})),
			want:  []string{"holds no .wasm file (files: "},
		},
		{
			name:  "two .wasm in the layer",
			image: image(t, types.OCIManifestSchema1, gzTar(map[string][]byte{"a.wasm": wasm, "b.wasm": wasm})),
			want:  []string{"holds 2 .wasm files", "want exactly one"},
		},
		{
			name:  "zstd layer",
			image: image(t, types.OCIManifestSchema1, static.NewLayer([]byte("zstd"), types.OCILayerZStd)),
			want:  []string{"it has 1 layer(s): application/vnd.oci.image.layer.v1.tar+zstd"},
		},
		{
			name:  "two Wasm layers",
			image: image(t, types.OCIManifestSchema1, static.NewLayer(wasm, ocimodule.WasmLayerMediaType), static.NewLayer(module("2"), ocimodule.WasmLayerMediaType)),
			want:  []string{"it has 2 layer(s)"},
		},
		{
			name:  "Wasm layer that is not Wasm",
			image: image(t, types.OCIManifestSchema1, static.NewLayer([]byte("#!/bin/sh\n"), ocimodule.WasmLayerMediaType)),
			want:  []string{"the Wasm layer is not a Wasm binary"},
		},
		{
			name:  "no layers",
			image: image(t, types.OCIManifestSchema1),
			want:  []string{"it has no layers"},
		},
		{
			name: "multi-platform index",
			index: mutate.AppendManifests(empty.Index,
				mutate.IndexAddendum{Add: image(t, types.OCIManifestSchema1, static.NewLayer(wasm, ocimodule.WasmLayerMediaType)),
					Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
				mutate.IndexAddendum{Add: image(t, types.OCIManifestSchema1, static.NewLayer(module("arm"), ocimodule.WasmLayerMediaType)),
					Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}}),
			want: []string{"an index of 2 images (linux/amd64, linux/arm64)"},
		},
	}
	c := &ocimodule.Client{PlainHTTP: true}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := reg.Host + "/bad/case" + string(rune('a'+i)) + ":v1"
			var digest v1.Hash
			var err error
			if tc.index != nil {
				require.NoError(t, remote.WriteIndex(ref(t, r), tc.index))
				digest, err = tc.index.Digest()
			} else {
				digest = put(t, r, tc.image)
			}
			require.NoError(t, err)
			_, err = c.Pull(t.Context(), ref(t, r))
			require.Error(t, err)
			assert.Contains(t, err.Error(), digest.String(), "names the manifest")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestPinnedDigestStartsFromCache: once pulled, a module pinned by digest
// needs no registry; a tag still does.
func TestPinnedDigestStartsFromCache(t *testing.T) {
	noDockerConfig(t)
	reg := ocitest.Start(t, ocitest.Options{})
	want := module("cached")
	tag := reg.Host + "/cache/mod:v1"
	digest := put(t, tag, image(t, types.OCIManifestSchema1, static.NewLayer(want, ocimodule.WasmLayerMediaType)))
	pinned := reg.Host + "/cache/mod@" + digest.String()
	c := &ocimodule.Client{PlainHTTP: true, CacheDir: t.TempDir()}

	// Pulling the tag fills the cache, so that the pin works offline.
	got, err := c.Pull(t.Context(), ref(t, tag))
	require.NoError(t, err)
	require.False(t, got.FromCache)

	before := reg.Requests.Load()
	got, err = c.Pull(t.Context(), ref(t, pinned))
	require.NoError(t, err)
	assert.True(t, got.FromCache)
	assert.Equal(t, want, got.Wasm)
	assert.Equal(t, before, reg.Requests.Load(), "a cached pin asks no registry")

	reg.Close()
	got, err = c.Pull(t.Context(), ref(t, pinned))
	require.NoError(t, err, "registry down, digest cached")
	assert.Equal(t, want, got.Wasm)

	_, err = c.Pull(t.Context(), ref(t, tag))
	require.Error(t, err, "a tag needs the registry")
	assert.Contains(t, err.Error(), "connection refused")

	// A cached blob is checked before use: an altered one is not used.
	blobs, err := filepath.Glob(filepath.Join(c.CacheDir, "blobs", "sha256", "*"))
	require.NoError(t, err)
	require.Len(t, blobs, 2, "manifest and layer")
	for _, b := range blobs {
		data, err := os.ReadFile(b)
		require.NoError(t, err)
		data[len(data)-1] ^= 1
		require.NoError(t, os.WriteFile(b, data, 0o600))
	}
	_, err = c.Pull(t.Context(), ref(t, pinned))
	require.Error(t, err, "altered cache, registry down")
	assert.Contains(t, err.Error(), "connection refused")
}

// TestWrongDigest: content that does not match its digest is refused,
// whether the registry serves it or the reference pins another digest.
func TestWrongDigest(t *testing.T) {
	noDockerConfig(t)
	reg := ocitest.Start(t, ocitest.Options{})
	tag := reg.Host + "/tamper/mod:v1"
	digest := put(t, tag, image(t, types.OCIManifestSchema1, static.NewLayer(module("t"), ocimodule.WasmLayerMediaType)))
	c := &ocimodule.Client{PlainHTTP: true}

	reg.Tamper(true)
	_, err := c.Pull(t.Context(), ref(t, tag))
	require.Error(t, err, "tampered layer")
	assert.Contains(t, err.Error(), "sha256 checksum")

	_, err = c.Pull(t.Context(), ref(t, reg.Host+"/tamper/mod@"+digest.String()))
	require.Error(t, err, "tampered manifest")
	assert.Contains(t, err.Error(), "does not match requested digest")

	reg.Tamper(false)
	other := "sha256:" + strings.Repeat("ab", 32)
	_, err = c.Pull(t.Context(), ref(t, reg.Host+"/tamper/mod@"+other))
	require.Error(t, err, "a digest the registry does not have")
	assert.Contains(t, err.Error(), "MANIFEST_UNKNOWN")
}

// TestPlainHTTPIsExplicit: a registry that speaks plain HTTP is refused
// unless the client allows it, even on loopback.
func TestPlainHTTPIsExplicit(t *testing.T) {
	noDockerConfig(t)
	reg := ocitest.Start(t, ocitest.Options{})
	tag := reg.Host + "/plain/mod:v1"
	put(t, tag, image(t, types.OCIManifestSchema1, static.NewLayer(module("p"), ocimodule.WasmLayerMediaType)))

	strict, err := ocimodule.ParseReference(tag, false)
	require.NoError(t, err)
	_, err = (&ocimodule.Client{}).Pull(t.Context(), strict)
	require.ErrorIs(t, err, ocimodule.ErrPlainHTTP)

	_, err = (&ocimodule.Client{PlainHTTP: true}).Pull(t.Context(), ref(t, tag))
	require.NoError(t, err)
}

// TestRegistryThatNeverAnswers: a registry that accepts connections and
// then says nothing fails the pull once the timeout passes.
func TestRegistryThatNeverAnswers(t *testing.T) {
	noDockerConfig(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	c := &ocimodule.Client{PlainHTTP: true, Timeout: time.Second}
	start := time.Now()
	_, err = c.Pull(context.Background(), ref(t, l.Addr().String()+"/silent/mod:v1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no answer from the registry within 1s")
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestParseReference(t *testing.T) {
	good := []string{
		"registry.example.com/filters/mine:1.0",
		"registry.example.com:5000/a/b/c:v1",
		"localhost:5000/mine:dev",
		"ghcr.io/org/mine@sha256:" + strings.Repeat("0", 64),
		"ghcr.io/org/mine:1.0@sha256:" + strings.Repeat("0", 64),
	}
	for _, s := range good {
		_, err := ocimodule.ParseReference(s, false)
		assert.NoError(t, err, s)
	}
	bad := map[string]string{
		"mine:1.0":                    "registry",
		"org/mine:1.0":                "registry",
		"registry.example.com/mine":   "tag",
		"registry.example.com/Mine:1": "repository",
		"registry.example.com/mine@sha512:" + strings.Repeat("0", 128): "only sha256",
		"registry.example.com/mine@sha256:0":                           "digest",
	}
	for s, want := range bad {
		_, err := ocimodule.ParseReference(s, false)
		if assert.Error(t, err, s) {
			assert.Contains(t, strings.ToLower(err.Error()), want, s)
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// TestSizeLimits: a manifest over 4 MiB is cut off whether or not the
// registry announces its length, and a layer whose manifest declares more
// than MaxModuleSize is refused before it is downloaded.
func TestSizeLimits(t *testing.T) {
	noDockerConfig(t)
	big := append([]byte(`{"schemaVersion":2,"layers":[],"pad":"`), bytes.Repeat([]byte("x"), 5<<20)...)
	big = append(big, `"}`...)
	var blobRequests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.HasSuffix(r.URL.Path, "/manifests/announced"):
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			_, _ = w.Write(big)
		case strings.HasSuffix(r.URL.Path, "/manifests/chunked"):
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			for i := 0; i < len(big); i += 64 << 10 {
				_, _ = w.Write(big[i:min(i+64<<10, len(big))])
				w.(http.Flusher).Flush()
			}
		case strings.HasSuffix(r.URL.Path, "/manifests/huge-layer"):
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			_, _ = fmt.Fprintf(w, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"size":2,"digest":"sha256:%s"},"layers":[{"mediaType":%q,"size":%d,"digest":"sha256:%s"}]}`,
				types.OCIManifestSchema1, ocimodule.WasmConfigMediaType, strings.Repeat("1", 64),
				ocimodule.WasmLayerMediaType, ocimodule.MaxModuleSize+1, strings.Repeat("2", 64))
		default:
			if strings.Contains(r.URL.Path, "/blobs/") {
				blobRequests.Add(1)
			}
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	c := &ocimodule.Client{PlainHTTP: true}

	_, err := c.Pull(t.Context(), ref(t, host+"/big/mod:announced"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over the limit of 4194304")

	_, err = c.Pull(t.Context(), ref(t, host+"/big/mod:chunked"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "manifest larger than 4194304 bytes")

	_, err = c.Pull(t.Context(), ref(t, host+"/big/mod:huge-layer"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("is %d bytes; want 1 to 256 MiB", ocimodule.MaxModuleSize+1))
	assert.Zero(t, blobRequests.Load(), "refused before downloading")
}
