;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: an imported mutable global: the index space a rewriter appends
;; its own globals to. It must be refused at start.
;;
;; Build: wat2wasm import_global.wat -o import_global.wasm
(module
  (import "env" "fuel" (global (mut i32)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
