// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestPipelineRefusal: what the next consumer answers decides the status a
// sender acts on, and a refused request leaves nothing behind.
func TestPipelineRefusal(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
	}{
		// The memory_limiter's refusal and a full sending queue are plain
		// errors: transient, retried.
		{name: "transient", err: errors.New("data refused due to high memory usage"), status: http.StatusServiceUnavailable},
		{name: "slow down", err: status.Error(codes.ResourceExhausted, "rate limited"), status: http.StatusTooManyRequests},
		{name: "permanent", err: consumererror.NewPermanent(errors.New("backend rejected the data")), status: http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, consumertest.NewErr(tc.err), nil)
			res := ceClient(t, r.url).Send(context.Background(), heartbeat("refused", 1))
			require.False(t, cloudevents.IsACK(res))
			assert.Equal(t, tc.status, statusOf(t, res))
			assert.Contains(t, res.Error(), tc.err.Error(), "the answer carries the pipeline's reason")
			assert.EqualValues(t, 1, counter(t, r.tel, "otelcol_receiver_refused_log_records"))
			assert.Zero(t, counter(t, r.tel, "otelcol_receiver_accepted_log_records"))
		})
	}
}

// flaky refuses its first n batches, as a memory_limiter does until memory
// comes down, then forwards to the sink.
type flaky struct {
	n     int32
	calls atomic.Int32
	sink  *consumertest.LogsSink
}

func (f *flaky) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (f *flaky) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if f.calls.Add(1) <= f.n {
		return errors.New("data refused due to high memory usage")
	}
	return f.sink.ConsumeLogs(ctx, ld)
}

// TestSenderRetries: a sender that retries as Knative's dispatcher does
// (the SDK client with backoff) gets a refused event through exactly once
// when the pipeline recovers, and does not retry a permanent refusal.
func TestSenderRetries(t *testing.T) {
	t.Run("503 is retried until accepted", func(t *testing.T) {
		f := &flaky{n: 2, sink: new(consumertest.LogsSink)}
		r := start(t, f, nil)
		ctx := cloudevents.ContextWithRetriesExponentialBackoff(context.Background(), 5*time.Millisecond, 5)
		res := ceClient(t, r.url).Send(ctx, heartbeat("retried", 1))
		require.True(t, cloudevents.IsACK(res), "send: %v", res)
		var rr *cehttp.RetriesResult
		require.ErrorAs(t, res, &rr)
		assert.Equal(t, 2, rr.Retries)
		for _, a := range rr.Attempts {
			assert.Equal(t, http.StatusServiceUnavailable, statusOf(t, a))
		}
		assert.Equal(t, 1, f.sink.LogRecordCount(), "accepted once: nothing lost, nothing twice")
	})
	t.Run("422 is not retried", func(t *testing.T) {
		var calls atomic.Int32
		next, err := consumer.NewLogs(func(context.Context, plog.Logs) error {
			calls.Add(1)
			return consumererror.NewPermanent(errors.New("never"))
		})
		require.NoError(t, err)
		r := start(t, next, nil)
		ctx := cloudevents.ContextWithRetriesExponentialBackoff(context.Background(), 5*time.Millisecond, 5)
		res := ceClient(t, r.url).Send(ctx, heartbeat("permanent", 1))
		assert.Equal(t, http.StatusUnprocessableEntity, statusOf(t, res))
		assert.EqualValues(t, 1, calls.Load())
	})
}

