// SPDX-License-Identifier: Apache-2.0

// Package jaegertest runs a real Jaeger all-in-one for tests, on loopback
// ports only, and reads back what it stored through Jaeger's HTTP query API.
//
//	j := jaegertest.Run(t)                      // fails t if the binary is missing
//	cfg.ClientConfig.Endpoint = j.CollectorGRPC // api_v2 CollectorService (14250-style)
//	tr, err := j.Trace(ctx, "0af7651916cd43dd8448eb211c80319c")
//
// # Notes
//   - The binary comes from `make jaeger` (bin/all-in-one at the repository
//     root) or from $JAEGER_ALL_IN_ONE. A missing binary fails the test; it
//     never skips, so CI cannot pass without having talked to Jaeger.
//   - Every listening port is passed explicitly and bound to 127.0.0.1, so
//     parallel instances and other processes on the machine do not collide.
//   - Storage is in memory; the process is stopped in tb.Cleanup.
package jaegertest // import "github.com/wasmcol/wasmcol/exporters/jaegerexporter/jaegertest"

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBinary names the environment variable that overrides the binary path.
const EnvBinary = "JAEGER_ALL_IN_ONE"

// ErrNotFound is returned by Trace when Jaeger has no trace with that ID.
var ErrNotFound = errors.New("jaeger: trace not found")

// Binary returns the path of the Jaeger all-in-one binary, or fails tb with
// the command that installs it.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%s=%s: %v (unset it and run make jaeger)", EnvBinary, p, err)
		}
		return p
	}
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("locating the repository root for bin/all-in-one: %v; run make jaeger or set %s", err, EnvBinary)
	}
	p := filepath.Join(root, "bin", "all-in-one")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("Jaeger all-in-one not found at %s: run make jaeger (or set %s)", p, EnvBinary)
	}
	return p
}

// repoRoot is the nearest ancestor of the working directory holding a
// go.mod; go test runs in the package directory, inside the root module.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Option changes how Jaeger is started.
type Option func(*options)

type options struct {
	args []string
}

// WithArgs appends command-line flags, e.g. "--memory.max-traces=1000".
func WithArgs(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// Jaeger is one all-in-one process. Its addresses are fixed by New, before
// Start, so a client can be pointed at a Jaeger that is not up yet.
type Jaeger struct {
	// CollectorGRPC is host:port of jaeger.api_v2.CollectorService, the
	// port 14250 of a default install.
	CollectorGRPC string
	// OTLPGRPC and OTLPHTTP are Jaeger's OTLP receivers (4317 and 4318).
	OTLPGRPC string
	OTLPHTTP string
	// QueryURL is the base URL of the query HTTP API (16686).
	QueryURL string
	// AdminURL serves the health check and Prometheus /metrics (14269).
	AdminURL string

	bin     string
	args    []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Run is New followed by Start.
func Run(tb testing.TB, opts ...Option) *Jaeger {
	tb.Helper()
	j := New(tb, opts...)
	j.Start(tb)
	return j
}

// New locates the binary and chooses free loopback ports, without starting
// anything.
func New(tb testing.TB, opts ...Option) *Jaeger {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin := Binary(tb)

	tcp := freePorts(tb, "tcp", 9)
	udp := freePorts(tb, "udp", 3)
	j := &Jaeger{
		CollectorGRPC: tcp[0],
		OTLPGRPC:      tcp[1],
		OTLPHTTP:      tcp[2],
		QueryURL:      "http://" + tcp[3],
		AdminURL:      "http://" + tcp[4],
		bin:           bin,
		logPath:       filepath.Join(tb.TempDir(), "jaeger.log"),
	}
	j.args = append([]string{
		"--collector.grpc-server.host-port=" + tcp[0],
		"--collector.otlp.enabled=true",
		"--collector.otlp.grpc.host-port=" + tcp[1],
		"--collector.otlp.http.host-port=" + tcp[2],
		"--query.http-server.host-port=" + tcp[3],
		"--admin.http.host-port=" + tcp[4],
		"--query.grpc-server.host-port=" + tcp[5],
		"--collector.http-server.host-port=" + tcp[6],
		"--collector.zipkin.host-port=" + tcp[7],
		"--http-server.host-port=" + tcp[8], // the agent's sampling endpoint (5778)
		"--processor.jaeger-compact.server-host-port=" + udp[0],
		"--processor.jaeger-binary.server-host-port=" + udp[1],
		"--processor.zipkin-compact.server-host-port=" + udp[2],
		// The embedded agent would otherwise dial the collector on :14250.
		"--reporter.grpc.host-port=" + tcp[0],
	}, o.args...)
	return j
}

// freePorts returns n distinct loopback addresses that were free a moment
// ago. All are held open together so that the n are distinct.
func freePorts(tb testing.TB, network string, n int) []string {
	tb.Helper()
	addrs := make([]string, 0, n)
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	for range n {
		switch network {
		case "tcp":
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				tb.Fatalf("reserving a loopback TCP port: %v", err)
			}
			closers = append(closers, l.Close)
			addrs = append(addrs, l.Addr().String())
		case "udp":
			c, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				tb.Fatalf("reserving a loopback UDP port: %v", err)
			}
			closers = append(closers, c.Close)
			addrs = append(addrs, c.LocalAddr().String())
		}
	}
	return addrs
}

