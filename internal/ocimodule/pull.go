// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"go.uber.org/zap"
)

// Module is a pulled module.
type Module struct {
	Wasm []byte
	// Digest is the manifest (or index) digest the reference resolved to.
	Digest v1.Hash
	// FromCache is true when every blob came from the cache, so no
	// registry was asked.
	FromCache bool
}

// ErrPlainHTTP is wrapped by errors from a registry that answers only over
// plain HTTP when the Client does not allow it.
var ErrPlainHTTP = errors.New("the registry answers over plain HTTP, which is not allowed")

// ErrUnusable marks a pull that failed on what the image itself holds: a
// manifest that is not one, no Wasm layer, a layer over the limits. A
// digest names its content for good, so pulling it again fails again;
// a watcher need not try (the registry's own failures are not marked).
var ErrUnusable = errors.New("the image is not a usable module")

// unusable is err, marked ErrUnusable, with err's text.
type unusable struct{ error }

func (u unusable) Unwrap() []error { return []error{u.error, ErrUnusable} }

// Pull fetches the module ref names. A reference by digest is served from
// the cache when the cache holds it, without asking the registry; a tag is
// always resolved by the registry, and its blobs then come from the cache
// when present.
func (c *Client) Pull(ctx context.Context, ref name.Reference) (*Module, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	p := &pull{Client: c, ctx: ctx, repo: ref.Context(), cache: blobCache{dir: c.CacheDir}, fromCache: true}
	mod, err := p.run(ref)
	if err != nil {
		return nil, c.explain(ctx, ref, err)
	}
	return mod, nil
}

// Resolve returns the digest a reference names now: a HEAD request where
// the registry answers it with the digest, else a GET of the manifest.
func (c *Client) Resolve(ctx context.Context, ref name.Reference) (v1.Hash, error) {
	if d, ok := ref.(name.Digest); ok {
		return v1.NewHash(d.DigestStr())
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	puller, err := remote.NewPuller(c.remoteOptions()...)
	if err != nil {
		return v1.Hash{}, err
	}
	desc, err := puller.Head(ctx, ref)
	if err == nil {
		return desc.Digest, nil
	}
	got, err := puller.Get(ctx, ref)
	if err != nil {
		return v1.Hash{}, c.explain(ctx, ref, err)
	}
	return got.Digest, nil
}

func (c *Client) remoteOptions() []remote.Option {
	opts := []remote.Option{
		remote.WithTransport(newTransport(c.PlainHTTP)),
		remote.WithUserAgent("wasmcol"),
	}
	if c.Auth != nil {
		return append(opts, remote.WithAuth(c.Auth))
	}
	return append(opts, remote.WithAuthFromKeychain(dockerKeychain{}))
}

// explain is err as Pull and Resolve return it: advised, with what the
// registry wrote in it made safe to show (registryText).
func (c *Client) explain(ctx context.Context, ref name.Reference, err error) error {
	return registryText(c.advise(ctx, ref, err))
}

// advise adds what the user can do about an error to it.
func (c *Client) advise(ctx context.Context, ref name.Reference, err error) error {
	var terr *transport.Error
	switch {
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		if c.Auth != nil {
			return fmt.Errorf("%w (the registry refused the credentials given, or the token service it named did)", err)
		}
		return fmt.Errorf("%w (%s)", err, authHint(ref.Context().RegistryStr()))
	case errors.Is(err, errPlainHTTP) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w: %v", ErrPlainHTTP, err)
	case ctx.Err() != nil:
		return fmt.Errorf("no answer from the registry within %s: %w", c.timeout(), err)
	}
	return err
}

// registryText is err with the registry's own words in it (its error
// messages, a body it sent) quoted and cut short: go-containerregistry
// puts them in its errors verbatim, and a registry's 60 KB message with
// newlines and terminal escapes reached the Collector's start error and
// log whole, once a reload interval (attack round 12). What is left is
// cut at maxErrorText in case the registry's words came another way.
func registryText(err error) error {
	msg := err.Error()
	if terr := (*transport.Error)(nil); errors.As(err, &terr) {
		msg = strings.Replace(msg, terr.Error(), transportText(terr), 1)
	}
	if msg = plainText(msg, maxErrorText); msg == err.Error() {
		return err
	}
	return &textError{msg: msg, err: err}
}

// plainText is s with what a terminal would not show as text escaped as
// Go quotes it (control characters, bidirectional overrides, bytes that
// are not UTF-8), and then cut to most bytes, at a character: unlike
// shown, it leaves quotes alone, since the whole of an error is not one
// value.
func plainText(s string, most int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		switch {
		case r == utf8.RuneError && size == 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case !strconv.IsPrint(r) && r != ' ':
			q := strconv.QuoteRune(r)
			piece = q[1 : len(q)-1]
		}
		if b.Len()+len(piece) > most {
			b.WriteString("...")
			break
		}
		b.WriteString(piece)
		i += size
	}
	if b.Len() == len(s) {
		return s // nothing escaped or cut: the same text
	}
	return b.String()
}

