;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: call_indirect with a type index past the module's types, where a
;; rewriter appends the type of its own checkpoint function.
;; The module is invalid, so it is assembled without validation. It must
;; be refused at start by an error that names the index, before any
;; rewrite could make the index point at something the host added.
;;
;; Build: wat2wasm --no-check index_type.wat -o index_type.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (table 1 funcref)
  (func (export "wasmcol_process") (param i32) (result i32)
    (call_indirect (type 9) (i32.const 0) (i32.const 0))))
