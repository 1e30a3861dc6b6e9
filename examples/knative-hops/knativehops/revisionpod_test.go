// SPDX-License-Identifier: Apache-2.0

package knativehops

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestIsRevisionPodMatchesPattern holds isRevisionPod to the regular
// expression the OTTL side of the benchmark uses for the same test, on
// names built from the pieces that matter: dashes, digits, "deployment"
// and short hashes, in any order.
func TestIsRevisionPodMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^.*-[0-9]{5}-deployment-[^-]+-[^-]+$`)
	pieces := []string{"-", "-", "0", "12345", "00001", "deployment", "-deployment-", "a", "7c9f", "x1", "coinflip"}
	r := rand.New(rand.NewPCG(1, 2))
	matched := 0
	for range 50_000 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		if r.IntN(2) == 0 { // a pod name's tail, its pieces perturbed
			for _, p := range []string{"-", "00001", "-deployment-", "7c9f", "-", "x1"} {
				if r.IntN(8) == 0 {
					p = pieces[r.IntN(len(pieces))]
				}
				b.WriteString(p)
			}
		}
		name := b.String()
		want := re.MatchString(name)
		if got := isRevisionPod(name); got != want {
			t.Fatalf("isRevisionPod(%q) = %v, the pattern says %v", name, got, want)
		}
		if want {
			matched++
		}
	}
	for _, name := range []string{"coinflip-00001-deployment-7c9f-x1", "x-00001-deployment-deployment-a"} {
		if !isRevisionPod(name) {
			t.Errorf("isRevisionPod(%q) = false", name)
		}
	}
	if matched < 500 {
		t.Fatalf("only %d generated names are pod names: the check proves little", matched)
	}
}

// TestIsIngressURLMatchesPattern holds isIngressURL to the OTTL side's
// pattern, ^([^:/]*://)?broker-ingress\., on strings built from schemes,
// separators and hosts in any order. The filter's host tests settle the
// URLs starting with http://, https:// or the host the same way.
func TestIsIngressURLMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^([^:/]*://)?broker-ingress\.`)
	pieces := []string{"http", "https", "://", ":", "/", "broker-ingress.", "broker-ingress", "broker-filter.", "a", "?u=http://"}
	r := rand.New(rand.NewPCG(3, 4))
	matched := 0
	for range 50_000 {
		var b strings.Builder
		for range 1 + r.IntN(5) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		u := b.String()
		want := re.MatchString(u)
		if got := isIngressURL(u); got != want {
			t.Fatalf("isIngressURL(%q) = %v, the pattern says %v", u, got, want)
		}
		if want {
			matched++
		}
	}
	if matched < 500 {
		t.Fatalf("only %d generated strings match: the check proves little", matched)
	}
}
