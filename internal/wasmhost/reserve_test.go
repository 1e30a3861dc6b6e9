// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A reservation of an instance's memory that the system refuses (ulimit
// -v, strict overcommit) fails that start as a memory fault naming
// memory_limit. wazero sliced the nil it was given and panicked: at start
// the Collector died, and in a batch the pool lost the slot and the
// watchdog reported a stuck start until Close, which then hung.
func TestRefusedReservationFailsTheStart(t *testing.T) {
	refuse := func(uint64) (*region, error) { return nil, errors.New("cannot allocate memory") }
	defer func(r func(uint64) (*region, error)) { reserveRegion = r }(reserveRegion)
	bin := watModule(t, filter(`(func $attack)`), false)
	ctx := context.Background()

	reserveRegion = refuse
	_, err := New(ctx, Options{Source: "reserve", Module: bin, PoolSize: 1})
	var fault *Fault
	require.ErrorAs(t, err, &fault)
	require.Equal(t, FaultMemory, fault.Kind)
	require.ErrorContains(t, err, "memory_limit")

	// In a batch: the instance is discarded after a trap, and its
	// replacement cannot be reserved.
	reserveRegion = newRegion
	p, err := New(ctx, Options{Source: "reserve", Module: watModule(t, filter(`(func $attack (unreachable))`), false), PoolSize: 1})
	require.NoError(t, err)
	_, err = p.ProcessTraces(ctx, oneSpan())
	require.ErrorAs(t, err, &fault)
	require.Equal(t, FaultTrap, fault.Kind)
	reserveRegion = refuse
	dropSpare := func() { // the pool keeps the last region for the next start
		p.regions.mu.Lock()
		defer p.regions.mu.Unlock()
		for _, r := range p.regions.spares {
			r.free()
		}
		p.regions.spares = nil
	}
	for range 3 {
		dropSpare()
		_, err = p.ProcessTraces(ctx, oneSpan())
		require.ErrorAs(t, err, &fault)
		require.Equal(t, FaultMemory, fault.Kind, "%v", err)
	}
	p.mu.Lock()
	guards := len(p.guards)
	p.mu.Unlock()
	require.Zero(t, guards, "no start left registered")
	reserveRegion = newRegion
	_, err = p.ProcessTraces(ctx, oneSpan())
	require.ErrorAs(t, err, &fault)
	require.Equal(t, FaultTrap, fault.Kind, "the pool starts instances again")
	closed := make(chan error)
	go func() { closed <- p.Close(ctx) }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs")
	}
}