// TestPaths: the readiness path, OPTIONS probing, and answers for methods
// and paths the receiver does not serve.
func TestPaths(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, func(c *Config) { c.Path = "/events"; c.ReadinessPath = "/ready" })
	base := "http://" + r.cfg.NetAddr.Endpoint

	req := func(method, path string) (int, string, http.Header) {
		t.Helper()
		rq, err := http.NewRequest(method, base+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(rq)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b [256]byte
		n, _ := resp.Body.Read(b[:])
		return resp.StatusCode, string(b[:n]), resp.Header
	}

	code, body, _ := req(http.MethodGet, "/ready")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ready\n", body)
	code, _, _ = req(http.MethodHead, "/ready")
	assert.Equal(t, http.StatusOK, code)
	code, _, h := req(http.MethodPost, "/ready")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Equal(t, "GET, HEAD", h.Get("Allow"))

	code, _, h = req(http.MethodOptions, "/events")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "POST, OPTIONS", h.Get("Allow"))
	code, _, h = req(http.MethodGet, "/events")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Equal(t, "POST, OPTIONS", h.Get("Allow"))

	code, _, _ = req(http.MethodPost, "/")
	assert.Equal(t, http.StatusNotFound, code)
	code, _, _ = req(http.MethodPost, "/events/more")
	assert.Equal(t, http.StatusNotFound, code)

	res := ceClient(t, base+"/events").Send(context.Background(), heartbeat("p", 1))
	require.True(t, cloudevents.IsACK(res), "send: %v", res)
	assert.Equal(t, 1, sink.LogRecordCount())
}

// TestRootPathIsExact: with the default path "/", other paths are 404, not
// silently taken as events.
func TestRootPathIsExact(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := start(t, sink, nil)
	res := ceClient(t, r.url+"elsewhere").Send(context.Background(), heartbeat("x", 1))
	assert.Equal(t, http.StatusNotFound, statusOf(t, res))
	assert.Zero(t, sink.LogRecordCount())
}

// TestTLS serves the events over TLS from confighttp's tls settings; the
// SDK client trusts the test's CA only.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	sink := new(consumertest.LogsSink)
	r := start(t, sink, func(c *Config) {
		c.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: certFile, KeyFile: keyFile}})
	})
	trusting := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer trusting.CloseIdleConnections()
	res := ceClient(t, r.url, cehttp.WithRoundTripper(trusting)).Send(context.Background(), heartbeat("tls", 1))
	require.True(t, cloudevents.IsACK(res), "send: %v", res)
	assert.Equal(t, 1, sink.LogRecordCount())

	// Plain HTTP to the TLS port never reaches the pipeline.
	plain := "http://" + r.cfg.NetAddr.Endpoint + "/"
	res = ceClient(t, plain).Send(context.Background(), heartbeat("plain", 1))
	assert.False(t, cloudevents.IsACK(res))
	assert.Equal(t, 1, sink.LogRecordCount())
}

func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cloudevents receiver test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// bearerAuth is an authenticator extension: confighttp's auth setting looks
// it up among the host's extensions and calls it on every request.
type bearerAuth struct {
	component.StartFunc
	component.ShutdownFunc
	extensionauth.ServerAuthenticateFunc
}

type hostWithExtensions map[component.ID]component.Component

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h }

// TestAuth: with confighttp's auth set, a request without the credentials
// the authenticator wants is refused with 401 and never reaches the
// pipeline.
func TestAuth(t *testing.T) {
	id := component.MustNewID("bearer")
	auth := &bearerAuth{ServerAuthenticateFunc: func(ctx context.Context, headers map[string][]string) (context.Context, error) {
		for _, v := range headers["Authorization"] {
			if v == "Bearer s3cret" {
				return ctx, nil
			}
		}
		return ctx, errors.New("missing or wrong bearer token")
	}}
	sink := new(consumertest.LogsSink)
	r := startWithHost(t, sink, func(c *Config) {
		c.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: id}})
	}, hostWithExtensions{id: auth})

	res := ceClient(t, r.url).Send(context.Background(), heartbeat("anon", 1))
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, res))
	assert.Zero(t, sink.LogRecordCount())

	res = ceClient(t, r.url, cloudevents.WithHeader("Authorization", "Bearer s3cret")).Send(context.Background(), heartbeat("authed", 1))
	require.True(t, cloudevents.IsACK(res), "send: %v", res)
	assert.Equal(t, 1, sink.LogRecordCount())
}
