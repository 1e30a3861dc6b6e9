// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// otlpInstruction is one place where the docs tell a source where to send
// OTLP, with the values that stand beside it.
type otlpInstruction struct {
	where    string
	source   string // knative, env (the KEDA interceptor) or coinflip
	variable string // env: the variable that holds the endpoint
	endpoint string
	protocol string // grpc or http/protobuf
	sampling string // knative: tracing-sampling-rate as written, "" if absent
}

func (o otlpInstruction) String() string {
	return fmt.Sprintf("%s: %s endpoint %q (%s)", o.where, o.source, o.endpoint, o.protocol)
}

// otlpInstructions collects every OTLP endpoint the docs give a source,
// and fails for one that leaves out what the source needs beside it.
func otlpInstructions(t *testing.T) []otlpInstruction {
	t.Helper()
	var out []otlpInstruction
	one := func(b docBlock, key string) string {
		vs := b.values(key)
		if len(vs) > 1 {
			t.Errorf("%s: %d values for %s in one instruction (%v): which one applies?", b.where, len(vs), key, vs)
		}
		if len(vs) == 0 {
			return ""
		}
		return vs[0]
	}
	for _, f := range docFiles(t) {
		for _, b := range docBlocks(t, f) {
			for _, ep := range b.values("tracing-endpoint") {
				o := otlpInstruction{where: b.where, source: "knative", endpoint: ep, protocol: one(b, "tracing-protocol"), sampling: one(b, "tracing-sampling-rate")}
				if o.protocol == "" {
					t.Errorf("%s: tracing-endpoint %s without tracing-protocol beside it", b.where, ep)
					continue
				}
				out = append(out, o)
			}
			for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
				for _, ep := range b.values(v) {
					proto := one(b, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
					if proto == "" {
						proto = one(b, "OTEL_EXPORTER_OTLP_PROTOCOL")
					}
					if proto == "" {
						// The KEDA interceptor's default protocol is "console":
						// without one it prints spans instead of sending them.
						t.Errorf("%s: %s=%s without OTEL_EXPORTER_OTLP_TRACES_PROTOCOL beside it", b.where, v, ep)
						continue
					}
					out = append(out, otlpInstruction{where: b.where, source: "env", variable: v, endpoint: ep, protocol: proto})
				}
			}
			for _, ep := range b.values("OTLP_TRACE_ENDPOINT") {
				out = append(out, otlpInstruction{where: b.where, source: "coinflip", variable: "OTLP_TRACE_ENDPOINT", endpoint: ep, protocol: "grpc"})
			}
		}
	}
	return out
}

// TestOTLPEndpointsAsSourcesReadThem hands every OTLP endpoint in the docs
// and manifests to the real OpenTelemetry Go SDK the way its source does,
// exports one span, and checks that the SDK dials the example collector's
// Service on its receiver's port, in plaintext, and that the span arrives:
//
//   - Knative 1.19+ (knative.dev/pkg observability/tracing, release-1.19):
//     tracing-endpoint goes through endpointFor, which prefixes https://
//     when the value has no scheme, into otlptrace{grpc,http}.WithEndpointURL;
//     tracing-sampling-rate picks the sampler as sampleFor does, 0 (the
//     default) meaning NeverSample. Both are replicated below.
//   - The KEDA HTTP add-on interceptor (pkg/observability/tracing.go):
//     otlptracegrpc.New(ctx) or otlptracehttp.New(ctx) with no option, so
//     the SDK reads OTEL_EXPORTER_OTLP_* itself.
//   - coinflip (benmoss/knative-eventing-tracing, cmd/coinflip/main.go):
//     otlptracegrpc.WithInsecure() and WithEndpoint(os.Getenv("OTLP_TRACE_ENDPOINT")).
//
// The only addition is where the connection goes: a gRPC resolver or an
// HTTP dialer records the address the SDK asks for and connects to the
// Collector's own OTLP receiver on loopback instead, since the cluster's
// Service name does not resolve here. Neither touches how the SDK parses
// the endpoint or chooses TLS.
func TestOTLPEndpointsAsSourcesReadThem(t *testing.T) {
	collectors := exampleCollectors(t)
	instructions := otlpInstructions(t)
	count := map[string]int{}
	for _, o := range instructions {
		count[o.source]++
	}
	for _, s := range []string{"knative", "env", "coinflip"} {
		if count[s] == 0 {
			t.Errorf("the docs give no OTLP endpoint for %s; the collection above found %v", s, count)
		}
	}
	checkReadmesAgree(t, instructions)
	recv := startLocalOTLP(t)
	for i, o := range instructions {
		t.Run(o.where, func(t *testing.T) {
			name := "probe-" + strconv.Itoa(i)
			dialed, err := exportAsSource(t, o, name, recv)
			if err != nil {
				t.Fatalf("%s: %v", o, err)
			}
			host, port, err := net.SplitHostPort(dialed)
			if err != nil || host == "" {
				t.Fatalf("%s: the SDK dials %q, which names no host: the source exports nothing", o, dialed)
			}
			c, ok := targetCollector(t, o.String(), host, collectors)
			if !ok {
				return
			}
			keys := []string{"otlp", "protocols", "grpc", "endpoint"}
			if o.protocol == "http/protobuf" {
				keys[2] = "http"
			}
			if want := receiverPort(c, keys...); port != want {
				t.Errorf("%s: the SDK dials port %s, but %s's OTLP %s receiver listens on port %q", o, port, c, keys[2], want)
			}
			if !recv.received(name) {
				t.Errorf("%s: the export succeeded but span %s never reached the receiver", o, name)
			}
		})
	}
}

