// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Knative's ConfigMaps come from its release YAML, installed with
// `kubectl apply`, or from the Knative Operator, which rewrites them from
// the spec.config of its KnativeServing and KnativeEventing resources. So
// the examples ship merge patches, applied with `kubectl patch --type
// merge`: an apply of a ConfigMap would, in its three-way merge, delete the
// _example key, labels and annotations that the release's apply set, and
// under the operator a patch of the ConfigMap would be undone.

// knativeEras maps the operator's spec.config key (the ConfigMap's name,
// whose config- prefix the operator lets one leave out) to the ConfigMap.
var knativeEras = map[string]string{
	"tracing":              "config-tracing",
	"config-tracing":       "config-tracing",
	"observability":        "config-observability",
	"config-observability": "config-observability",
}

// knativeTarget is what one `kubectl patch` command in the docs patches.
type knativeTarget struct {
	kind      string // configmap, knativeserving or knativeeventing
	namespace string
	configMap string // config-tracing or config-observability
}

// TestKnativePatches follows every `kubectl patch` command in the docs to
// its --patch-file and checks the command and the keys it sets: for each
// era, the ConfigMap in both knative-serving and knative-eventing and both
// operator resources, all with the same keys.
func TestKnativePatches(t *testing.T) {
	ex := readExamples(t)
	used := map[string]bool{}
	covered := map[knativeTarget]bool{}
	keysBy := map[string]map[string]any{} // ConfigMap -> keys, from the first patch seen
	keysFrom := map[string]string{}

	for _, c := range kubectlCommands(t) {
		if c.verb() != "patch" || len(c.positional()) == 0 {
			continue // prose naming the command, not a command to run
		}
		where := c.where + ": " + c.String()
		if typ, _ := c.flag("--type", ""); typ != "merge" {
			t.Errorf("%s: want --type merge, which sets the listed keys and nothing else (strategic merge patches do not work on custom resources)", where)
		}
		ns, ok := c.flag("--namespace", "-n")
		if !ok || ns == "" {
			t.Errorf("%s: no -n: kubectl would patch in the current namespace", where)
		}
		file, ok := c.flag("--patch-file", "")
		if !ok {
			t.Errorf("%s: want --patch-file naming one of the patches under examples/kubernetes", where)
			continue
		}
		p, ok := ex.patches[filepath.Clean(file)]
		if !ok {
			t.Errorf("%s: --patch-file %s is not a document without a kind under examples/kubernetes", where, file)
			continue
		}
		used[filepath.Clean(file)] = true

		kind, name := c.positional()[0], ""
		if k, n, slash := strings.Cut(kind, "/"); slash {
			kind, name = k, n
		} else if len(c.positional()) > 1 {
			name = c.positional()[1]
		}
		var data map[string]any
		target := knativeTarget{kind: strings.ToLower(kind), namespace: ns}
		switch target.kind {
		case "configmap", "configmaps", "cm":
			target.kind = "configmap"
			target.configMap = name
			if ns != "knative-serving" && ns != "knative-eventing" {
				t.Errorf("%s: Knative's ConfigMaps live in knative-serving and knative-eventing, not %q", where, ns)
			}
			if len(p.doc) != 1 || p.doc["data"] == nil {
				t.Errorf("%s: %s should hold only data:, the keys to set", where, file)
			}
			data = asMap(p.doc["data"])
		case "knativeserving", "knativeeventing":
			if want := map[string]string{"knativeserving": "knative-serving", "knativeeventing": "knative-eventing"}[target.kind]; ns != want {
				t.Errorf("%s: the operator's %s lives in %s in Knative's docs, not %q", where, kind, want, ns)
			}
			config := asMap(dig(p.doc, "spec", "config"))
			if len(p.doc) != 1 || len(asMap(p.doc["spec"])) != 1 || len(config) != 1 {
				t.Errorf("%s: %s should hold only spec.config.<configmap>, the keys to set", where, file)
			}
			for k, v := range config {
				target.configMap = knativeEras[k]
				data = asMap(v)
			}
		default:
			t.Errorf("%s: patches a %s; the examples patch Knative's ConfigMaps or the operator's KnativeServing/KnativeEventing", where, kind)
			continue
		}
		switch target.configMap {
		case "config-tracing":
			checkKnativeTracing(t, where, data, ex.collectors)
		case "config-observability":
			checkKnativeObservability(t, where, data)
		default:
			t.Errorf("%s: patches ConfigMap %q; Knative reads tracing settings from config-tracing (up to 1.18) or config-observability (1.19 on)", where, target.configMap)
			continue
		}
		covered[target] = true
		if prev, ok := keysBy[target.configMap]; !ok {
			keysBy[target.configMap], keysFrom[target.configMap] = data, where
		} else if !reflect.DeepEqual(prev, data) {
			t.Errorf("%s sets %v for %s, but %s sets %v: the two ways to install Knative must get the same keys", where, data, target.configMap, keysFrom[target.configMap], prev)
		}
	}

	for f, m := range ex.patches {
		if !used[f] {
			t.Errorf("%s has no kind, and no `kubectl patch --patch-file` command in the docs uses it", m)
		}
	}
	for _, cm := range []string{"config-tracing", "config-observability"} {
		for _, want := range []knativeTarget{
			{kind: "configmap", namespace: "knative-serving", configMap: cm},
			{kind: "configmap", namespace: "knative-eventing", configMap: cm},
			{kind: "knativeserving", namespace: "knative-serving", configMap: cm},
			{kind: "knativeeventing", namespace: "knative-eventing", configMap: cm},
		} {
			if !covered[want] {
				t.Errorf("no `kubectl patch` command in the docs sets %s through %s in %s", cm, want.kind, want.namespace)
			}
		}
	}
}

