;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a call to a function index past the module's own: indices
;; shift when a rewriter inserts an import, so an unchecked index could
;; land on the host's checkpoint or on another function.
;; The module is invalid, so it is assembled without validation. It must
;; be refused at start by an error that names the index, before any
;; rewrite could make the index point at something the host added.
;;
;; Build: wat2wasm --no-check index_func.wat -o index_func.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (call 5 (i32.const 0))))