// exportAsSource builds the exporter and sampler as o's source would,
// exports one span named name, and returns the address the SDK dialed.
func exportAsSource(t *testing.T, o otlpInstruction, name string, recv *localOTLP) (string, error) {
	t.Helper()
	// Variables from the developer's shell would override what is tested.
	for _, v := range []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
		"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var dial dialRecorder
	grpcTo := otlptracegrpc.WithDialOption(grpc.WithResolvers(dial.resolver(recv.grpcAddr)))
	httpTo := otlptracehttp.WithHTTPClient(dial.httpClient(recv.httpAddr))

	var (
		exp     sdktrace.SpanExporter
		err     error
		sampler = sdktrace.AlwaysSample()
	)
	switch o.source {
	case "knative":
		var ep string
		if ep, err = knativeEndpoint(o.endpoint); err != nil {
			return "", err
		}
		if sampler, err = knativeSampler(o.sampling); err != nil {
			return "", err
		}
		switch o.protocol {
		case "grpc":
			exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(ep), grpcTo)
		case "http/protobuf":
			exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(ep), httpTo)
		default:
			return "", fmt.Errorf("tracing-protocol %q: Knative accepts grpc, http/protobuf, none or stdout, and only the first two export", o.protocol)
		}
	case "env":
		t.Setenv(o.variable, o.endpoint)
		switch o.protocol {
		case "grpc":
			exp, err = otlptracegrpc.New(ctx, grpcTo)
		case "http/protobuf":
			exp, err = otlptracehttp.New(ctx, httpTo)
		default:
			return "", fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL %q: the KEDA interceptor exports only with grpc or http/protobuf", o.protocol)
		}
	case "coinflip":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithInsecure(), otlptracegrpc.WithEndpoint(o.endpoint), grpcTo)
	}
	if err != nil {
		return "", fmt.Errorf("creating the exporter: %w", err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec))
	_, span := tp.Tracer("shipped").Start(ctx, name)
	span.End()
	ended := rec.Ended()
	if len(ended) == 0 {
		return "", fmt.Errorf("the source's sampler dropped the span: tracing-sampling-rate %q samples nothing (Knative's default is 0)", o.sampling)
	}
	if err := exp.ExportSpans(ctx, ended); err != nil {
		return dial.address(), fmt.Errorf("exporting (the SDK dialed %q): %w", dial.address(), err)
	}
	return dial.address(), nil
}

// knativeEndpoint is endpointFor of knative.dev/pkg observability/tracing
// (release-1.19): an endpoint that parses with an opaque part, i.e. one
// without a scheme, is taken as https.
func knativeEndpoint(ep string) (string, error) {
	u, err := url.Parse(ep)
	if err != nil {
		return "", fmt.Errorf("Knative fails to parse tracing-endpoint %q: %w", ep, err)
	}
	if u.Opaque != "" {
		ep = "https://" + ep
	}
	return ep, nil
}

