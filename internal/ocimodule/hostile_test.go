// SPDX-License-Identifier: Apache-2.0

package ocimodule_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/ocimodule"
	"github.com/wasmcol/wasmcol/internal/ocitest"
)

// TestLayerOfHugeNames: a 0.5 MB tar+gzip layer of 500 empty files, each
// named by a 1 MB PAX header. Pulling it kept every name for the error
// (747 MiB of heap) and took seconds, and the error joined ten of them
// (10 MB), once per reload interval. The first over-long name must end
// the pull, with a short error; many files with ordinary names are
// listed, a few of them.
func TestLayerOfHugeNames(t *testing.T) {
	noDockerConfig(t)
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for i := range 20 { // 500 in the attack; 20 show it, and quickly
		name := fmt.Sprintf("%06d/", i) + strings.Repeat("a", 1_000_000-7)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX}))
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	reg := ocitest.Start(t, ocitest.Options{})
	r := reg.Host + "/filters/names:1"
	put(t, r, image(t, types.OCIManifestSchema1, static.NewLayer(z.Bytes(), types.OCILayer)))

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak.Store(max(peak.Load(), ms.HeapInuse))
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	_, err := (&ocimodule.Client{PlainHTTP: true}).Pull(context.Background(), ref(t, r))
	close(stop)
	<-stopped
	require.ErrorContains(t, err, "names a file with 1000000 bytes")
	require.Less(t, len(err.Error()), 2048, "error of %d bytes", len(err.Error()))
	grew := (int64(peak.Load()) - int64(before.HeapInuse)) >> 20
	require.Less(t, grew, int64(64), "the heap grew by %d MiB during the pull", grew)
}

// TestLayerOfManyFilesListsAFew: the error about a layer without a module
// names ten of its files and counts the rest.
func TestLayerOfManyFilesListsAFew(t *testing.T) {
	noDockerConfig(t)
	files := map[string][]byte{}
	for i := range 500 {
		files[fmt.Sprintf("doc/%03d.txt", i)] = nil
	}
	reg := ocitest.Start(t, ocitest.Options{})
	r := reg.Host + "/filters/many:1"
	put(t, r, image(t, types.OCIManifestSchema1, static.NewLayer(tarLayer(t, files, true), types.OCILayer)))
	_, err := (&ocimodule.Client{PlainHTTP: true}).Pull(context.Background(), ref(t, r))
	require.ErrorContains(t, err, "the layer holds no .wasm file")
	require.ErrorContains(t, err, "and 490 more")
	require.Less(t, len(err.Error()), 1024)
}

// TestRegistryTextIsEscaped: a media type or a file name from the
// registry reaches the start error; a newline or an escape sequence in it
// must not reach a log as if the Collector had written a line.
func TestRegistryTextIsEscaped(t *testing.T) {
	noDockerConfig(t)
	reg := ocitest.Start(t, ocitest.Options{})
	forged := "\n2026-12-03T10:00:00.000Z\tinfo\tEverything is ready.\x1b[2K"
	c := &ocimodule.Client{PlainHTTP: true}

	mt := reg.Host + "/filters/mt:1"
	put(t, mt, image(t, types.OCIManifestSchema1, static.NewLayer([]byte("x"), types.MediaType("application/x"+forged))))
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "x" + forged, Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX}))
	require.NoError(t, tw.Close())
	tn := reg.Host + "/filters/tn:1"
	put(t, tn, image(t, types.OCIManifestSchema1, static.NewLayer(tb.Bytes(), types.OCIUncompressedLayer)))

	for _, r := range []string{mt, tn} {
		_, err := c.Pull(context.Background(), ref(t, r))
		require.Error(t, err)
		require.NotContains(t, err.Error(), "\n", r)
		require.NotContains(t, err.Error(), "\x1b", r)
		require.Contains(t, err.Error(), `\n2026-12-03`, r)
	}
}

