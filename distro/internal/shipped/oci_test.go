// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKubernetesOCIModules checks, for every wasm processor under
// examples/kubernetes that pulls its module from a registry, the wiring
// that `wasmcol validate` cannot see: the image-pull secret reaches the
// pod as $DOCKER_CONFIG/config.json (a secret volume keeps the key's name,
// .dockerconfigjson, unless items rename it), and pulled modules have a
// writable cache, so that a pod restarted with a pinned digest needs no
// registry.
func TestKubernetesOCIModules(t *testing.T) {
	root := filepath.Join(repoRoot, "examples", "kubernetes")
	found := 0
	for _, f := range yamlFiles(t, root) {
		rel, _ := filepath.Rel(root, f)
		for i, doc := range readYAMLDocs(t, f) {
			if doc["kind"] != "OpenTelemetryCollector" {
				continue
			}
			m := manifest{file: rel, index: i, doc: doc}
			procs, _ := dig(doc, "spec", "config", "processors").(map[string]any)
			for id, p := range procs {
				module, _ := dig(p, "module").(string)
				if typ, _, _ := strings.Cut(id, "/"); typ != "wasm" || !strings.HasPrefix(module, "oci://") {
					continue
				}
				found++
				t.Run(m.String()+"/"+id, func(t *testing.T) { checkOCIDelivery(t, m, p) })
			}
		}
	}
	if found == 0 {
		t.Fatalf("no wasm processor under %s pulls an oci:// module; own-module/oci/ should", root)
	}
}

func checkOCIDelivery(t *testing.T, m manifest, proc any) {
	spec, _ := m.doc["spec"].(map[string]any)
	if plain, _ := dig(proc, "plain_http").(bool); plain {
		t.Errorf("plain_http: an example must pull over TLS")
	}

	dir := ""
	for _, e := range asList(spec["env"]) {
		if dig(e, "name") == "DOCKER_CONFIG" {
			dir, _ = dig(e, "value").(string)
		}
	}
	if dir == "" {
		t.Fatalf("spec.env sets no DOCKER_CONFIG: wasmcol would look for credentials in the image's home directory")
	}
	configFile := strings.TrimSuffix(dir, "/") + "/config.json"
	var mount map[string]any
	mountPath := ""
	for _, vm := range asList(spec["volumeMounts"]) {
		p, _ := dig(vm, "mountPath").(string)
		if strings.HasPrefix(configFile, strings.TrimSuffix(p, "/")+"/") && len(p) > len(mountPath) {
			mount, mountPath = asMap(vm), p
		}
	}
	if mount == nil {
		t.Fatalf("DOCKER_CONFIG=%s: no volumeMount holds %s", dir, configFile)
	}
	inVolume := strings.TrimPrefix(configFile, strings.TrimSuffix(mountPath, "/")+"/")
	var secret map[string]any
	for _, v := range asList(spec["volumes"]) {
		if dig(v, "name") == mount["name"] {
			secret = asMap(dig(v, "secret"))
		}
	}
	if secret == nil {
		t.Fatalf("DOCKER_CONFIG=%s is on volume %v, which is not a secret volume", dir, mount["name"])
	}
	if name, _ := secret["secretName"].(string); name == "" {
		t.Errorf("the credentials volume names no secretName")
	}
	projected := false
	for _, it := range asList(secret["items"]) {
		if dig(it, "key") == ".dockerconfigjson" && dig(it, "path") == inVolume {
			projected = true
		}
	}
	if !projected {
		t.Errorf("the secret volume %v must project the key .dockerconfigjson to %s, the name wasmcol reads", mount["name"], inVolume)
	}

	readOnlyRoot, _ := dig(spec, "securityContext", "readOnlyRootFilesystem").(bool)
	cacheDir, _ := dig(proc, "cache_dir").(string)
	if readOnlyRoot && cacheDir == "" {
		t.Errorf("no cache_dir: with a read-only root filesystem the pulled module is not cached, so every restart needs the registry")
	}
}
