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
	"k8s.io/apimachinery/pkg/api/resource"
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

// examples is every YAML document under examples/kubernetes, by kind.
type examples struct {
	collectors map[string]collector // by "<name>.<namespace>"
	configMaps []manifest
	triggers   []manifest // Knative Triggers
	// patches are the documents without a kind: merge patches that the
	// docs apply with `kubectl patch --patch-file`, by file relative to
	// examples/kubernetes.
	patches map[string]manifest
}

func readExamples(t *testing.T) examples {
	t.Helper()
	ex := examples{collectors: map[string]collector{}, patches: map[string]manifest{}}
	for _, f := range yamlFiles(t, kubernetesDir) {
		rel, _ := filepath.Rel(kubernetesDir, f)
		for i, doc := range readYAMLDocs(t, f) {
			m := manifest{file: rel, index: i, doc: doc}
			switch kind, _ := doc["kind"].(string); kind {
			case "OpenTelemetryCollector":
				c := m.collector(t)
				if _, dup := ex.collectors[c.key()]; dup {
					t.Errorf("%s: a second OpenTelemetryCollector %s; the operator would manage them as one", m, c.key())
				}
				ex.collectors[c.key()] = c
			case "ConfigMap":
				ex.configMaps = append(ex.configMaps, m)
			case "Trigger":
				ex.triggers = append(ex.triggers, m)
			case "":
				if _, dup := ex.patches[rel]; dup {
					t.Errorf("%s: a second document without a kind; kubectl patch --patch-file takes one", m)
				}
				ex.patches[rel] = m
			}
		}
	}
	// The examples promise a main collector, three module deliveries and two
	// tiers; fewer means a file went missing or stopped parsing as expected.
	if len(ex.collectors) < 6 {
		t.Fatalf("found %d OpenTelemetryCollectors under %s, want at least 6", len(ex.collectors), kubernetesDir)
	}
	return ex
}

// exampleCollectors returns the OpenTelemetryCollectors under
// examples/kubernetes, by "<name>.<namespace>".
func exampleCollectors(t *testing.T) map[string]collector {
	t.Helper()
	return readExamples(t).collectors
}

// TestKubernetesManifests extracts spec.config from every
// OpenTelemetryCollector under examples/kubernetes, validates it with the
// binary the image packages, and checks that the names wiring the manifests
// together (Services, ports, volumes) agree with each other, and that the
// pod gets the memory limit its memory_limiter works from.
func TestKubernetesManifests(t *testing.T) {
	bin := wasmcolBinary(t)
	ex := readExamples(t)

	keys := make([]string, 0, len(ex.collectors))
	for k := range ex.collectors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := ex.collectors[k]
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := writeConfig(t, dir, "collector.yaml", c.config)
			checkValidate(t, runWasmcol(t, bin, dir, nil, "validate", "--config", path), "")
			checkLoadBalancingTargets(t, c, ex.collectors)
			checkModuleDelivery(t, c, kubernetesDir, ex.configMaps)
			checkMemoryLimit(t, c)
			checkReceiverBounds(t, c.String(), c.config)
		})
	}

	if len(ex.triggers) == 0 {
		t.Error("no Knative Trigger under examples/kubernetes: the cloudevents receiver's example sink is missing")
	}
	for _, m := range ex.triggers {
		t.Run(m.String(), func(t *testing.T) { checkTrigger(t, m, ex.collectors) })
	}
}

// TestNoClusterDomain: no manifest spells out the cluster domain. Clusters
// may run another domain than cluster.local; <service>.<namespace> resolves
// in any of them through the pod's DNS search list.
func TestNoClusterDomain(t *testing.T) {
	for _, f := range yamlFiles(t, kubernetesDir) {
		rel, _ := filepath.Rel(repoRoot, f)
		for i, doc := range readYAMLDocs(t, f) {
			walkStrings(doc, func(path, s string) {
				if strings.Contains(s, "cluster.local") {
					t.Errorf("%s#%d: %s = %q hard-codes the cluster domain; write <service>.<namespace> instead", rel, i, path, s)
				}
			})
		}
	}
}

