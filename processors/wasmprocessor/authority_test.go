// SPDX-License-Identifier: Apache-2.0

package wasmprocessor_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wasmcol/wasmcol/internal/wasmhost"
)

// listen opens a loopback listener that counts the connections it gets,
// so that a test can tell "the dial failed" from "the dial went nowhere".
func listen(t *testing.T) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted = new(atomic.Int64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String(), accepted
}

// A guest gets no environment, no files and no network by default, and
// with grants exactly the variables named and read-only mounts.
func TestNoAmbientAuthority(t *testing.T) {
	module := guest(t, "snoop")
	t.Setenv("WASMCOL_TEST_SECRET", "hunter2")
	t.Setenv("WASMCOL_TEST_GRANTED", "cluster-a")
	addr, accepted := listen(t)

	hostDir := t.TempDir()
	hostFile := filepath.Join(hostDir, "data.txt")
	require.NoError(t, os.WriteFile(hostFile, []byte("mounted content"), 0o644))

	t.Run("nothing granted", func(t *testing.T) {
		h := start(t, map[string]any{
			"module": module, "pool_size": 1,
			"config": map[string]any{
				// The host paths themselves, and where a mount would put them.
				"list":  hostDir,
				"read":  []any{hostFile, "/data/data.txt"},
				"write": []any{filepath.Join(hostDir, "written.txt"), hostFile},
				"dial":  addr,
			},
		})
		require.NoError(t, h.consume(spans("x")))
		saw := snooped(t, h)

		assert.Empty(t, saw["env"], "no environment at all")
		assert.True(t, strings.HasPrefix(saw["list"], "error: "), "host directories are not visible: %s", saw["list"])
		assert.True(t, strings.HasPrefix(saw["read.0"], "error: "), "host files are not visible: %s", saw["read.0"])
		assert.True(t, strings.HasPrefix(saw["read.1"], "error: "), saw["read.1"])
		assert.True(t, strings.HasPrefix(saw["write.0"], "error: "), "no filesystem to write to: %s", saw["write.0"])
		assert.True(t, strings.HasPrefix(saw["write.1"], "error: "), saw["write.1"])
		assert.True(t, strings.HasPrefix(saw["dial"], "error: "), "no network: %s", saw["dial"])
		assertHostUntouched(t, hostDir, hostFile)
		assert.Zero(t, accepted.Load(), "nothing reached the listener")
		h.requireOnlyFailures(t, nil)
	})

	t.Run("env and mount granted", func(t *testing.T) {
		h := start(t, map[string]any{
			"module": module, "pool_size": 1,
			// A granted name that is unset in the Collector's environment
			// must not appear either.
			"env":    []any{"WASMCOL_TEST_GRANTED", "WASMCOL_TEST_UNSET"},
			"mounts": []any{map[string]any{"host_path": hostDir, "guest_path": "/data"}},
			"config": map[string]any{
				"list":  "/data",
				"read":  []any{"/data/data.txt", hostFile},
				"write": []any{"/data/written.txt", "/data/data.txt"},
				"dial":  addr,
			},
		})
		require.NoError(t, h.consume(spans("x")))
		saw := snooped(t, h)

		assert.Equal(t, "WASMCOL_TEST_GRANTED=cluster-a", saw["env"], "exactly the granted variable")
		assert.Equal(t, "ok: data.txt", saw["list"], "the mounted directory")
		assert.Equal(t, "ok: mounted content", saw["read.0"], "the mounted file is readable")
		assert.True(t, strings.HasPrefix(saw["read.1"], "error: "), "still nothing outside the mount: %s", saw["read.1"])
		assert.True(t, strings.HasPrefix(saw["write.0"], "error: "), "the mount is read only: %s", saw["write.0"])
		assert.True(t, strings.HasPrefix(saw["write.1"], "error: "), "the mounted file is read only: %s", saw["write.1"])
		assert.True(t, strings.HasPrefix(saw["dial"], "error: "), "there is no network grant: %s", saw["dial"])
		assertHostUntouched(t, hostDir, hostFile)
		assert.Zero(t, accepted.Load())
	})

	// A read is short past MaxReadBytes; Go's os.ReadFile, as any libc,
	// reads on until the end.
	t.Run("a mounted file larger than one read", func(t *testing.T) {
		dir := t.TempDir()
		content := strings.Repeat("0123456789", wasmhost.MaxReadBytes/4+1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "large.txt"), []byte(content), 0o644))
		h := start(t, map[string]any{
			"module": module, "pool_size": 1,
			"mounts": []any{map[string]any{"host_path": dir, "guest_path": "/data"}},
			"config": map[string]any{"read": []any{"/data/large.txt"}},
		})
		require.NoError(t, h.consume(spans("x")))
		got := snooped(t, h)["read.0"]
		assert.Len(t, got, len("ok: ")+len(content))
		assert.True(t, got == "ok: "+content, "the whole file, in order")
	})
}

// snooped is what the snoop guest reported, by key without "snoop.".
func snooped(t *testing.T, h *harness) map[string]string {
	t.Helper()
	out := h.last(t)
	saw := map[string]string{}
	for _, key := range []string{"env", "list", "read.0", "read.1", "write.0", "write.1", "dial"} {
		saw[key] = spanAttr(out, 0, "snoop."+key)
	}
	t.Logf("the guest saw %q", saw)
	return saw
}

// assertHostUntouched checks that the guest wrote nothing on the host.
func assertHostUntouched(t *testing.T, dir, file string) {
	t.Helper()
	assert.NoFileExists(t, filepath.Join(dir, "written.txt"))
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "mounted content", string(b))
}

// A guest that floods its log, through the SDK and through stdout and
// stderr, is cut down to the rate limit and the lines it lost are counted.
func TestLogSpamIsRateLimited(t *testing.T) {
	const batches, linesPerBatch = 5, 1000
	h := start(t, map[string]any{
		"module": guest(t, "logspam"), "pool_size": 1,
		"config": map[string]any{"lines": linesPerBatch},
	})
	began := time.Now()
	for i := 0; i < batches; i++ {
		require.NoError(t, h.consume(spans("x")))
	}
	elapsed := time.Since(began)

	fromGuest := h.logs.FilterMessage(guestLogMessage).All()
	attempted := batches * linesPerBatch * 3 // SDK, stdout, stderr
	// The bucket holds 50 lines and refills at 10 a second.
	allowed := 50 + int(10*elapsed.Seconds()) + 1
	t.Logf("%d of %d guest lines reached the log in %v (allowed %d)", len(fromGuest), attempted, elapsed, allowed)
	require.NotEmpty(t, fromGuest, "guest logs do reach the Collector's log")
	assert.LessOrEqual(t, len(fromGuest), allowed)
	for _, e := range fromGuest {
		assert.Contains(t, e.ContextMap(), "wasm_module", "guest lines are tagged with their module")
	}
	var sdk, stdout, stderr int
	for _, e := range fromGuest {
		switch text := guestText(e); {
		case strings.Contains(text, "sdk line"):
			sdk++
		case strings.Contains(text, "stdout line"):
			stdout++
		case strings.Contains(text, "stderr line"):
			stderr++
		}
	}
	assert.Positive(t, sdk, "SDK Log lines are forwarded")
	assert.Positive(t, stdout, "stdout lines are forwarded")
	assert.Positive(t, stderr, "stderr lines are forwarded")

	dropped := h.metric(t, "otelcol_processor_wasm_guest_log_dropped")
	assert.EqualValues(t, attempted-len(fromGuest), dropped, "every line not logged is counted as dropped")
	h.requireOnlyFailures(t, nil)
}