// Start runs the process and waits until its health check reports it
// available and its collector port accepts connections. It registers a
// cleanup that stops the process and, if the test failed, logs the tail of
// Jaeger's own log.
func (j *Jaeger) Start(tb testing.TB) {
	tb.Helper()
	j.mu.Lock()
	if j.cmd != nil {
		j.mu.Unlock()
		tb.Fatal("jaegertest: Start called twice")
	}
	logFile, err := os.OpenFile(j.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		j.mu.Unlock()
		tb.Fatal(err)
	}
	cmd := exec.Command(j.bin, j.args...)
	cmd.Dir = filepath.Dir(j.logPath)
	// A fixed environment: an inherited SPAN_STORAGE_TYPE or COLLECTOR_*
	// would change what is being tested. JAEGER_DISABLED turns off Jaeger's
	// self-tracing, whose jaeger-client would otherwise send UDP to the
	// default agent port 6831, i.e. to whatever else runs on this machine.
	cmd.Env = []string{
		"SPAN_STORAGE_TYPE=memory",
		"JAEGER_DISABLED=true",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		j.mu.Unlock()
		_ = logFile.Close()
		tb.Fatalf("starting %s: %v", j.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(done)
	}()
	j.cmd, j.done = cmd, done
	j.mu.Unlock()

	tb.Cleanup(func() {
		j.Stop()
		if tb.Failed() {
			tb.Logf("last lines of Jaeger's log (%s):\n%s", j.logPath, j.logTail(40))
		}
	})

	if err := j.waitReady(30 * time.Second); err != nil {
		tb.Fatalf("Jaeger did not become ready: %v\nlast lines of its log:\n%s", err, j.logTail(40))
	}
}

func (j *Jaeger) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-j.done:
			return errors.New("process exited during startup (a port taken in the meantime?)")
		default:
		}
		lastErr = func() error {
			resp, err := client.Get(j.AdminURL + "/")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health check: %s", resp.Status)
			}
			for _, addr := range []string{j.CollectorGRPC, j.OTLPGRPC, strings.TrimPrefix(j.QueryURL, "http://")} {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					return err
				}
				_ = c.Close()
			}
			return nil
		}()
		if lastErr == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("after %v: %w", timeout, lastErr)
}