// walkStrings calls fn with every string value under v and its path.
func walkStrings(v any, fn func(path, s string)) {
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case string:
			fn(path, v)
		case map[string]any:
			for k, e := range v {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("", v)
}

// checkMemoryLimit: memory_limiter's limit_percentage is a share of the
// container's memory limit (its cgroup); without a limit it is a share of
// the node's memory, and the kernel OOM-kills the pod before the limiter
// pushes back.
func checkMemoryLimit(t *testing.T, c collector) {
	t.Helper()
	for id, p := range asMap(c.config["processors"]) {
		if typ, _, _ := strings.Cut(id, "/"); typ != "memory_limiter" {
			continue
		}
		raw, _ := dig(c.doc, "spec", "resources", "limits", "memory").(string)
		if raw == "" {
			t.Errorf("%s configures %s but sets no spec.resources.limits.memory: the limiter would take its share of the node's memory, and the pod would be OOM-killed instead of pushing back", c, id)
			continue
		}
		limit, err := resource.ParseQuantity(raw)
		if err != nil {
			t.Errorf("%s: spec.resources.limits.memory %q: %v", c, raw, err)
			continue
		}
		if mib, ok := dig(p, "limit_mib").(int); ok && int64(mib)<<20 >= limit.Value() {
			t.Errorf("%s: %s.limit_mib %d is not below the container's memory limit %s: the kernel would kill the pod first", c, id, mib, raw)
		}
		if req, ok := dig(c.doc, "spec", "resources", "requests", "memory").(string); ok {
			if q, err := resource.ParseQuantity(req); err != nil || q.Cmp(limit) > 0 {
				t.Errorf("%s: requests.memory %q must parse and not exceed limits.memory %s", c, req, raw)
			}
		}
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

// checkReceiverBounds: every network receiver bounds what a client can
// make it hold. An OTLP gRPC stream that stops one byte short of its
// message holds what it was sent (250 streams of 4 MiB held 1,010 MiB), an
// HTTP body that stalls held its connection with no end, and a Zipkin
// request costs the square of its tags (round 15: 20 MiB, hours).
func checkReceiverBounds(t *testing.T, name string, config map[string]any) {
	t.Helper()
	for id, r := range asMap(config["receivers"]) {
		typ, _, _ := strings.Cut(id, "/")
		var servers []string
		switch typ {
		case "otlp":
			if dig(r, "protocols", "grpc") != nil {
				grpc := asMap(dig(r, "protocols", "grpc"))
				if n, _ := grpc["max_concurrent_streams"].(int); n <= 0 || n > 64 {
					t.Errorf("%s: %s.protocols.grpc.max_concurrent_streams %v, want 1-64", name, id, grpc["max_concurrent_streams"])
				}
				if dig(grpc, "keepalive", "server_parameters", "max_connection_age") == nil {
					t.Errorf("%s: %s.protocols.grpc sets no keepalive.server_parameters.max_connection_age", name, id)
				}
			}
			if dig(r, "protocols", "http") != nil {
				servers = append(servers, "protocols.http")
			}
		case "zipkin":
			if n, _ := asMap(r)["max_request_body_size"].(int); n <= 0 || n > 262144 {
				t.Errorf("%s: %s.max_request_body_size %v, want at most 262144", name, id, asMap(r)["max_request_body_size"])
			}
			servers = append(servers, "")
		}
		for _, path := range servers {
			srv := asMap(r)
			if path != "" {
				srv = asMap(dig(r, strings.Split(path, ".")...))
			}
			for _, key := range []string{"read_header_timeout", "read_timeout"} {
				if srv[key] == nil {
					t.Errorf("%s: %s %s sets no %s", name, id, path, key)
				}
			}
		}
	}
}

// TestShippedConfigBoundsReceivers: checkReceiverBounds on the default
// config.
func TestShippedConfigBoundsReceivers(t *testing.T) {
	docs := readYAMLDocs(t, filepath.Join(distroDir, "config.yaml"))
	if len(docs) != 1 {
		t.Fatalf("distro/config.yaml: %d documents, want 1", len(docs))
	}
	checkReceiverBounds(t, "distro/config.yaml", docs[0])
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
// <collector>-collector[-headless].<namespace>[.svc].
var serviceHost = regexp.MustCompile(`^(.+)-collector(-headless)?\.([a-z0-9-]+)(\.svc)?$`)

// targetCollector returns the example collector that host names, failing
// the test when none does.
func targetCollector(t *testing.T, where, host string, collectors map[string]collector) (collector, bool) {
	t.Helper()
	if strings.HasSuffix(host, ".cluster.local") {
		t.Errorf("%s: %q hard-codes the cluster domain, which clusters may change: write <service>.<namespace> and let the pod's DNS search list complete it", where, host)
		return collector{}, false
	}
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

// checkKnativeTracing checks the keys of Knative's config-tracing (up to
// 1.18) as a patch or the operator's spec.config.tracing sets them.
func checkKnativeTracing(t *testing.T, where string, data map[string]any, collectors map[string]collector) {
	t.Helper()
	if data["backend"] != "zipkin" {
		t.Errorf("%s: backend = %v, want zipkin", where, data["backend"])
	}
	checkSampleRate(t, where, data, "sample-rate")
	if _, ok := data["debug"].(string); !ok {
		t.Errorf("%s: debug = %#v, want a string (ConfigMap data)", where, data["debug"])
	}
	raw, _ := data["zipkin-endpoint"].(string)
	checkZipkinEndpoint(t, where, raw, collectors)
}

// checkZipkinEndpoint checks that a zipkin-endpoint reaches the Zipkin
// receiver of an example collector.
func checkZipkinEndpoint(t *testing.T, where, raw string, collectors map[string]collector) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Path != "/api/v2/spans" {
		t.Errorf("%s: zipkin-endpoint = %q, want http://<service>:<port>/api/v2/spans", where, raw)
		return
	}
	if c, ok := targetCollector(t, where+": zipkin-endpoint", u.Hostname(), collectors); ok {
		if p := receiverPort(c, "zipkin", "endpoint"); p != u.Port() {
			t.Errorf("%s: zipkin-endpoint port %s, but %s's zipkin receiver listens on port %q", where, u.Port(), c, p)
		}
	}
}

// checkKnativeObservability checks the keys of Knative's
// config-observability (1.19 on) as a patch or the operator's
// spec.config.observability sets them. Whether the OpenTelemetry SDK
// reaches the collector with them is TestOTLPEndpointsAsSourcesReadThem's
// part.
func checkKnativeObservability(t *testing.T, where string, data map[string]any) {
	t.Helper()
	checkSampleRate(t, where, data, "tracing-sampling-rate")
	if _, ok := data["tracing-endpoint"].(string); !ok {
		t.Errorf("%s: tracing-endpoint = %#v, want a string", where, data["tracing-endpoint"])
	}
	switch proto := data["tracing-protocol"]; proto {
	case "grpc", "http/protobuf":
	default:
		t.Errorf("%s: tracing-protocol = %v, want grpc or http/protobuf", where, proto)
	}
}

// checkSampleRate: the rate must be stated, as a string, and be 1. Knative
// samples at the source with it, and its defaults lose traces before
// wasmcol sees them: 0.1 for sample-rate (knative.dev/pkg tracing/config,
// up to 1.18), 0, nothing at all, for tracing-sampling-rate
// (observability/tracing, 1.19 on). wasmcol's sampler decides instead.
func checkSampleRate(t *testing.T, where string, data map[string]any, key string) {
	t.Helper()
	s, ok := data[key].(string)
	if !ok {
		t.Errorf("%s: %s = %#v, want the string \"1\": without it Knative's default drops traces at the source", where, key, data[key])
		return
	}
	if r, err := strconv.ParseFloat(s, 64); err != nil || r != 1 {
		t.Errorf("%s: %s = %q, want \"1\": sample in wasmcol, whose sampler keeps errors and cold starts", where, key, s)
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
