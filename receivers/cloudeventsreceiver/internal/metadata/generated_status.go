// SPDX-License-Identifier: Apache-2.0

// Package metadata holds the component's identity and stability.
//
// mdatagen is not available on this module mirror, so this file is written by
// hand in the exact shape mdatagen generates from ../../metadata.yaml. Keep the
// two in sync; once mdatagen is available, regenerate instead of editing.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("cloudevents")
	ScopeName = "github.com/wasmcol/wasmcol/receivers/cloudeventsreceiver"
)

const (
	LogsStability = component.StabilityLevelAlpha
)
