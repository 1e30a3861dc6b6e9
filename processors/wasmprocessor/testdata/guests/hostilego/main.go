// SPDX-License-Identifier: Apache-2.0

// Command hostilego is a hostile filter written with the Go SDK, so that
// the attacks also come the way most guests are built: through the Go
// runtime, its scheduler, its stack growth and its WASI calls. On a batch
// of three or more spans it attacks as config "attack" says:
//
//   - "tree": a binary call tree of depth 62 with no loop in it.
//   - "recurse": recursion without end. Go's goroutine stacks live in
//     linear memory, so this must end at memory_limit.
//   - "forge": writes a text built to pass for lines the Collector wrote
//     (newline, timestamp, tabs, level, ANSI escapes) to stdout, stderr
//     and the SDK's log, then fails with the same text.
//   - "kv": fills the shared key-value store to its bound, then rewrites
//     it forever with values of alternating sizes.
//   - "sleep": time.Sleep of an hour in a loop.
//
// Batches of one or two spans get sandbox.ok=true on every span.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hostilego.wasm .
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type hostile struct{ attack string }

func (f *hostile) Init(c wasmcol.Config) error {
	var cfg struct {
		Attack string `json:"attack"`
	}
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	f.attack = cfg.Attack
	return nil
}

// Forged is what "forge" writes: a line of its own, then one that looks
// like the Collector's, then terminal escapes.
const Forged = "innocent\n1999-12-31T23:59:59.999Z\terror\tforged/collector\tShutting down\t{\"kind\": \"forged\"}\r" +
	"\x1b[2J\x1b[31mred\x1b[0m\u2028line separator\u202eright to left\n1999-12-31T23:59:59.999Z\tinfo\t\n"

//go:noinline
func tree(n int) int {
	if n == 0 {
		return 1
	}
	return tree(n-1) + tree(n-1)
}

//go:noinline
func down(n int) int {
	var pad [64]int
	pad[n%64] = n
	return down(n+1) + pad[(n+1)%64]
}

func (f *hostile) ProcessTraces(t wasmcol.Traces) error {
	n := 0
	for range t.Spans() {
		n++
	}
	if n < 3 {
		for s := range t.Spans() {
			s.SetAttr("sandbox.ok", wasmcol.Bool(true))
		}
		return nil
	}
	h := t.Host()
	switch f.attack {
	case "tree":
		return fmt.Errorf("tree: %d", tree(62))
	case "recurse":
		return fmt.Errorf("recurse: %d", down(0))
	case "forge":
		fmt.Print(Forged)
		fmt.Fprint(os.Stderr, Forged)
		for _, l := range []wasmcol.Level{wasmcol.LevelDebug, wasmcol.LevelInfo, wasmcol.LevelWarn, wasmcol.LevelError} {
			h.Log(l, Forged)
		}
		return errors.New(Forged)
	case "kv":
		kv := h.KV()
		big := make([]byte, 64<<10-1)
		keys := 0
		for ; kv.Set(fmt.Sprintf("kv%06d", keys), big) == nil; keys++ {
		}
		for size := len(big) - 1; ; size ^= 1 {
			for i := 0; i < keys; i++ {
				_ = kv.Set(fmt.Sprintf("kv%06d", i), big[:size])
			}
		}
	case "sleep":
		for {
			time.Sleep(time.Hour)
		}
	}
	return fmt.Errorf("hostilego: unknown attack %q", f.attack)
}

func init() { wasmcol.Register(&hostile{}) }

func main() {}
