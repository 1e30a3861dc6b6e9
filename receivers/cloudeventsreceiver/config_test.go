// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/wasmcol/wasmcol/receivers/cloudeventsreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id           component.ID
		expected     func() *Config
		unmarshalErr string
		// validateErrs must all appear in confmap.Validate's error, which
		// is what the Collector runs at startup.
		validateErrs []string
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: func() *Config { return createDefaultConfig().(*Config) },
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			expected: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.NetAddr.Endpoint = "0.0.0.0:8090"
				cfg.Path = "/events"
				cfg.ReadinessPath = "/healthz"
				cfg.MaxDataSize = 1024
				cfg.MaxRequestBodySize = 65536
				cfg.IncludeMetadata = true
				cfg.Resource = map[string]string{"service.name": "event-source", "deployment.environment.name": "staging"}
				return cfg
			},
		},
		{
			id:           component.NewIDWithName(metadata.Type, "bad_paths"),
			validateErrs: []string{`path: "events" must start with /`, `readiness_path: "" must start with /`},
		},
		{
			id:           component.NewIDWithName(metadata.Type, "same_paths"),
			validateErrs: []string{`readiness_path: "/x" is also the events path`},
		},
		{
			id:           component.NewIDWithName(metadata.Type, "bad_sizes"),
			validateErrs: []string{"max_data_size: 2048 is over max_request_body_size (1024)"},
		},
		{
			id:           component.NewIDWithName(metadata.Type, "zero_data_size"),
			validateErrs: []string{"max_data_size: 0 must be positive"},
		},
		{
			id:           component.NewIDWithName(metadata.Type, "unknown_key"),
			unmarshalErr: "max_event_size",
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
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
			assert.Equal(t, tt.expected(), cfg)
		})
	}
}

// TestBadTLSFailsAtStart: TLS files are read when the server starts, and a
// missing one stops the Collector from starting, naming the file.
func TestBadTLSFailsAtStart(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "bad_tls").String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	require.NoError(t, confmap.Validate(cfg))

	r, err := NewFactory().CreateLogs(t.Context(), receiverSettings(t), cfg, nil)
	require.NoError(t, err)
	err = r.Start(t.Context(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "does-not-exist-cert.pem")
	require.NoError(t, r.Shutdown(t.Context()))
}

func TestCreateDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, confmap.Validate(cfg))
	c := cfg.(*Config)
	assert.Equal(t, "localhost:8090", c.NetAddr.Endpoint, "loopback by default, like every Collector receiver")
	assert.Equal(t, "/", c.Path)
	assert.Equal(t, "/readyz", c.ReadinessPath)
	assert.EqualValues(t, 256<<10, c.MaxDataSize)
}
