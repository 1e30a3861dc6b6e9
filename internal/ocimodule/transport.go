// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Bounds on one request, below the Client's Timeout on a whole operation:
// a registry that accepts connections but never answers fails in seconds.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
)

// newTransport is the base of every request to a registry: bounded dial,
// handshake and wait for headers; no plain HTTP unless allowed; manifests
// cut off at maxManifestSize. Keep-alives are off: pulls are rare, and an
// idle connection would outlive the processor that made it.
func newTransport(plainHTTP bool) http.RoundTripper {
	return &guardTransport{
		plainHTTP: plainHTTP,
		base: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
			TLSHandshakeTimeout:   tlsHandshakeTimeout,
			ResponseHeaderTimeout: responseHeaderTimeout,
			DisableKeepAlives:     true,
			ForceAttemptHTTP2:     true,
		},
	}
}

type guardTransport struct {
	plainHTTP bool
	base      http.RoundTripper
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.plainHTTP {
		return nil, fmt.Errorf("%w: %s", errPlainHTTP, req.URL.Host)
	}
	resp, err := g.base.RoundTrip(req)
	if err != nil || !forManifest(req) || req.Method != http.MethodGet {
		return resp, err
	}
	if resp.ContentLength > maxManifestSize {
		resp.Body.Close()
		return nil, manifestTooLarge("at "+req.URL.Redacted(), resp.ContentLength)
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxManifestSize}
	return resp, nil
}

// forManifest reports whether req asks for a manifest, or follows a
// redirect from a request that did: a registry that redirected its
// manifests to another path got a 90 MiB one read, and cached, past a
// limit that looked at the path alone (attack round 12).
func forManifest(req *http.Request) bool {
	for r := req; r != nil; {
		if strings.Contains(r.URL.Path, "/manifests/") {
			return true
		}
		if r.Response == nil {
			return false
		}
		r = r.Response.Request
	}
	return false
}

// limitedBody fails a read past its limit instead of truncating quietly.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n == 0 {
			return 0, err // io.EOF at exactly the limit is fine
		}
		return 0, fmt.Errorf("manifest larger than %d bytes", maxManifestSize)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
