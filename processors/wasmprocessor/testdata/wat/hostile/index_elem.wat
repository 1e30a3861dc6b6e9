;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: an element segment naming a function past the module's own, so
;; that call_indirect would reach it.
;; The module is invalid, so it is assembled without validation. It must
;; be refused at start by an error that names the index, before any
;; rewrite could make the index point at something the host added.
;;
;; Build: wat2wasm --no-check index_elem.wat -o index_elem.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (table 1 funcref)
  (elem (i32.const 0) 17)
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