// maxErrorText is the longest error text Pull and Resolve return.
const maxErrorText = 2048

// transportText is what e says, each of the registry's diagnostics
// shown: its code and message quoted if need be and cut at 100 bytes, at
// most three of them; the raw body of an answer without them is left out.
func transportText(e *transport.Error) string {
	var b strings.Builder
	if e.Request != nil {
		// Without its query: after a redirect, the URL may be one the
		// registry signed, its credentials in the query, which
		// go-containerregistry's own text redacted.
		u := *e.Request.URL
		u.RawQuery = ""
		fmt.Fprintf(&b, "%s %s: ", e.Request.Method, u.Redacted())
	}
	fmt.Fprintf(&b, "status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	for i, d := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(e.Errors)-i)
			break
		}
		fmt.Fprintf(&b, "; %s: %s", shown(string(d.Code)), shown(d.Message))
	}
	return b.String()
}

// textError is an error shown with other text than its own.
type textError struct {
	msg string
	err error
}

func (e *textError) Error() string { return e.msg }
func (e *textError) Unwrap() error { return e.err }

// manifestTooLarge is the error for the manifest what, of size bytes.
func manifestTooLarge(what string, size int64) error {
	return fmt.Errorf("the manifest %s is %d bytes, over the limit of %d", what, size, maxManifestSize)
}

// pull is one Pull in progress.
type pull struct {
	*Client
	ctx       context.Context
	repo      name.Repository
	cache     blobCache
	puller    *remote.Puller // created on first use: a cached pull needs none
	fromCache bool
}

func (p *pull) run(ref name.Reference) (*Module, error) {
	var (
		raw    []byte
		digest v1.Hash
		err    error
	)
	if d, ok := ref.(name.Digest); ok {
		if digest, err = v1.NewHash(d.DigestStr()); err != nil {
			return nil, err
		}
		raw, err = p.manifest(digest, maxManifestSize)
	} else {
		raw, digest, err = p.manifestByTag(ref)
	}
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(raw)
	if err != nil {
		return nil, unusable{fmt.Errorf("%s is %w", digest, err)}
	}
	image, imageDigest := m, digest
	if m.MediaType.IsIndex() {
		child, err := m.onlyImage()
		if err != nil {
			return nil, unusable{fmt.Errorf("%s is %w", digest, err)}
		}
		if raw, err = p.manifest(child.Digest, child.Size); err != nil {
			return nil, err
		}
		if image, err = parseManifest(raw); err != nil || !image.MediaType.IsImage() {
			return nil, unusable{fmt.Errorf("the index %s lists %s, which is not an image manifest", digest, child.Digest)}
		}
		imageDigest = child.Digest
	}
	layer, kind, err := image.moduleLayer()
	if err != nil {
		return nil, unusable{fmt.Errorf("the image %s is %w", imageDigest, err)}
	}
	blob, err := p.blob(layer, MaxModuleSize)
	if err != nil {
		return nil, err
	}
	wasm, err := extract(blob, kind)
	if err != nil {
		return nil, unusable{fmt.Errorf("the image %s: %w", imageDigest, err)}
	}
	return &Module{Wasm: wasm, Digest: digest, FromCache: p.fromCache}, nil
}