// knativeSampler is sampleFor of knative.dev/pkg observability/tracing
// (release-1.19), after tracing.NewFromMap parsed tracing-sampling-rate
// (absent: 0).
func knativeSampler(raw string) (sdktrace.Sampler, error) {
	rate := 0.0
	if raw != "" {
		r, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("tracing-sampling-rate %q: Knative fails to parse it: %w", raw, err)
		}
		if r < 0 || r > 1 {
			return nil, fmt.Errorf("tracing-sampling-rate %q: Knative rejects a rate outside [0, 1]", raw)
		}
		rate = r
	}
	switch {
	case rate >= 1:
		return sdktrace.AlwaysSample(), nil
	case rate <= 0:
		return sdktrace.NeverSample(), nil
	}
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate)), nil
}

// dialRecorder remembers the address an exporter asked to connect to and
// connects it to a local receiver instead.
type dialRecorder struct {
	mu   sync.Mutex
	addr string
	set  bool
}

func (d *dialRecorder) record(addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addr, d.set = addr, true
}

func (d *dialRecorder) address() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.set {
		return "(nothing dialed)"
	}
	return d.addr
}

// resolver serves gRPC's default "dns" scheme, which grpc.NewClient uses
// for a target such as host:port: it records the target's endpoint and
// resolves it to local.
func (d *dialRecorder) resolver(local string) resolver.Builder {
	r := manual.NewBuilderWithScheme("dns")
	r.BuildCallback = func(target resolver.Target, _ resolver.ClientConn, _ resolver.BuildOptions) {
		d.record(target.Endpoint())
	}
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: local}}})
	return r
}

// httpClient records the host:port a request is for and connects to
// local; TLS, if the SDK chose https, is still negotiated over it.
func (d *dialRecorder) httpClient(local string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d.record(addr)
			var dialer net.Dialer
			return dialer.DialContext(ctx, network, local)
		},
	}}
}

// localOTLP is the Collector's own OTLP receiver on loopback, gRPC and
// HTTP, standing in for wasmcol's.
type localOTLP struct {
	grpcAddr, httpAddr string
	sink               *consumertest.TracesSink
}

func startLocalOTLP(t *testing.T) *localOTLP {
	t.Helper()
	l := &localOTLP{grpcAddr: freeLoopbackAddr(t), httpAddr: freeLoopbackAddr(t), sink: new(consumertest.TracesSink)}
	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig()
	raw := map[string]any{"protocols": map[string]any{
		"grpc": map[string]any{"endpoint": l.grpcAddr},
		"http": map[string]any{"endpoint": l.httpAddr},
	}}
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		t.Fatalf("configuring the OTLP receiver: %v", err)
	}
	rcv, err := factory.CreateTraces(context.Background(), receivertest.NewNopSettings(factory.Type()), cfg, l.sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatalf("starting the OTLP receiver: %v", err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
	return l
}

// received reports whether a span with this name reached the receiver.
func (l *localOTLP) received(name string) bool {
	for _, td := range l.sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			ss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < ss.Len(); j++ {
				spans := ss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					if spans.At(k).Name() == name {
						return true
					}
				}
			}
		}
	}
	return false
}

// freeLoopbackAddr returns a 127.0.0.1 address that was free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// checkReadmesAgree: the top-level README and the Kubernetes README give
// each source the same settings, so a reader of either gets the same
// answer.
func checkReadmesAgree(t *testing.T, instructions []otlpInstruction) {
	t.Helper()
	readmes := []string{"README.md", filepath.Join("examples", "kubernetes", "README.md")}
	given := map[string]map[string]string{} // source -> readme -> settings
	for _, o := range instructions {
		file, _, _ := strings.Cut(o.where, ":")
		if file != readmes[0] && file != readmes[1] {
			continue
		}
		if given[o.source] == nil {
			given[o.source] = map[string]string{}
		}
		settings := fmt.Sprintf("%s=%s, protocol %s", o.variable, o.endpoint, o.protocol)
		if o.source == "knative" {
			settings = fmt.Sprintf("tracing-protocol: %s, tracing-endpoint: %s, tracing-sampling-rate: %s", o.protocol, o.endpoint, o.sampling)
		}
		if prev, ok := given[o.source][file]; ok && prev != settings {
			t.Errorf("%s gives %s two different settings: %s and %s", file, o.source, prev, settings)
		}
		given[o.source][file] = settings
	}
	for source, byFile := range given {
		if a, b := byFile[readmes[0]], byFile[readmes[1]]; a != b {
			t.Errorf("the READMEs disagree on %s: %s says %q, %s says %q", source, readmes[0], a, readmes[1], b)
		}
	}
}