// TestKubectlCommands checks the other kubectl commands the docs give:
// nothing applies a patch as a manifest or a Knative ConfigMap, every file
// applied exists, and a ConfigMap or Secret is created in the namespace of
// the collectors that mount it.
func TestKubectlCommands(t *testing.T) {
	ex := readExamples(t)
	created := 0
	for _, c := range kubectlCommands(t) {
		where := c.where + ": " + c.String()
		pos := c.positional()
		switch c.verb() {
		case "apply":
			for i, a := range c.args {
				if a != "-f" && a != "--filename" || i+1 >= len(c.args) || c.args[i+1] == "-" {
					continue
				}
				f := filepath.Clean(c.args[i+1])
				if _, isPatch := ex.patches[f]; isPatch {
					t.Errorf("%s: %s is a merge patch, for `kubectl patch --type merge --patch-file`", where, f)
				}
				if _, err := os.Stat(filepath.Join(kubernetesDir, f)); err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				for _, doc := range readYAMLDocs(t, filepath.Join(kubernetesDir, f)) {
					ns, _ := dig(doc, "metadata", "namespace").(string)
					if doc["kind"] == "ConfigMap" && strings.HasPrefix(ns, "knative-") {
						t.Errorf("%s: applying Knative's ConfigMaps deletes what Knative's own install set; patch them", where)
					}
				}
			}
		case "create":
			// kubectl create configmap NAME, kubectl create secret TYPE NAME
			var name string
			switch {
			case len(pos) >= 2 && pos[0] == "configmap":
				name = pos[1]
			case len(pos) >= 3 && pos[0] == "secret":
				name = pos[2]
			default:
				continue
			}
			created++
			ns, ok := c.flag("--namespace", "-n")
			if !ok || ns == "" {
				t.Errorf("%s: no -n: the %s would land in the current namespace, and a pod mounting it would wait in ContainerCreating", where, pos[0])
				continue
			}
			// A collector uses it if its spec (outside the collector's own
			// config) names it: a volume, an image pull secret, an env ref.
			used := 0
			for _, col := range ex.collectors {
				refs := 0
				walkStrings(dig(col.doc, "spec"), func(path, s string) {
					if s == name && objectRef.MatchString(path) {
						refs++
					}
				})
				if refs == 0 {
					continue
				}
				used++
				if col.namespace != ns {
					t.Errorf("%s: created in %s, but %s uses it from %s", where, ns, col, col.namespace)
				}
			}
			if used == 0 {
				t.Errorf("%s: no example collector uses %s %s", where, pos[0], name)
			}
		}
	}
	if created == 0 {
		t.Error("the docs create no ConfigMap with kubectl; the ConfigMap way of shipping a filter should show how")
	}
}

// objectRef matches the paths in a pod spec that name a ConfigMap or Secret.
var objectRef = regexp.MustCompile(`(\.configMap\.name|\.secret\.secretName|\.imagePullSecrets\[\d+\]\.name|(KeyRef|Ref)\.name)$`)

// TestZipkinEndpointsInDocs: wherever the docs give Knative (up to 1.18) a
// zipkin-endpoint, it reaches an example collector's Zipkin receiver, and
// sample-rate stands beside it, at 1.
func TestZipkinEndpointsInDocs(t *testing.T) {
	collectors := exampleCollectors(t)
	found := 0
	for _, f := range docFiles(t) {
		for _, b := range docBlocks(t, f) {
			for _, ep := range b.values("zipkin-endpoint") {
				found++
				checkZipkinEndpoint(t, b.where, ep, collectors)
				rates := b.values("sample-rate")
				data := map[string]any{}
				if len(rates) == 1 {
					data["sample-rate"] = rates[0]
				}
				checkSampleRate(t, b.where, data, "sample-rate")
			}
		}
	}
	if found == 0 {
		t.Error("the docs give Knative up to 1.18 no zipkin-endpoint")
	}
}
