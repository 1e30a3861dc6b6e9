module github.com/wasmcol/wasmcol/wasm-sdk

go 1.25.0
