// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// distroDir holds the default config and its overlays.
var distroDir = filepath.Join(repoRoot, "distro")

// TestDistroConfigsValidate runs `wasmcol validate` on distro/config.yaml
// alone and merged with each export overlay, the way `make run` combines
// them, and checks that an overlay without its variable is rejected rather
// than exporting to nowhere.
func TestDistroConfigsValidate(t *testing.T) {
	bin := wasmcolBinary(t)
	const (
		base   = "config.yaml"
		otlp   = "export-otlp.yaml"
		jaeger = "export-jaeger.yaml"
	)
	otlpEnv := "WASMCOL_OTLP_ENDPOINT=127.0.0.1:4317"
	jaegerEnv := "WASMCOL_JAEGER_ENDPOINT=127.0.0.1:14250"
	cases := []struct {
		name    string
		files   []string
		env     []string
		wantErr string // empty: must validate
	}{
		{name: "default", files: []string{base}},
		{name: "otlp", files: []string{base, otlp}, env: []string{otlpEnv, "WASMCOL_OTLP_INSECURE=true"}},
		{name: "jaeger", files: []string{base, jaeger}, env: []string{jaegerEnv, "WASMCOL_JAEGER_INSECURE=true"}},
		{name: "otlp and jaeger", files: []string{base, otlp, jaeger}, env: []string{otlpEnv, jaegerEnv}},
		{name: "otlp without endpoint", files: []string{base, otlp}, wantErr: `otlp_grpc: requires a non-empty "endpoint"`},
		{name: "jaeger without endpoint", files: []string{base, jaeger}, wantErr: "jaeger: endpoint: must not be empty"},
		// A value the debug exporter rejects proves the variable reaches it.
		{name: "debug verbosity from env", files: []string{base}, env: []string{"WASMCOL_DEBUG_VERBOSITY=loud"}, wantErr: "loud"},
	}

	covered := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var args []string
			for _, f := range tc.files {
				covered[f] = true
				cfg := readYAMLDocs(t, filepath.Join(distroDir, f))
				if len(cfg) != 1 {
					t.Fatalf("%s: want one YAML document, got %d", f, len(cfg))
				}
				args = append(args, "--config", writeConfig(t, dir, f, cfg[0]))
			}
			res := runWasmcol(t, bin, dir, tc.env, append([]string{"validate"}, args...)...)
			checkValidate(t, res, tc.wantErr)
		})
	}

	shipped, err := filepath.Glob(filepath.Join(distroDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(shipped) == 0 {
		t.Fatalf("no configs in %s", distroDir)
	}
	for _, f := range shipped {
		if f = filepath.Base(f); !covered[f] {
			t.Errorf("distro/%s is shipped but no case validates it: add it to the table above", f)
		}
	}
}

// TestKubernetesManifests extracts spec.config from every
// OpenTelemetryCollector under examples/kubernetes, validates it with the
// binary the image packages, and checks that the names wiring the manifests
// together (Services, ports, URL paths) agree with each other.
func TestKubernetesManifests(t *testing.T) {
	bin := wasmcolBinary(t)
	root := filepath.Join(repoRoot, "examples", "kubernetes")

	files := yamlFiles(t, root)
	collectors := map[string]collector{} // by "<name>.<namespace>"
	var configMaps, triggers []manifest
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		for i, doc := range readYAMLDocs(t, f) {
			m := manifest{file: rel, index: i, doc: doc}
			switch kind, _ := doc["kind"].(string); kind {
			case "OpenTelemetryCollector":
				c := m.collector(t)
				if _, dup := collectors[c.key()]; dup {
					t.Errorf("%s: a second OpenTelemetryCollector %s; the operator would manage them as one", m, c.key())
				}
				collectors[c.key()] = c
			case "ConfigMap":
				configMaps = append(configMaps, m)
			case "Trigger":
				triggers = append(triggers, m)
			case "":
				t.Errorf("%s: no kind", m)
			}
		}
	}
	// The examples promise a main collector, three module deliveries and two
	// tiers; fewer means a file went missing or stopped parsing as expected.
	if len(collectors) < 6 {
		t.Fatalf("found %d OpenTelemetryCollectors under %s, want at least 6", len(collectors), root)
	}

	keys := make([]string, 0, len(collectors))
	for k := range collectors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := collectors[k]
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := writeConfig(t, dir, "collector.yaml", c.config)
			checkValidate(t, runWasmcol(t, bin, dir, nil, "validate", "--config", path), "")
			checkLoadBalancingTargets(t, c, collectors)
			checkModuleDelivery(t, c, root, configMaps)
		})
	}

	knative := 0
	for _, m := range configMaps {
		switch name, _ := dig(m.doc, "metadata", "name").(string); name {
		case "config-tracing":
			knative++
			t.Run(m.String(), func(t *testing.T) { checkKnativeTracing(t, m, collectors) })
		case "config-observability":
			knative++
			t.Run(m.String(), func(t *testing.T) { checkKnativeObservability(t, m, collectors) })
		}
	}
	if knative == 0 {
		t.Error("no Knative config-tracing or config-observability ConfigMap under examples/kubernetes")
	}

	if len(triggers) == 0 {
		t.Error("no Knative Trigger under examples/kubernetes: the cloudevents receiver's example sink is missing")
	}
	for _, m := range triggers {
		t.Run(m.String(), func(t *testing.T) { checkTrigger(t, m, collectors) })
	}
}

