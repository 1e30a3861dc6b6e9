// SPDX-License-Identifier: Apache-2.0

package ocimodule_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/ocimodule"
	"github.com/wasmcol/wasmcol/internal/ocitest"
)

// TestPushThenPull pushes with Push and checks the artifact: Istio's
// two-layer layout, the config as the manifest's config, the module
// titled, and a pull returning exactly the bytes pushed.
func TestPushThenPull(t *testing.T) {
	noDockerConfig(t)
	reg := ocitest.Start(t, ocitest.Options{})
	want := module("pushed")
	tag, err := name.NewTag(reg.Host+"/filters/mine:1.0", name.Insecure)
	require.NoError(t, err)
	c := &ocimodule.Client{PlainHTTP: true}
	digest, err := c.Push(t.Context(), tag, want, "mine.wasm")
	require.NoError(t, err)

	desc, err := remote.Get(tag)
	require.NoError(t, err)
	assert.Equal(t, digest, desc.Digest)
	m, err := v1.ParseManifest(bytesReader(desc.Manifest))
	require.NoError(t, err)
	assert.Equal(t, "application/vnd.oci.image.manifest.v1+json", string(m.MediaType))
	assert.Equal(t, ocimodule.WasmConfigMediaType, m.Config.MediaType)
	require.Len(t, m.Layers, 2, "Istio wants the runtime-config layer and the Wasm layer")
	assert.Equal(t, ocimodule.WasmConfigMediaType, m.Layers[0].MediaType)
	assert.Equal(t, ocimodule.WasmLayerMediaType, m.Layers[1].MediaType)
	assert.Equal(t, "mine.wasm", m.Layers[1].Annotations["org.opencontainers.image.title"])
	assert.EqualValues(t, len(want), m.Layers[1].Size)

	got, err := c.Pull(t.Context(), ref(t, reg.Host+"/filters/mine:1.0"))
	require.NoError(t, err)
	assert.Equal(t, want, got.Wasm)
	assert.Equal(t, digest, got.Digest)

	_, err = c.Push(t.Context(), tag, []byte("#!/bin/sh"), "x")
	assert.ErrorContains(t, err, "not a Wasm binary module")
}

// TestDockerConfigAuth: credentials come from $DOCKER_CONFIG/config.json,
// and a refusal says where they were looked for.
func TestDockerConfigAuth(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{User: "filters", Password: "s3cret"})
	tagStr := reg.Host + "/private/mine:v1"
	tag, err := name.NewTag(tagStr, name.Insecure)
	require.NoError(t, err)
	// The library's own push, with explicit credentials.
	c := &ocimodule.Client{PlainHTTP: true, Auth: &authn.Basic{Username: "filters", Password: "s3cret"}}
	_, err = c.Push(t.Context(), tag, module("private"), "mine.wasm")
	require.NoError(t, err)

	pull := func() error {
		_, err := (&ocimodule.Client{PlainHTTP: true}).Pull(t.Context(), ref(t, tagStr))
		return err
	}

	t.Run("no config file", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("DOCKER_CONFIG", dir)
		err := pull()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "UNAUTHORIZED")
		assert.Contains(t, err.Error(), "no Docker config at "+filepath.Join(dir, "config.json"))
	})
	t.Run("right credentials", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, "filters", "s3cret"))
		require.NoError(t, pull())
	})
	t.Run("wrong password", func(t *testing.T) {
		dir := ocitest.WriteDockerConfig(t, t.TempDir(), reg.Host, "filters", "guess")
		t.Setenv("DOCKER_CONFIG", dir)
		err := pull()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the registry refused the credentials for "+reg.Host)
		assert.NotContains(t, err.Error(), "guess", "no credential in a message")
	})
	t.Run("other registry only", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", ocitest.WriteDockerConfig(t, t.TempDir(), "registry.example.com", "filters", "s3cret"))
		err := pull()
		require.Error(t, err)
		assert.Contains(t, err.Error(), `has no "auths" entry for `+reg.Host)
	})
	t.Run("username and password fields, key with scheme", func(t *testing.T) {
		writeConfig(t, map[string]any{"auths": map[string]any{
			"http://" + reg.Host + "/v2/": map[string]string{"username": "filters", "password": "s3cret"},
		}})
		require.NoError(t, pull())
	})
	t.Run("credential helper is not run", func(t *testing.T) {
		writeConfig(t, map[string]any{"credHelpers": map[string]string{reg.Host: "wasmcol-test-helper"}})
		// A helper that would answer, were it run: it records being run.
		bin := t.TempDir()
		ran := filepath.Join(bin, "ran")
		helper := "#!/bin/sh\ntouch " + ran + "\necho '{\"Username\":\"filters\",\"Secret\":\"s3cret\"}'\n"
		require.NoError(t, os.WriteFile(filepath.Join(bin, "docker-credential-wasmcol-test-helper"), []byte(helper), 0o755))
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		err := pull()
		require.Error(t, err)
		assert.Contains(t, err.Error(), `credential helper "wasmcol-test-helper", which wasmcol does not run`)
		assert.NoFileExists(t, ran)
	})
	t.Run("malformed auth", func(t *testing.T) {
		writeConfig(t, map[string]any{"auths": map[string]any{reg.Host: map[string]string{"auth": "not base64!"}}})
		err := pull()
		require.Error(t, err)
		assert.Contains(t, err.Error(), `the "auth" of "`+reg.Host+`" is not base64 of user:password`)
	})
	t.Run("not JSON", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte("auths: {}"), 0o600))
		t.Setenv("DOCKER_CONFIG", dir)
		err := pull()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is not valid JSON")
	})
}

// writeConfig writes cfg as the Docker config and points DOCKER_CONFIG at it.
func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	data, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600))
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}