// Stop ends the process: SIGTERM, then SIGKILL if it has not exited within
// five seconds. It is safe to call more than once; Start registers it as a
// cleanup.
func (j *Jaeger) Stop() {
	j.mu.Lock()
	cmd, done := j.cmd, j.done
	j.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (j *Jaeger) logTail(n int) string {
	b, err := os.ReadFile(j.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Trace is one trace as the query API returns it (Jaeger's UI JSON model).
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
	Warnings  []string           `json:"warnings"`
}

// Span is a span in the query API's model. Times are in microseconds.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"`
	Duration      int64       `json:"duration"`
	Tags          []KeyValue  `json:"tags"`
	Logs          []Log       `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`
}

// Reference is a span reference; RefType is CHILD_OF or FOLLOWS_FROM.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a tag or log field. Type is one of string, bool, int64,
// float64 or binary. Numbers decode as json.Number so int64 stays exact;
// binary values are base64 strings.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Log is a span log (an OpenTelemetry span event).
type Log struct {
	Timestamp int64      `json:"timestamp"`
	Fields    []KeyValue `json:"fields"`
}

// Process is the emitting service of a batch (an OpenTelemetry resource).
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// Find returns the first key-value with the given key.
func Find(kvs []KeyValue, key string) (KeyValue, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv, true
		}
	}
	return KeyValue{}, false
}

// SpanByName returns the first span with the given operation name.
func (t Trace) SpanByName(name string) (Span, bool) {
	for _, s := range t.Spans {
		if s.OperationName == name {
			return s, true
		}
	}
	return Span{}, false
}

// ProcessOf returns the process that emitted s.
func (t Trace) ProcessOf(s Span) Process {
	return t.Processes[s.ProcessID]
}

type queryResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

func (j *Jaeger) get(ctx context.Context, path string, query url.Values, out any) (int, error) {
	u := j.QueryURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return resp.StatusCode, err
	}
	var qr queryResponse
	dec := json.NewDecoder(bytes.NewReader(body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&qr); err != nil {
		return resp.StatusCode, fmt.Errorf("GET %s: %s: decoding %q: %w", u, resp.Status, truncate(body.String(), 200), err)
	}
	if resp.StatusCode != http.StatusOK || len(qr.Errors) > 0 {
		return resp.StatusCode, fmt.Errorf("GET %s: %s: %+v", u, resp.Status, qr.Errors)
	}
	dec = json.NewDecoder(bytes.NewReader(qr.Data))
	dec.UseNumber()
	return resp.StatusCode, dec.Decode(out)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Trace fetches one trace by its hex ID (GET /api/traces/<id>). It returns
// ErrNotFound while Jaeger has none of its spans.
func (j *Jaeger) Trace(ctx context.Context, traceIDHex string) (Trace, error) {
	var traces []Trace
	code, err := j.get(ctx, "/api/traces/"+traceIDHex, nil, &traces)
	if code == http.StatusNotFound {
		return Trace{}, ErrNotFound
	}
	if err != nil {
		return Trace{}, err
	}
	if len(traces) != 1 {
		return Trace{}, fmt.Errorf("GET /api/traces/%s: %d traces, want 1", traceIDHex, len(traces))
	}
	return traces[0], nil
}

// FindTraces searches traces of a service (GET /api/traces?service=S) over
// the last hour, returning at most limit traces.
func (j *Jaeger) FindTraces(ctx context.Context, service string, limit int) ([]Trace, error) {
	var traces []Trace
	q := url.Values{
		"service":  {service},
		"limit":    {strconv.Itoa(limit)},
		"lookback": {"1h"},
	}
	_, err := j.get(ctx, "/api/traces", q, &traces)
	return traces, err
}

// Services lists the service names Jaeger has seen (GET /api/services).
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	var services []string
	_, err := j.get(ctx, "/api/services", nil, &services)
	return services, err
}

// MetricSum adds up every sample of a Prometheus counter or gauge on the
// admin port whose labels contain all of the given `name="value"` strings,
// e.g. MetricSum(ctx, "jaeger_spans_received_total", `format="proto"`).
func (j *Jaeger) MetricSum(ctx context.Context, name string, labels ...string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.AdminURL+"/metrics", http.NoBody)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		var lbls, value string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			lbls, value = rest[1:end], strings.TrimSpace(rest[end+1:])
		case strings.HasPrefix(rest, " "):
			value = strings.TrimSpace(rest)
		default:
			continue // a longer metric name with this prefix
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("metric %s%v not exposed by Jaeger", name, labels)
	}
	return sum, nil
}
