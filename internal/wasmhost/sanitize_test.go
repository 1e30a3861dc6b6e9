// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"unicode"
)

// TestSanitizeCutMatchesCuttingTheWhole: sanitizeCut escapes only what
// the cut keeps, and must keep what escaping the whole text and cutting it
// would, over random texts of escapes, characters, invalid and cut
// sequences, and every cut.
func TestSanitizeCutMatchesCuttingTheWhole(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	atoms := [][]byte{{0}, {1}, {0x7f}, {'\\'}, {'u'}, {'a'}, {'0'}, {0xff}, {0xc3}, {0xe2, 0x80}, []byte("é"), []byte("中"),
		[]byte("\u2028"), []byte("\u200b"), []byte("\U000e0001"), []byte("\U0001f600"), []byte("\\u00"), {0xf0, 0x9f}, {'\n'}}
	for it := 0; it < 300000; it++ {
		var b []byte
		k := r.Intn(40)
		for i := 0; i < k; i++ {
			b = append(b, atoms[r.Intn(len(atoms))]...)
		}
		n := r.Intn(len(b) + 10)
		if got, want := sanitizeCut(b, n), cutEscaped(sanitize(b), n); got != want {
			t.Fatalf("b=%q n=%d got %q want %q", b, n, got, want)
		}
	}
}

// TestWriteEscapeMatchesFmt: every rune sanitize escapes is written as
// fmt's \u%04x would write it.
func TestWriteEscapeMatchesFmt(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !(unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) {
			continue
		}
		var sb strings.Builder
		writeEscape(&sb, r)
		if want := fmt.Sprintf("\\u%04x", r); sb.String() != want {
			t.Fatalf("%U: %q want %q", r, sb.String(), want)
		}
	}
	for _, r := range []rune{0x10000, 0xfffff, 0x100000, 0x10ffff, 0xffff, 0x1f} {
		var sb strings.Builder
		writeEscape(&sb, r)
		if want := fmt.Sprintf("\\u%04x", r); sb.String() != want {
			t.Fatalf("%U: %q want %q", r, sb.String(), want)
		}
	}
}
