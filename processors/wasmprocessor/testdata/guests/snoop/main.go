// SPDX-License-Identifier: Apache-2.0

// Command snoop is a hostile filter that looks for ambient authority: it
// reads its environment, lists and reads files, writes a file and dials
// out, and reports what it got as attributes of every span, so a test can
// check that it got only what the configuration granted.
//
// Config: "list" is a directory to list, "read" and "write" are lists of
// files to try, "dial" a host:port. The environment is reported as is,
// one NAME=value a line; everything else as "ok: <what it got>" or
// "error: <why not>".
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o snoop.wasm .
package main

import (
	"net"
	"os"
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

type snoop struct {
	List  string   `json:"list"`
	Read  []string `json:"read"`
	Write []string `json:"write"`
	Dial  string   `json:"dial"`
}

func (f *snoop) Init(c wasmcol.Config) error { return c.Decode(f) }

func (f *snoop) ProcessTraces(t wasmcol.Traces) error {
	seen := map[string]wasmcol.Value{
		"snoop.env": wasmcol.Str(strings.Join(os.Environ(), "\n")),
		"snoop.list": outcome(func() (string, error) {
			entries, err := os.ReadDir(f.List)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return strings.Join(names, ","), err
		}),
		"snoop.dial": outcome(func() (string, error) {
			conn, err := net.Dial("tcp", f.Dial)
			if err != nil {
				return "", err
			}
			conn.Close()
			return "connected", nil
		}),
	}
	for i, path := range f.Read {
		seen["snoop.read."+string(rune('0'+i))] = outcome(func() (string, error) {
			b, err := os.ReadFile(path)
			return string(b), err
		})
	}
	for i, path := range f.Write {
		seen["snoop.write."+string(rune('0'+i))] = outcome(func() (string, error) {
			return "written", os.WriteFile(path, []byte("snoop was here"), 0o644)
		})
	}
	for s := range t.Spans() {
		for k, v := range seen {
			s.SetAttr(k, v)
		}
	}
	return nil
}

// outcome is the result as "ok: <value>" or "error: <message>".
func outcome(try func() (string, error)) wasmcol.Value {
	v, err := try()
	if err != nil {
		return wasmcol.Str("error: " + err.Error())
	}
	return wasmcol.Str("ok: " + v)
}

func init() { wasmcol.Register(&snoop{}) }

func main() {}
