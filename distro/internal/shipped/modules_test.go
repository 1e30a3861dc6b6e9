// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// stockImage is the image the examples use when the filter is not baked in.
const stockImage = "wasmcol:dev"

// maxConfigMapBytes is the API server's limit on a ConfigMap's data and
// binaryData together, counted after base64 decoding.
const maxConfigMapBytes = 1 << 20

// checkModuleDelivery checks, for every wasm processor that loads a file,
// that the pod will actually have that file and a writable cache: the
// module path lies under a volumeMount backed by a declared volume (a
// ConfigMap that exists in the examples and holds the key, or an image
// volume whose Dockerfile puts the module there), or else a custom image
// whose Dockerfile copies the module to exactly that path.
func checkModuleDelivery(t *testing.T, c collector, root string, configMaps []manifest) {
	t.Helper()
	spec, _ := c.doc["spec"].(map[string]any)
	volumes := map[string]map[string]any{}
	for _, v := range asList(spec["volumes"]) {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		volumes[name] = vm
	}
	type mount struct {
		path, volume string
		readOnly     bool
	}
	var mounts []mount
	for _, m := range asList(spec["volumeMounts"]) {
		mm, _ := m.(map[string]any)
		p, _ := mm["mountPath"].(string)
		v, _ := mm["name"].(string)
		ro, _ := mm["readOnly"].(bool)
		if _, ok := volumes[v]; !ok {
			t.Errorf("volumeMount %s refers to volume %q, which spec.volumes does not declare", p, v)
		}
		mounts = append(mounts, mount{path: p, volume: v, readOnly: ro})
	}
	// mountFor returns the mount holding file and file's path inside it.
	mountFor := func(file string) (mount, string, bool) {
		var best mount
		found := false
		for _, m := range mounts {
			if strings.HasPrefix(file, strings.TrimSuffix(m.path, "/")+"/") && len(m.path) > len(best.path) {
				best, found = m, true
			}
		}
		if !found {
			return mount{}, "", false
		}
		return best, strings.TrimPrefix(file, strings.TrimSuffix(best.path, "/")+"/"), true
	}
	dockerfileDir := filepath.Join(root, filepath.Dir(c.file))
	readOnlyRoot, _ := dig(spec, "securityContext", "readOnlyRootFilesystem").(bool)
	image, _ := spec["image"].(string)

	procs, _ := c.config["processors"].(map[string]any)
	for id, p := range procs {
		if typ, _, _ := strings.Cut(id, "/"); typ != "wasm" {
			continue
		}
		if dir, _ := dig(p, "cache_dir").(string); dir != "" && readOnlyRoot {
			m, _, ok := mountFor(dir + "/x")
			if !ok || m.readOnly || dig(volumes[m.volume], "emptyDir") == nil {
				t.Errorf("%s: cache_dir %s needs a writable emptyDir mount: the root filesystem is read-only", id, dir)
			}
		}
		module, _ := dig(p, "module").(string)
		// Pulled modules are checked by TestKubernetesOCIModules.
		if strings.HasPrefix(module, "builtin:") || strings.HasPrefix(module, "oci://") || module == "" {
			continue
		}
		if !path.IsAbs(module) {
			t.Errorf("%s: module %q must be absolute: the operator does not set the working directory", id, module)
			continue
		}
		m, rel, ok := mountFor(module)
		if !ok {
			// Baked into the image: a custom image whose Dockerfile copies
			// the module to this very path.
			if image == stockImage {
				t.Errorf("%s: module %s is on no volumeMount, and the stock image %s does not contain it", id, module, image)
			}
			requireDockerfileCopy(t, id, dockerfileDir, module)
			continue
		}
		vol := volumes[m.volume]
		switch {
		case vol["configMap"] != nil:
			name, _ := dig(vol, "configMap", "name").(string)
			// Without items every key becomes a file of its own name; with
			// items only the listed ones appear, at their paths.
			key, items := rel, asList(dig(vol, "configMap", "items"))
			if len(items) > 0 {
				key = ""
				for _, it := range items {
					if dig(it, "path") == rel {
						key, _ = dig(it, "key").(string)
					}
				}
			}
			if key == "" {
				t.Errorf("%s: module %s: volume %s projects no ConfigMap item to path %q", id, module, m.volume, rel)
				continue
			}
			checkModuleConfigMap(t, id, name, key, c.namespace, configMaps)
		case vol["image"] != nil:
			if ref, _ := dig(vol, "image", "reference").(string); ref == "" {
				t.Errorf("%s: image volume %s has no reference", id, m.volume)
			}
			requireDockerfileCopy(t, id, dockerfileDir, "/"+rel)
		default:
			t.Errorf("%s: module %s is on volume %s, which is neither a ConfigMap nor an image volume; extend this test if that is intended", id, module, m.volume)
		}
	}
}

