// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// runtimeConfig is the config blob of a pushed module, in the shape of the
// Wasm artifact spec Istio follows: it names the runtime and ABI the
// module targets.
var runtimeConfig = []byte(`{"type":"wasmcol","abiVersions":["1"]}`)

// Push uploads wasm to ref, a tag, in the two-layer layout Istio's
// WasmPlugin pulls: a runtime-config layer (also the manifest's config)
// and the module as a raw Wasm layer titled title. It returns the
// manifest's digest, which pins exactly what was pushed.
func (c *Client) Push(ctx context.Context, ref name.Tag, wasm []byte, title string) (v1.Hash, error) {
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return v1.Hash{}, errors.New("not a Wasm binary module (no \\0asm header)")
	}
	if len(wasm) > MaxModuleSize {
		return v1.Hash{}, fmt.Errorf("%d bytes, over the limit of %d MiB", len(wasm), MaxModuleSize>>20)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	pusher, err := remote.NewPusher(c.remoteOptions()...)
	if err != nil {
		return v1.Hash{}, err
	}
	config := static.NewLayer(runtimeConfig, WasmConfigMediaType)
	module := static.NewLayer(wasm, WasmLayerMediaType)
	for _, l := range []v1.Layer{config, module} {
		if err := pusher.Upload(ctx, ref.Context(), l); err != nil {
			return v1.Hash{}, c.explain(ctx, ref, err)
		}
	}
	configDesc, err := describe(config, "runtime-config.json")
	if err != nil {
		return v1.Hash{}, err
	}
	moduleDesc, err := describe(module, title)
	if err != nil {
		return v1.Hash{}, err
	}
	manifest := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        configDesc,
		Layers:        []v1.Descriptor{configDesc, moduleDesc},
	}
	manifest.Config.Annotations = nil
	raw, err := json.Marshal(manifest)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := pusher.Put(ctx, ref, rawManifest(raw)); err != nil {
		return v1.Hash{}, c.explain(ctx, ref, err)
	}
	digest, _, err := v1.SHA256(bytes.NewReader(raw))
	return digest, err
}

func describe(l v1.Layer, title string) (v1.Descriptor, error) {
	digest, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{
		MediaType:   mt,
		Size:        size,
		Digest:      digest,
		Annotations: map[string]string{"org.opencontainers.image.title": title},
	}, nil
}

// rawManifest is a manifest to put as it is.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
