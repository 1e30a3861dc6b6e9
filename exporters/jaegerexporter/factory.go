// SPDX-License-Identifier: Apache-2.0

// Package jaegerexporter exports traces to Jaeger's legacy gRPC collector API
// (jaeger.api_v2.CollectorService/PostSpans, port 14250), for Jaeger releases
// older than 1.35 that cannot receive OTLP.
package jaegerexporter // import "github.com/wasmcol/wasmcol/exporters/jaegerexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/internal/metadata"
)

// NewFactory returns the factory for the jaeger exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	clientCfg := configgrpc.NewDefaultClientConfig()
	// The defaults of contrib's jaeger exporter (v0.85.0), which this one
	// replaces, and of core's otlp exporter: keepalive off, so that existing
	// seed configs keep their connection behaviour, and a 512 KiB write
	// buffer, since a PostSpans call writes a whole batch and reads ~nothing.
	clientCfg.Keepalive = configoptional.None[configgrpc.KeepaliveClientConfig]()
	clientCfg.WriteBufferSize = 512 * 1024
	return &Config{
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		RetryConfig:   configretry.NewDefaultBackOffConfig(),
		QueueConfig:   configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		ClientConfig:  clientCfg,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e := newJaegerExporter(c, set)
	return exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces,
		// pushTraces only reads the batch.
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
	)
}