// checkTrigger checks that a Knative Trigger's subscriber is a collector's
// cloudevents receiver: the Service of a collector in the examples, on the
// port and path the receiver listens on, with that port declared in the
// collector's spec.ports (the operator infers Service ports only for the
// receivers it knows), and the receiver feeding a logs pipeline.
func checkTrigger(t *testing.T, m manifest, collectors map[string]collector) {
	if v := m.doc["apiVersion"]; v != "eventing.knative.dev/v1" {
		t.Errorf("apiVersion %v, want eventing.knative.dev/v1", v)
	}
	if b, _ := dig(m.doc, "spec", "broker").(string); b == "" {
		t.Error("spec.broker is empty")
	}
	raw, _ := dig(m.doc, "spec", "subscriber", "uri").(string)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		t.Fatalf("spec.subscriber.uri = %q, want http://<collector service>:<port>/<path>", raw)
	}
	c, ok := targetCollector(t, "spec.subscriber.uri", u.Hostname(), collectors)
	if !ok {
		return
	}
	port := receiverPort(c, "cloudevents", "endpoint")
	if port == "" {
		t.Fatalf("%s has no cloudevents receiver with an endpoint", c)
	}
	if u.Port() != port {
		t.Errorf("subscriber port %q, but %s's cloudevents receiver listens on port %q", u.Port(), c, port)
	}
	wantPath, _ := dig(c.config, "receivers", "cloudevents", "path").(string)
	if wantPath == "" {
		wantPath = "/"
	}
	if gotPath := cmp.Or(u.Path, "/"); gotPath != wantPath {
		t.Errorf("subscriber path %q, but %s's cloudevents receiver takes events at %q", gotPath, c, wantPath)
	}
	declared := false
	ports, _ := dig(c.doc, "spec", "ports").([]any)
	for _, p := range ports {
		if fmt.Sprint(dig(p, "port")) == port {
			declared = true
		}
	}
	if !declared {
		t.Errorf("%s's spec.ports does not declare port %s: the operator would not put it on the Service", c, port)
	}
	pipelines, _ := dig(c.config, "service", "pipelines").(map[string]any)
	used := false
	for id, p := range pipelines {
		if typ, _, _ := strings.Cut(id, "/"); typ != "logs" {
			continue
		}
		if list, _ := dig(p, "receivers").([]any); slices.Contains(list, any("cloudevents")) {
			used = true
		}
	}
	if !used {
		t.Errorf("%s: no logs pipeline receives from the cloudevents receiver", c)
	}
}

// manifest is one YAML document of a file under examples/kubernetes.
type manifest struct {
	file  string
	index int
	doc   map[string]any
}

func (m manifest) String() string { return fmt.Sprintf("%s#%d", m.file, m.index) }

