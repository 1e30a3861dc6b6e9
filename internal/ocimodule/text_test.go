// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlainText(t *testing.T) {
	for _, c := range []struct {
		in   string
		most int
		want string
	}{
		{`the layer "a.wasm" is bad`, 64, `the layer "a.wasm" is bad`}, // quotes stay
		{"line\nforged \x1b[2K", 64, `line\nforged \x1b[2K`},
		{"ünïcødé stays", 64, "ünïcødé stays"},
		{"bad \xff byte", 64, `bad \xff byte`},
		{"bidi \u202eevil", 64, `bidi \u202eevil`},
		{"a real \ufffd stays", 64, "a real \ufffd stays"},
		{strings.Repeat("a", 20), 16, strings.Repeat("a", 16) + "..."},
		{strings.Repeat("a", 15) + "é", 16, strings.Repeat("a", 15) + "..."}, // cut at a character
		{strings.Repeat("\x1b", 20), 16, strings.Repeat(`\x1b`, 4) + "..."},  // escaped, then cut
	} {
		assert.Equal(t, c.want, plainText(c.in, c.most), "%q", c.in)
	}
}