// TestRegistryErrorMessageIsEscaped: the registry's own error message
// (a 404's diagnostics, up to 64 KiB of any bytes) reached the start error
// whole, newlines and escape sequences included. It is shown quoted and
// cut, with its code, and the error is still a transport.Error.
func TestRegistryErrorMessageIsEscaped(t *testing.T) {
	noDockerConfig(t)
	forged := "\n2026-12-03T10:00:00.000Z\tinfo\tEverything is ready.\x1b[2K" + strings.Repeat("z", 60_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		b, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"code": "MANIFEST_UNKNOWN", "message": forged}}})
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	c := &ocimodule.Client{PlainHTTP: true}
	r := ref(t, strings.TrimPrefix(srv.URL, "http://")+"/filters/x:1")
	_, pullErr := c.Pull(context.Background(), r)
	_, resolveErr := c.Resolve(context.Background(), r)
	for _, err := range []error{pullErr, resolveErr} {
		require.Error(t, err)
		msg := err.Error()
		require.NotContains(t, msg, "\n")
		require.NotContains(t, msg, "\x1b")
		require.Less(t, len(msg), 1024, "an error of %d bytes", len(msg))
		require.Contains(t, msg, `MANIFEST_UNKNOWN: "\n2026-12-03`)
		require.Contains(t, msg, "status 404")
		var terr *transport.Error
		require.ErrorAs(t, err, &terr)
	}
}

// TestRedirectedManifestIsBounded: a registry that redirects its manifests
// to a path without "/manifests/" had a 90 MiB one read, and cached,
// where the limit is 4 MiB and looked at the path alone.
func TestRedirectedManifestIsBounded(t *testing.T) {
	noDockerConfig(t)
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
		case strings.Contains(r.URL.Path, "/manifests/"):
			http.Redirect(w, r, "/blob-store/x", http.StatusTemporaryRedirect)
		case r.URL.Path == "/blob-store/x":
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			// Chunked, without a Content-Length to refuse it by.
			n, _ := io.WriteString(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[],"annotations":{"x":"`)
			chunk := []byte(strings.Repeat("a", 1<<20))
			for total := n; total < 90<<20; total += len(chunk) {
				m, err := w.Write(chunk)
				served.Add(int64(m))
				if err != nil {
					return
				}
			}
			_, _ = io.WriteString(w, `"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	cache := t.TempDir()
	c := &ocimodule.Client{PlainHTTP: true, CacheDir: cache}
	_, err := c.Pull(context.Background(), ref(t, strings.TrimPrefix(srv.URL, "http://")+"/filters/x:1"))
	require.ErrorContains(t, err, "manifest larger than 4194304 bytes")
	// The server writes ahead of the reader by what the connection
	// buffers, 8-9 MiB here.
	require.Less(t, served.Load(), int64(32<<20), "a manifest of %d MiB was read", served.Load()>>20)
	require.NoError(t, filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, err := d.Info()
			require.NoError(t, err)
			require.LessOrEqual(t, info.Size(), int64(4<<20), "cached %s", p)
		}
		return err
	}))
}

// TestSignedURLIsNotShown: after a redirect to a URL the registry signed,
// its credentials in the query, an error names the URL without them.
func TestSignedURLIsNotShown(t *testing.T) {
	noDockerConfig(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
		case strings.Contains(r.URL.Path, "/manifests/"):
			http.Redirect(w, r, "/signed/x?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=topsecret", http.StatusTemporaryRedirect)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no such manifest"}]}`)
		}
	}))
	defer srv.Close()
	_, err := (&ocimodule.Client{PlainHTTP: true}).Pull(context.Background(), ref(t, strings.TrimPrefix(srv.URL, "http://")+"/filters/x:1"))
	require.ErrorContains(t, err, "/signed/x")
	require.NotContains(t, err.Error(), "topsecret")
	require.NotContains(t, err.Error(), "AKIAEXAMPLE")
}