// collector is an OpenTelemetryCollector resource.
type collector struct {
	manifest
	name, namespace string
	config          map[string]any
}

func (c collector) key() string    { return c.name + "." + c.namespace }
func (c collector) String() string { return c.file + "/" + c.name }

// collector checks the fields the operator and the wasmcol image rely on and
// returns the resource.
func (m manifest) collector(t *testing.T) collector {
	t.Helper()
	if v := m.doc["apiVersion"]; v != "opentelemetry.io/v1beta1" {
		t.Errorf("%s: apiVersion %v, want opentelemetry.io/v1beta1 (spec.config is an object only there)", m, v)
	}
	c := collector{manifest: m}
	c.name, _ = dig(m.doc, "metadata", "name").(string)
	c.namespace, _ = dig(m.doc, "metadata", "namespace").(string)
	if c.name == "" || c.namespace == "" {
		t.Errorf("%s: metadata.name and metadata.namespace are required (other manifests address the collector's Service by both)", m)
	}
	if img, _ := dig(m.doc, "spec", "image").(string); img == "" {
		t.Errorf("%s: spec.image must name a wasmcol image; the operator's default image has no wasm processor", m)
	}
	switch cfg := dig(m.doc, "spec", "config").(type) {
	case map[string]any:
		c.config = cfg
	case string:
		t.Errorf("%s: spec.config is a string; in v1beta1 it is a YAML object", m)
	default:
		t.Errorf("%s: spec.config missing", m)
	}
	return c
}

// writeConfig writes cfg as YAML into dir and returns its path.
func writeConfig(t *testing.T, dir, name string, cfg map[string]any) string {
	t.Helper()
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(name))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkValidate fails unless the run succeeded (wantErr empty) or failed
// with output containing wantErr.
func checkValidate(t *testing.T, res runResult, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && res.err != nil:
		t.Errorf("wasmcol validate failed: %v\n%s", res.err, res.out)
	case wantErr != "" && res.err == nil:
		t.Errorf("wasmcol validate succeeded, want an error containing %q; output:\n%s", wantErr, res.out)
	case wantErr != "" && !strings.Contains(res.out, wantErr):
		t.Errorf("wasmcol validate failed without naming %q:\n%s", wantErr, res.out)
	}
}

// serviceHost matches the in-cluster names of operator-made Services:
// <collector>-collector[-headless].<namespace>[.svc[.cluster.local]].
var serviceHost = regexp.MustCompile(`^(.+)-collector(-headless)?\.([a-z0-9-]+)(\.svc(\.cluster\.local)?)?$`)

// targetCollector returns the example collector that host names, failing
// the test when none does.
func targetCollector(t *testing.T, where, host string, collectors map[string]collector) (collector, bool) {
	t.Helper()
	m := serviceHost.FindStringSubmatch(host)
	if m == nil {
		t.Errorf("%s: %q is not an operator collector Service (<name>-collector.<namespace>)", where, host)
		return collector{}, false
	}
	c, ok := collectors[m[1]+"."+m[3]]
	if !ok {
		t.Errorf("%s: %q names collector %s.%s, which no example defines", where, host, m[1], m[3])
	}
	return c, ok
}

// receiverPort returns the port of the endpoint at keys under receivers.
func receiverPort(c collector, keys ...string) string {
	ep, _ := dig(c.config, append([]string{"receivers"}, keys...)...).(string)
	_, port, err := net.SplitHostPort(ep)
	if err != nil {
		return ""
	}
	return port
}

func checkKnativeTracing(t *testing.T, m manifest, collectors map[string]collector) {
	data, _ := m.doc["data"].(map[string]any)
	if data["backend"] != "zipkin" {
		t.Errorf("backend = %v, want zipkin", data["backend"])
	}
	checkSampleRate(t, data, "sample-rate")
	if _, ok := data["debug"].(string); !ok {
		t.Errorf("debug = %#v, want a string (ConfigMap data)", data["debug"])
	}
	raw, _ := data["zipkin-endpoint"].(string)
	u, err := url.Parse(raw)
	if err != nil || u.Path != "/api/v2/spans" {
		t.Fatalf("zipkin-endpoint = %q, want http://<service>:<port>/api/v2/spans", raw)
	}
	if c, ok := targetCollector(t, "zipkin-endpoint", u.Hostname(), collectors); ok {
		if p := receiverPort(c, "zipkin", "endpoint"); p != u.Port() {
			t.Errorf("zipkin-endpoint port %s, but %s's zipkin receiver listens on port %q", u.Port(), c, p)
		}
	}
}

