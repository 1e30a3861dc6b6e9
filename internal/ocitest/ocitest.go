// SPDX-License-Identifier: Apache-2.0

// Package ocitest serves a real OCI registry (go-containerregistry's
// pkg/registry) on a loopback port for tests, optionally behind basic
// auth, and can make it serve content that does not match its digests.
package ocitest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is one running registry.
type Registry struct {
	// Host is host:port, as it goes into a reference.
	Host string
	// Requests counts the requests the registry received.
	Requests atomic.Int64

	server *httptest.Server
	tamper atomic.Bool
	user   string
	pass   string
}

// Options configure a Registry.
type Options struct {
	// User and Password, when set, are required with HTTP basic auth on
	// every request, as a private registry would.
	User, Password string
}

// Start serves a registry over plain HTTP until the test ends.
func Start(tb testing.TB, opts Options) *Registry {
	tb.Helper()
	r := &Registry{user: opts.User, pass: opts.Password}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Requests.Add(1)
		if !r.authorized(req) {
			w.Header().Set("WWW-Authenticate", `Basic realm="ocitest"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		if r.tamper.Load() && req.Method == http.MethodGet && tampered(req.URL.Path) {
			serveTampered(w, req, inner)
			return
		}
		inner.ServeHTTP(w, req)
	}))
	tb.Cleanup(r.server.Close)
	r.Host = strings.TrimPrefix(r.server.URL, "http://")
	return r
}

func (r *Registry) authorized(req *http.Request) bool {
	if r.user == "" {
		return true
	}
	u, p, ok := req.BasicAuth()
	return ok && u == r.user && p == r.pass
}

// Close stops the registry: later requests find nothing listening.
func (r *Registry) Close() { r.server.Close() }

// Tamper makes the registry alter every blob and every manifest asked for
// by digest before serving it (keeping the length), as a compromised
// registry or a broken cache in front of it would.
func (r *Registry) Tamper(on bool) { r.tamper.Store(on) }

// tampered reports whether path names content by digest.
func tampered(path string) bool {
	return strings.Contains(path, "/blobs/sha256:") || strings.Contains(path, "/manifests/sha256:")
}

func serveTampered(w http.ResponseWriter, req *http.Request, inner http.Handler) {
	rec := httptest.NewRecorder()
	inner.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK && len(body) > 0 {
		if strings.Contains(req.URL.Path, "/manifests/") {
			// Still valid JSON, with another digest.
			body = append(bytes.TrimRight(body, "\n"), '\n', '\n')
		} else {
			body[len(body)-1] ^= 0xff
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// WriteDockerConfig writes dir/config.json giving user and password for
// host, in the format `docker login` and Kubernetes image-pull secrets
// (.dockerconfigjson) use, and returns dir, for DOCKER_CONFIG.
func WriteDockerConfig(tb testing.TB, dir, host, user, password string) string {
	tb.Helper()
	cfg := map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))},
	}}
	data, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return dir
}
