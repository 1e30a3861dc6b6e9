// SPDX-License-Identifier: Apache-2.0

// Package cloudeventsreceiver receives CloudEvents over HTTP (the
// CloudEvents HTTP protocol binding 1.0: binary, structured and batched
// content modes) and turns each event into one log record. It is the sink a
// Knative Trigger, Subscription or SinkBinding points at, so that the events
// themselves land in the same backend, and on the same traces, as the
// broker hops that carried them.
package cloudeventsreceiver // import "github.com/wasmcol/wasmcol/receivers/cloudeventsreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/wasmcol/wasmcol/receivers/cloudeventsreceiver/internal/metadata"
)

// NewFactory returns the factory for the cloudevents receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	// A request has a minute to arrive whole, body included: confighttp
	// bounds only the headers' time, and a client trickling a declared
	// body would hold its connection and buffer for as long as it liked.
	server.ReadTimeout = defaultReadTimeout
	return &Config{
		ServerConfig:  server,
		Path:          defaultPath,
		ReadinessPath: defaultReadinessPath,
		MaxDataSize:   defaultMaxDataSize,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(set, cfg.(*Config), next)
}
