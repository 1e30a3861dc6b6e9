// SPDX-License-Identifier: Apache-2.0

// Command ops makes one kind of Selection operation opsPerBatch times a
// batch, chosen by its config ({"op": "select"}), so that
// BenchmarkSelectionOps can tell what each costs a filter: the guest's
// SDK code, the call into the host and the host's side together. "none"
// makes only the two selects every mode starts with. Build:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ops.wasm .
package main

import (
	"fmt"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

const opsPerBatch = 200

type ops struct{ op string }

func (o *ops) Init(c wasmcol.Config) error {
	var cfg struct {
		Op string `json:"op"`
	}
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	switch cfg.Op {
	case "none", "select", "refine", "or", "len":
		o.op = cfg.Op
		return nil
	}
	return fmt.Errorf("op: unknown %q", cfg.Op)
}

// total keeps the results alive, so that no operation is left out.
var total int

func (o *ops) ProcessTraces(t wasmcol.Traces) error {
	broker := t.SpansWhere(wasmcol.NameHasPrefix("broker:"))
	trigger := t.SpansWhere(wasmcol.NameHasPrefix("trigger:"))
	for range opsPerBatch {
		switch o.op {
		case "select": // the host answers a repeated select from its memo
			total += t.SpansWhere(wasmcol.NameIs("queue")).Len()
		case "refine":
			total += broker.Where(wasmcol.KindIs(wasmcol.SpanKindServer)).Len()
		case "or":
			total += broker.Or(trigger).Len()
		case "len":
			total += broker.Len()
		}
	}
	return nil
}

func init() { wasmcol.Register(&ops{}) }

func main() {}
