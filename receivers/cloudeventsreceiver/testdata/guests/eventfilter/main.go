// SPDX-License-Identifier: Apache-2.0

// Command eventfilter is a wasmcol logs filter for the records the
// cloudevents receiver makes: it drops events by CloudEvents type (the
// heartbeats sample's, typically) and redacts the attributes it is told
// to, such as an extension carrying a user's address. The receiver's tests
// run it in the real wasm processor.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o eventfilter.wasm .
package main

import (
	"errors"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

func init() { wasmcol.Register(&filter{}) }

func main() {}

type filter struct {
	drop   map[string]bool
	redact []string
}

func (f *filter) Init(cfg wasmcol.Config) error {
	var c struct {
		DropTypes []string `json:"drop_types"`
		Redact    []string `json:"redact"`
	}
	if err := cfg.Decode(&c); err != nil {
		return err
	}
	if len(c.DropTypes) == 0 && len(c.Redact) == 0 {
		return errors.New("eventfilter: set drop_types, redact or both")
	}
	f.drop = map[string]bool{}
	for _, t := range c.DropTypes {
		f.drop[t] = true
	}
	f.redact = c.Redact
	return nil
}

func (f *filter) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		if f.drop[r.Attr("cloudevents.event_type").Str()] {
			r.Drop()
			continue
		}
		for _, key := range f.redact {
			if !r.Attr(key).IsEmpty() {
				r.SetAttr(key, wasmcol.Str("REDACTED"))
			}
		}
	}
	return nil
}