func checkKnativeObservability(t *testing.T, m manifest, collectors map[string]collector) {
	data, _ := m.doc["data"].(map[string]any)
	checkSampleRate(t, data, "tracing-sampling-rate")
	raw, _ := data["tracing-endpoint"].(string)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("tracing-endpoint = %q, want a URL", raw)
	}
	c, ok := targetCollector(t, "tracing-endpoint", u.Hostname(), collectors)
	if !ok {
		return
	}
	switch proto := data["tracing-protocol"]; proto {
	case "http/protobuf":
		if u.Path != "/v1/traces" {
			t.Errorf("tracing-endpoint path %q, want /v1/traces for http/protobuf", u.Path)
		}
		if p := receiverPort(c, "otlp", "protocols", "http", "endpoint"); p != u.Port() {
			t.Errorf("tracing-endpoint port %s, but %s's OTLP HTTP receiver listens on port %q", u.Port(), c, p)
		}
	case "grpc":
		if p := receiverPort(c, "otlp", "protocols", "grpc", "endpoint"); p != u.Port() {
			t.Errorf("tracing-endpoint port %s, but %s's OTLP gRPC receiver listens on port %q", u.Port(), c, p)
		}
	default:
		t.Errorf("tracing-protocol = %v, want grpc or http/protobuf", proto)
	}
}

func checkSampleRate(t *testing.T, data map[string]any, key string) {
	t.Helper()
	s, ok := data[key].(string)
	if !ok {
		t.Errorf("%s = %#v, want a string (ConfigMap data)", key, data[key])
		return
	}
	if r, err := strconv.ParseFloat(s, 64); err != nil || r < 0 || r > 1 {
		t.Errorf("%s = %q, want a number in [0, 1]", key, s)
	}
}

// checkLoadBalancingTargets checks that every loadbalancing exporter
// resolves the headless Service of a collector in the examples, on a port
// where that collector has an OTLP gRPC receiver, so spans are routed to a
// tier that exists.
func checkLoadBalancingTargets(t *testing.T, c collector, collectors map[string]collector) {
	t.Helper()
	exporters, _ := c.config["exporters"].(map[string]any)
	for id, cfg := range exporters {
		if typ, _, _ := strings.Cut(id, "/"); typ != "loadbalancing" && typ != "load_balancing" {
			continue
		}
		if rk := dig(cfg, "routing_key"); rk != "traceID" {
			t.Errorf("%s: routing_key = %v, want traceID so each trace lands whole on one sampler", id, rk)
		}
		host, _ := dig(cfg, "resolver", "dns", "hostname").(string)
		port, _ := dig(cfg, "resolver", "dns", "port").(string)
		if host == "" {
			t.Errorf("%s: want resolver.dns.hostname naming the sampling tier's headless Service", id)
			continue
		}
		if !strings.Contains(host, "-collector-headless.") {
			t.Errorf("%s: %q is not a headless Service; DNS would return one virtual IP and route everything to it", id, host)
		}
		target, ok := targetCollector(t, id, host, collectors)
		if !ok {
			continue
		}
		if p := receiverPort(target, "otlp", "protocols", "grpc", "endpoint"); p != port {
			t.Errorf("%s: resolver port %q, but %s's OTLP gRPC receiver listens on port %q", id, port, target, p)
		}
		pipelines, _ := dig(c.config, "service", "pipelines").(map[string]any)
		used := false
		for _, p := range pipelines {
			if list, _ := dig(p, "exporters").([]any); slices.Contains(list, any(id)) {
				used = true
			}
		}
		if !used {
			t.Errorf("%s is defined but no pipeline exports to it", id)
		}
	}
}
