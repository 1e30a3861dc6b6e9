// SPDX-License-Identifier: Apache-2.0

package jaegerexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	// withEndpoint returns the default config with the given endpoint and
	// tls.insecure, the shape most cases share.
	withEndpoint := func(endpoint string, insecure bool) *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.ClientConfig.Endpoint = endpoint
		cfg.ClientConfig.TLS.Insecure = insecure
		return cfg
	}

	tests := []struct {
		id           component.ID
		expected     *Config
		unmarshalErr string
		// validateErrs must all appear in the error of confmap.Validate,
		// which is what the collector runs: it includes nested validators.
		validateErrs []string
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: withEndpoint("jaeger-collector:14250", false),
		},
		{
			id:       component.NewIDWithName(metadata.Type, "seed"),
			expected: withEndpoint("simplest-collector.observability:14250", true),
		},
		{
			id: component.NewIDWithName(metadata.Type, "legacy_insecure"),
			expected: func() *Config {
				cfg := withEndpoint("simplest-collector.observability:14250", true)
				cfg.legacyInsecure = true
				return cfg
			}(),
		},
		{
			id: component.NewIDWithName(metadata.Type, "legacy_and_tls_agree"),
			expected: func() *Config {
				cfg := withEndpoint("simplest-collector.observability:14250", true)
				cfg.legacyInsecure = true
				return cfg
			}(),
		},
		{
			id:           component.NewIDWithName(metadata.Type, "legacy_conflict"),
			unmarshalErr: "insecure: deprecated key conflicts with tls.insecure",
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			expected: func() *Config {
				cfg := withEndpoint("jaeger-collector.observability:14250", true)
				cfg.ClientConfig.Compression = configcompression.TypeGzip
				cfg.ClientConfig.Headers = configopaque.MapList{{Name: "x-tenant", Value: "team-a"}}
				cfg.ClientConfig.BalancerName = "round_robin"
				cfg.ClientConfig.Keepalive = configoptional.Some(configgrpc.KeepaliveClientConfig{
					Time: 20 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true,
				})
				cfg.TimeoutConfig.Timeout = 12 * time.Second
				cfg.RetryConfig.InitialInterval = time.Second
				cfg.RetryConfig.MaxInterval = 10 * time.Second
				cfg.RetryConfig.MaxElapsedTime = 2 * time.Minute
				q := cfg.QueueConfig.Get()
				q.NumConsumers = 4
				q.QueueSize = 500
				return cfg
			}(),
		},
		{
			id:           component.NewIDWithName(metadata.Type, "no_endpoint"),
			validateErrs: []string{"endpoint: must not be empty"},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_tls"),
			validateErrs: []string{
				"tls.ca_file: stat testdata/does-not-exist-ca.pem: no such file or directory",
				"tls.cert_file: stat testdata/does-not-exist-cert.pem: no such file or directory",
				"tls.key_file: stat testdata/does-not-exist-key.pem: no such file or directory",
			},
		},
		{
			id:           component.NewIDWithName(metadata.Type, "bad_port"),
			validateErrs: []string{`invalid port "grpc"`},
		},
	}

	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NotEmpty(t, sub.AllKeys(), "testdata/config.yaml has no instance %q", tt.id)

			cfg := NewFactory().CreateDefaultConfig()
			err = sub.Unmarshal(cfg)
			if tt.unmarshalErr != "" {
				require.ErrorContains(t, err, tt.unmarshalErr)
				return
			}
			require.NoError(t, err)

			err = confmap.Validate(cfg)
			if len(tt.validateErrs) > 0 {
				require.Error(t, err)
				for _, want := range tt.validateErrs {
					assert.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestCreateDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))

	c := cfg.(*Config)
	// Without an endpoint there is nowhere to send, so the default must not
	// pass validation silently.
	require.ErrorContains(t, confmap.Validate(c), "endpoint: must not be empty")

	assert.True(t, c.RetryConfig.Enabled, "retry_on_failure must default on: Unavailable is retried")
	assert.True(t, c.QueueConfig.HasValue(), "sending_queue must default on")
	assert.Equal(t, 5*time.Second, c.TimeoutConfig.Timeout)
	assert.False(t, c.ClientConfig.TLS.Insecure, "TLS must stay on unless asked")
}
