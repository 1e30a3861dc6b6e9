// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// statusHost records the status events a component reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *statusHost) Report(e *componentstatus.Event) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

// While the watchdog sees a guest call past its deadline the processor is
// a recoverable error, which a component-status health check shows as not
// ready; when it clears, the processor is OK again.
func TestOverrunReportsStatus(t *testing.T) {
	h := &statusHost{}
	p := &wasmProcessor{cfg: &Config{Module: "builtin:x"}, host: h}
	p.overrun(2)
	p.overrun(0)
	require.Len(t, h.events, 2)
	assert.Equal(t, componentstatus.StatusRecoverableError, h.events[0].Status())
	assert.ErrorContains(t, h.events[0].Err(), "2 guest call(s) running past their deadline")
	assert.Equal(t, componentstatus.StatusOK, h.events[1].Status())
}
