// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/client"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/wasmcol/wasmcol/receivers/cloudeventsreceiver/internal/metadata"
)

// A goroutine left behind would be a server Shutdown did not stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func receiverSettings(t *testing.T) receiver.Settings {
	t.Helper()
	return receivertest.NewNopSettings(metadata.Type)
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// running is a started receiver.
type running struct {
	url string // http://addr + events path
	cfg *Config
	tel *componenttest.Telemetry
}

// start creates and starts a cloudevents receiver on a free loopback port
// feeding next, with its telemetry observable; edit adjusts the default
// config first. It is shut down when the test ends.
func start(t testing.TB, next consumer.Logs, edit func(*Config)) *running {
	t.Helper()
	return startWithHost(t, next, edit, componenttest.NewNopHost())
}

func startWithHost(t testing.TB, next consumer.Logs, edit func(*Config), host component.Host) *running {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freeAddr(t)
	if edit != nil {
		edit(cfg)
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	scheme := "http://"
	if cfg.TLS.HasValue() {
		scheme = "https://"
	}
	return &running{url: scheme + cfg.NetAddr.Endpoint + cfg.Path, cfg: cfg, tel: tel}
}

// ceClient is the CloudEvents SDK's HTTP client, the one Knative's
// sources and adapters are built on, aimed at the receiver. It sends the
// binary content mode unless the context asks for structured.
func ceClient(t testing.TB, url string, opts ...cehttp.Option) client.Client {
	t.Helper()
	p, err := cloudevents.NewHTTP(append([]cehttp.Option{cloudevents.WithTarget(url)}, opts...)...)
	require.NoError(t, err)
	c, err := cloudevents.NewClient(p)
	require.NoError(t, err)
	return c
}

// statusOf is the HTTP status behind a CloudEvents SDK send result.
func statusOf(t testing.TB, res error) int {
	t.Helper()
	// A send with retries wraps the last result without unwrapping to it.
	var retries *cehttp.RetriesResult
	if errors.As(res, &retries) {
		res = retries.Result
	}
	var httpRes *cehttp.Result
	if !errors.As(res, &httpRes) {
		t.Fatalf("the send result %v carries no HTTP status", res)
	}
	return httpRes.StatusCode
}

// post sends a raw request, for what the SDK client refuses to produce.
func post(t testing.TB, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// counter sums the points of an int counter the receiver reports, or 0
// when it has reported none.
func counter(t testing.TB, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T, want an int64 sum", name, m.Data)
	var n int64
	for _, dp := range sum.DataPoints {
		n += dp.Value
	}
	return n
}
