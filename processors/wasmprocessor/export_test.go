// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"go.opentelemetry.io/collector/processor"

	"github.com/wasmcol/wasmcol/processors/wasmprocessor"
)

func wasmprocessorFactory() processor.Factory { return wasmprocessor.NewFactory() }
