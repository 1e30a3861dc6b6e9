// SPDX-License-Identifier: Apache-2.0

// Command bundle is a module holding two filters, run by the name the host
// gives (filter_name), as wasmcol's built-ins are: "tag" marks every span
// with bundle=tag and reads its config; "logs" marks log records and
// processes logs only, so that the signals the host sees follow the
// choice. Build:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bundle.wasm .
package main

import wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"

type tag struct{ value string }

func (f *tag) Init(c wasmcol.Config) error {
	var cfg struct {
		Value string `json:"value"`
	}
	cfg.Value = "tag"
	err := c.Decode(&cfg)
	f.value = cfg.Value
	return err
}

func (f *tag) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		s.SetAttr("bundle", wasmcol.Str(f.value))
	}
	return nil
}

type logs struct{}

func (logs) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		r.SetAttr("bundle", wasmcol.Str("logs"))
	}
	return nil
}

func init() {
	wasmcol.RegisterAs("tag", &tag{})
	wasmcol.RegisterAs("logs", logs{})
}

func main() {}