// requireDockerfileCopy fails unless dir/Dockerfile has a COPY whose
// destination is dest.
func requireDockerfileCopy(t *testing.T, id, dir, dest string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Errorf("%s: want a Dockerfile next to the manifest that puts the module at %s: %v", id, dest, err)
		return
	}
	for _, ins := range dockerInstructions(data) {
		if ins.cmd == "COPY" && len(ins.args) >= 2 && ins.args[len(ins.args)-1] == dest {
			return
		}
	}
	t.Errorf("%s: %s/Dockerfile has no COPY to %s, where the config expects the module", id, dir, dest)
}

// checkModuleConfigMap checks that the examples define the ConfigMap a
// module volume mounts, that it holds key as a gzip-compressed Wasm module,
// and that it fits the API server's size limit.
func checkModuleConfigMap(t *testing.T, id, name, key, namespace string, configMaps []manifest) {
	t.Helper()
	for _, m := range configMaps {
		if dig(m.doc, "metadata", "name") != name || dig(m.doc, "metadata", "namespace") != namespace {
			continue
		}
		total := 0
		for _, v := range asMap(m.doc["data"]) {
			s, _ := v.(string)
			total += len(s)
		}
		var module []byte
		for k, v := range asMap(m.doc["binaryData"]) {
			s, _ := v.(string)
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Errorf("%s: ConfigMap %s binaryData %s is not base64: %v", id, name, k, err)
				continue
			}
			total += len(b)
			if k == key {
				module = b
			}
		}
		if total > maxConfigMapBytes {
			t.Errorf("%s: ConfigMap %s holds %d bytes, over the API server's %d", id, name, total, maxConfigMapBytes)
		}
		if module == nil {
			t.Errorf("%s: ConfigMap %s has no binaryData key %q", id, name, key)
			return
		}
		if !strings.HasSuffix(key, ".wasm.gz") {
			t.Errorf("%s: ConfigMap key %q: want a .wasm.gz name, so wasmcol decompresses it", id, key)
		}
		zr, err := gzip.NewReader(bytes.NewReader(module))
		if err != nil {
			t.Errorf("%s: ConfigMap %s %s is not gzip: %v", id, name, key, err)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil || !bytes.HasPrefix(raw, []byte("\x00asm")) {
			t.Errorf("%s: ConfigMap %s %s does not decompress to a Wasm module (err %v)", id, name, key, err)
		}
		return
	}
	t.Errorf("%s: mounts ConfigMap %s/%s, which no manifest under examples/kubernetes defines", id, namespace, name)
}

// dockerInstruction is one Dockerfile instruction, continuation lines
// joined, with its arguments split on white space (JSON exec form is kept
// as written).
type dockerInstruction struct {
	cmd  string
	args []string
	raw  string
}

func dockerInstructions(data []byte) []dockerInstruction {
	var out []dockerInstruction
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		f := strings.Fields(line)
		out = append(out, dockerInstruction{cmd: strings.ToUpper(f[0]), args: f[1:], raw: strings.TrimSpace(strings.TrimPrefix(line, f[0]))})
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
