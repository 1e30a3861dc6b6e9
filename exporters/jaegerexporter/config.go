// SPDX-License-Identifier: Apache-2.0

package jaegerexporter // import "github.com/wasmcol/wasmcol/exporters/jaegerexporter"

import (
	"errors"
	"fmt"
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// legacyInsecureKey is the top-level `insecure` key of the pre-configtls
// jaeger exporter. Seed configs still carry it, so it is accepted and mapped
// to tls.insecure rather than rejected as an unknown key.
const legacyInsecureKey = "insecure"

// Config is the configuration of the jaeger exporter.
//
// The field layout matches core's otlp exporter, so a config that works for
// one works for the other apart from the endpoint's port.
type Config struct {
	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	ClientConfig  configgrpc.ClientConfig                                  `mapstructure:",squash"`

	// legacyInsecure records that the deprecated top-level `insecure` key was
	// used, so start can warn about it. Config loading has no logger.
	legacyInsecure bool
}

var (
	_ component.Config    = (*Config)(nil)
	_ confmap.Validator   = (*Config)(nil)
	_ confmap.Unmarshaler = (*Config)(nil)
)

// Unmarshal accepts the deprecated top-level `insecure: true` by moving it to
// tls.insecure before the regular decoding, which would otherwise reject it
// as an unknown key.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if conf.IsSet(legacyInsecureKey) {
		var legacy struct {
			Insecure bool `mapstructure:"insecure"`
		}
		if err := conf.Unmarshal(&legacy, confmap.WithIgnoreUnused()); err != nil {
			return fmt.Errorf("%s: %w", legacyInsecureKey, err)
		}
		if conf.IsSet("tls::insecure") {
			var current struct {
				TLS struct {
					Insecure bool `mapstructure:"insecure"`
				} `mapstructure:"tls"`
			}
			if err := conf.Unmarshal(&current, confmap.WithIgnoreUnused()); err != nil {
				return err
			}
			// Both set and disagreeing has no safe reading: guessing could
			// silently turn TLS off.
			if current.TLS.Insecure != legacy.Insecure {
				return fmt.Errorf("%s: deprecated key conflicts with tls.insecure; remove %q and keep tls.insecure", legacyInsecureKey, legacyInsecureKey)
			}
		}
		conf.Delete(legacyInsecureKey)
		if err := conf.Unmarshal(cfg); err != nil {
			return err
		}
		cfg.ClientConfig.TLS.Insecure = legacy.Insecure
		cfg.legacyInsecure = true
		return nil
	}
	return conf.Unmarshal(cfg)
}

// Validate reports every problem at once, each prefixed with the field name
// as written in YAML. configgrpc's own Validate (port syntax, balancer name)
// runs as well, because the collector validates nested structs too.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.ClientConfig.Endpoint == "" {
		errs = append(errs, errors.New(`endpoint: must not be empty; set it to the Jaeger collector's gRPC address, e.g. "jaeger-collector:14250"`))
	}
	// configtls only reads these files at start, where the error does not
	// name the field. Checking here fails at config load with the field named.
	tls := cfg.ClientConfig.TLS
	for _, f := range []struct{ field, path string }{
		{"tls.ca_file", tls.CAFile},
		{"tls.cert_file", tls.CertFile},
		{"tls.key_file", tls.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.field, err))
		}
	}
	return errors.Join(errs...)
}
