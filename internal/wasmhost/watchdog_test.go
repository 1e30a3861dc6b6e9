// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// The watchdog reports a phase that stays armed past its deadline plus the
// margin, once, with a log line, and reports it cleared when it ends. A
// guest cannot do that (its checks stop it), so the test arms a guard the
// way a stuck host would leave it.
func TestWatchdogReportsOverrun(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	var mu sync.Mutex
	var seen []int
	bin := watModule(t, filter(`(func $attack)`), false)
	p, err := New(context.Background(), Options{Source: "w", Module: bin, PoolSize: 1, Logger: zap.New(core),
		OnOverrun: func(n int) { mu.Lock(); seen = append(seen, n); mu.Unlock() }})
	require.NoError(t, err)
	defer p.Close(context.Background())

	g := newGuard(StackLimit)
	require.True(t, p.register(g))
	g.arm(phaseCall, 10*time.Millisecond)
	require.Eventually(t, func() bool { return p.Overrunning() == 1 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(3 * watchdogTick)
	assert.EqualValues(t, 1, p.Overruns(), "reported once")
	assert.Equal(t, 1, logs.FilterMessageSnippet("overran its deadline").Len())

	g.disarm()
	require.Eventually(t, func() bool { return p.Overrunning() == 0 }, 5*time.Second, 10*time.Millisecond)
	mu.Lock()
	assert.Equal(t, []int{1, 0}, seen)
	mu.Unlock()
	p.unregister(g)
}
