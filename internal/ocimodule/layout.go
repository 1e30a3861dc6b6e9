// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestDoc is what the layouts need of an image manifest or an index.
// Older OCI manifests omit mediaType, so the kind is also told by the
// fields present.
type manifestDoc struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	Layers        []v1.Descriptor `json:"layers"`
	Manifests     []v1.Descriptor `json:"manifests"`
}

func parseManifest(raw []byte) (*manifestDoc, error) {
	var m manifestDoc
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("not a manifest: %w", err)
	}
	switch {
	case m.MediaType.IsSchema1() || m.SchemaVersion == 1:
		return nil, errors.New("a Docker schema 1 manifest, which is not supported")
	case m.MediaType.IsIndex() || (m.MediaType == "" && m.Manifests != nil):
		m.MediaType = types.OCIImageIndex
	case m.MediaType.IsImage() || (m.MediaType == "" && m.Layers != nil):
		m.MediaType = types.OCIManifestSchema1
	default:
		return nil, fmt.Errorf("neither an image manifest nor an index (media type %s)", shown(string(m.MediaType)))
	}
	return &m, nil
}

// onlyImage returns the index's one image. Attestation manifests (which
// `docker buildx` adds, with platform unknown/unknown) are not images.
func (m *manifestDoc) onlyImage() (v1.Descriptor, error) {
	var images []v1.Descriptor
	var names someNames
	for _, d := range m.Manifests {
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" ||
			(d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown") {
			continue
		}
		images = append(images, d)
		if d.Platform != nil && d.Platform.String() != "" {
			names.add(d.Platform.String())
		} else {
			names.add(d.Digest.String())
		}
	}
	if len(images) != 1 {
		return v1.Descriptor{}, fmt.Errorf("an index of %d images (%s); want exactly one: push the module alone, or pin one image's digest",
			len(images), names)
	}
	if !images[0].MediaType.IsImage() {
		return v1.Descriptor{}, fmt.Errorf("an index whose entry is a %s, not an image manifest", shown(string(images[0].MediaType)))
	}
	return images[0], nil
}

// layerKind is how a chosen layer holds the module.
type layerKind int

const (
	rawWasm layerKind = iota
	tarFile
	tarGzipFile
)

var tarLayers = map[types.MediaType]layerKind{
	types.OCIUncompressedLayer:    tarFile,
	types.DockerUncompressedLayer: tarFile,
	types.OCILayer:                tarGzipFile,
	types.DockerLayer:             tarGzipFile,
}

// moduleLayer picks the layer that holds the module: the one Wasm layer
// (beside which only runtime-config layers may appear), or else the
// image's only layer if it is a tar.
func (m *manifestDoc) moduleLayer() (v1.Descriptor, layerKind, error) {
	var wasm, other []v1.Descriptor
	for _, l := range m.Layers {
		switch l.MediaType {
		case WasmLayerMediaType:
			wasm = append(wasm, l)
		case WasmConfigMediaType:
		default:
			other = append(other, l)
		}
	}
	if len(wasm) == 1 && len(other) == 0 {
		return wasm[0], rawWasm, nil
	}
	if len(m.Layers) == 1 {
		if kind, ok := tarLayers[m.Layers[0].MediaType]; ok {
			return m.Layers[0], kind, nil
		}
	}
	var types someNames
	for _, l := range m.Layers {
		types.add(string(l.MediaType))
	}
	found := "no layers"
	if types.n > 0 {
		found = fmt.Sprintf("%d layer(s): %s", types.n, types)
	}
	return v1.Descriptor{}, 0, fmt.Errorf("not a Wasm module: it has %s; want one layer of type %s, or a single tar or tar+gzip layer holding one .wasm file",
		found, WasmLayerMediaType)
}

// wasmMagic starts every Wasm binary module.
var wasmMagic = []byte("\x00asm")

// maxNameLen bounds a file name in a tar layer: Linux's PATH_MAX. tar's
// PAX headers allow 1 MB names, and parsing 500 of them took seconds.
const maxNameLen = 4096

// extract returns the module that blob (a layer of the given kind) holds.
func extract(blob []byte, kind layerKind) ([]byte, error) {
	if kind == rawWasm {
		if !bytes.HasPrefix(blob, wasmMagic) {
			return nil, errors.New("the Wasm layer is not a Wasm binary (no \\0asm header)")
		}
		return blob, nil
	}
	var r io.Reader = bytes.NewReader(blob)
	if kind == tarGzipFile {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("the layer is not gzip: %w", err)
		}
		r = zr
	}
	// The tar stream may hold other files; reading past them is bounded too.
	r = io.LimitReader(r, 2*MaxModuleSize)
	tr := tar.NewReader(r)
	// Only a few names are kept, for the errors: a layer of 500 files
	// named by 1 MB PAX headers once held 500 MB of names.
	var (
		module []byte
		first  string // the first .wasm file
		wasm   someNames
		files  someNames
	)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the layer is not a valid tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if len(h.Name) > maxNameLen {
			return nil, fmt.Errorf("the layer names a file with %d bytes (%s); a module layer's names are paths of at most %d", len(h.Name), shown(h.Name), maxNameLen)
		}
		files.add(h.Name)
		if path.Ext(h.Name) != ".wasm" {
			continue
		}
		wasm.add(h.Name)
		if wasm.n > 1 {
			continue
		}
		first = shown(h.Name)
		if h.Size > MaxModuleSize {
			return nil, fmt.Errorf("%s is %d bytes, over the limit of %d MiB", first, h.Size, MaxModuleSize>>20)
		}
		if module, err = io.ReadAll(tr); err != nil {
			return nil, fmt.Errorf("reading %s from the layer: %w", first, err)
		}
	}
	switch {
	case wasm.n == 0:
		return nil, fmt.Errorf("the layer holds no .wasm file (files: %s)", files)
	case wasm.n > 1:
		return nil, fmt.Errorf("the layer holds %d .wasm files (%s); want exactly one", wasm.n, wasm)
	case !bytes.HasPrefix(module, wasmMagic):
		return nil, fmt.Errorf("%s in the layer is not a Wasm binary (no \\0asm header)", first)
	}
	return module, nil
}

// shown is text a registry supplied (a file name, a media type, a
// platform) as an error may carry it: quoted when it holds anything a
// quote would escape, so that no newline or control character reaches a
// log as if the Collector wrote it, and cut to 100 bytes, so that a 1 MB
// name cannot make a 1 MB error.
func shown(s string) string {
	const most = 100
	cut := ""
	if len(s) > most {
		s, cut = s[:most], "..."
	}
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q + cut
	}
	return s + cut
}

// someNames counts names and keeps the first ten, shown, for errors
// about big layers and manifests.
type someNames struct {
	first []string
	n     int
}

func (s *someNames) add(name string) {
	s.n++
	if len(s.first) < 10 {
		s.first = append(s.first, shown(name))
	}
}

func (s someNames) String() string {
	switch {
	case s.n == 0:
		return "none"
	case s.n > len(s.first):
		return fmt.Sprintf("%s and %d more", strings.Join(s.first, ", "), s.n-len(s.first))
	}
	return strings.Join(s.first, ", ")
}
