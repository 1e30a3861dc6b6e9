;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: memory.init naming a data segment past the module's own.
;; The module is invalid, so it is assembled without validation. It must
;; be refused at start by an error that names the index, before any
;; rewrite could make the index point at something the host added.
;;
;; Build: wat2wasm --no-check index_data.wat -o index_data.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (data "x")
  (func (export "wasmcol_process") (param i32) (result i32)
    (memory.init 3 (i32.const 0) (i32.const 0) (i32.const 1))
    (i32.const 0)))
