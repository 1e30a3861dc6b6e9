// SPDX-License-Identifier: Apache-2.0

package jaegerexporter

import (
	"testing"

	"go.uber.org/goleak"
)

// A goroutine left behind means a connection or exporter that Shutdown did
// not close; the tests also start and stop real Jaeger processes.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