func (p *pull) remote() (*remote.Puller, error) {
	p.fromCache = false
	if p.puller == nil {
		puller, err := remote.NewPuller(p.remoteOptions()...)
		if err != nil {
			return nil, err
		}
		p.puller = puller
	}
	return p.puller, nil
}

// manifestByTag asks the registry what the tag names now, and caches the
// answer under its digest, so that pinning that digest later works offline.
func (p *pull) manifestByTag(ref name.Reference) ([]byte, v1.Hash, error) {
	puller, err := p.remote()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	got, err := puller.Get(p.ctx, ref)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if got.Digest.Algorithm != "sha256" {
		return nil, v1.Hash{}, fmt.Errorf("the registry named the manifest by %s; only sha256 is supported", got.Digest.Algorithm)
	}
	// The transport bounds what it reads; this keeps a manifest over the
	// limit out of the cache however it came.
	if len(got.Manifest) > maxManifestSize {
		return nil, v1.Hash{}, manifestTooLarge(got.Digest.String(), int64(len(got.Manifest)))
	}
	p.store(got.Digest, got.Manifest)
	return got.Manifest, got.Digest, nil
}

// manifest returns the manifest or index with digest h, from the cache or
// else the registry (which go-containerregistry checks against h).
func (p *pull) manifest(h v1.Hash, size int64) ([]byte, error) {
	if size > maxManifestSize {
		return nil, manifestTooLarge(h.String(), size)
	}
	if b, err := p.cached(h, maxManifestSize); err == nil {
		return b, nil
	}
	puller, err := p.remote()
	if err != nil {
		return nil, err
	}
	got, err := puller.Get(p.ctx, p.repo.Digest(h.String()))
	if err != nil {
		return nil, err
	}
	if err := checkDigest(got.Manifest, h); err != nil {
		return nil, fmt.Errorf("the registry served a manifest for %s whose %w", h, err)
	}
	p.store(h, got.Manifest)
	return got.Manifest, nil
}

// blob returns the layer d, from the cache or else the registry, checked
// against its size and digest either way.
func (p *pull) blob(d v1.Descriptor, limit int64) ([]byte, error) {
	if d.Size <= 0 || d.Size > limit {
		return nil, unusable{fmt.Errorf("the layer %s is %d bytes; want 1 to %d MiB", d.Digest, d.Size, limit>>20)}
	}
	if d.Digest.Algorithm != "sha256" {
		return nil, unusable{fmt.Errorf("the layer is named by %s; only sha256 is supported", d.Digest.Algorithm)}
	}
	if b, err := p.cached(d.Digest, d.Size); err == nil {
		return b, nil
	}
	puller, err := p.remote()
	if err != nil {
		return nil, err
	}
	layer, err := puller.Layer(p.ctx, p.repo.Digest(d.Digest.String()))
	if err != nil {
		return nil, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching the layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("fetching the layer %s: %w", d.Digest, err)
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("the registry served %d bytes for the layer %s, whose manifest says %d", len(b), d.Digest, d.Size)
	}
	if err := checkDigest(b, d.Digest); err != nil {
		return nil, fmt.Errorf("the registry served a layer for %s whose %w", d.Digest, err)
	}
	p.store(d.Digest, b)
	return b, nil
}

func (p *pull) cached(h v1.Hash, limit int64) ([]byte, error) {
	b, err := p.cache.get(h, limit)
	if err != nil && !errors.Is(err, errCacheMiss) {
		p.warn("wasm module cache: ignoring an entry", zap.String("dir", p.cache.dir), zap.Error(err))
	}
	return b, err
}

func (p *pull) store(h v1.Hash, b []byte) {
	if err := p.cache.put(h, b); err != nil {
		p.warn("wasm module cache: cannot store a blob; the next start needs the registry", zap.String("dir", p.cache.dir), zap.Error(err))
	}
}

// checkDigest fails unless b hashes to h.
func checkDigest(b []byte, h v1.Hash) error {
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); h.Algorithm != "sha256" || got != h.Hex {
		return fmt.Errorf("digest is sha256:%s", got)
	}
	return nil
}
