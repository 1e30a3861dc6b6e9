// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With no module named, precompile compiles the built-ins into the
// directory given, where wazero keeps them under a versioned subdirectory:
// one module holding the four, so one compiled entry.
func TestPrecompileBuiltins(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code, handled := Run([]string{"precompile", "--cache-dir", dir}, IO{Stdout: &out, Stderr: &errOut})
	require.True(t, handled)
	require.Equal(t, 0, code, errOut.String())
	assert.Contains(t, out.String(), "compiled the built-in filters into "+dir)
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "wazero-") {
			files++
		}
		return err
	}))
	assert.Equal(t, 1, files, "the built-ins are one module, compiled once")
}

func TestPrecompileRefusesAMissingModule(t *testing.T) {
	var out, errOut bytes.Buffer
	code, _ := Run([]string{"precompile", "--cache-dir", t.TempDir(), "builtin:nope"}, IO{Stdout: &out, Stderr: &errOut})
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "nope")
}
