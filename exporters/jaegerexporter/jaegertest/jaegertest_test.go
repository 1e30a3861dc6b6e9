// SPDX-License-Identifier: Apache-2.0

package jaegertest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fatalRecorder captures what would have failed the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// binaryFailure runs Binary against a recorder and returns its failure
// message, or "" if it returned a path.
func binaryFailure(t *testing.T) string {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Binary(rec)
	}()
	<-done
	return rec.msg
}

// A missing Jaeger must fail the test with the way to get it, not skip it.
func TestBinaryMissingFails(t *testing.T) {
	t.Run("env points nowhere", func(t *testing.T) {
		t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "all-in-one"))
		assert.Contains(t, binaryFailure(t), "run make jaeger")
	})
	t.Run("not built at the repository root", func(t *testing.T) {
		t.Setenv(EnvBinary, "")
		root := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o600))
		sub := filepath.Join(root, "exporters", "x")
		require.NoError(t, os.MkdirAll(sub, 0o700))
		t.Chdir(sub)
		msg := binaryFailure(t)
		assert.Contains(t, msg, filepath.Join(root, "bin", "all-in-one"))
		assert.Contains(t, msg, "run make jaeger")
	})
	t.Run("built at the repository root", func(t *testing.T) {
		t.Setenv(EnvBinary, "")
		root := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o600))
		require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "all-in-one"), nil, 0o700))
		t.Chdir(root)
		assert.Empty(t, binaryFailure(t))
	})
}
