// SPDX-License-Identifier: Apache-2.0

// Command protogen writes ../{traces,metrics,logs}.pb: the JSON fixtures
// beside them encoded by pdata's own protobuf marshaler, so that sdktest's
// dependency-free codec is checked against the Collector's. It is a module
// of its own so that pdata stays out of the SDK's go.mod. Run it with
//
//	cd wasm-sdk/sdktest/testdata/protogen && go run .
package main

import (
	"log"
	"os"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func main() {
	convert("traces", func(in []byte) ([]byte, error) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(in)
		if err != nil {
			return nil, err
		}
		return (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	})
	convert("metrics", func(in []byte) ([]byte, error) {
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(in)
		if err != nil {
			return nil, err
		}
		return (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
	})
	convert("logs", func(in []byte) ([]byte, error) {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(in)
		if err != nil {
			return nil, err
		}
		return (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	})
}

func convert(name string, marshal func([]byte) ([]byte, error)) {
	in, err := os.ReadFile("../" + name + ".json")
	if err != nil {
		log.Fatal(err)
	}
	out, err := marshal(in)
	if err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	if err := os.WriteFile("../"+name+".pb", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
