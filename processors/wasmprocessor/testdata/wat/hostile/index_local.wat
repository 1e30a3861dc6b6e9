;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: code naming a local past the function's own. A function that
;; uses memory.fill is where a rewriter adds a scratch local for the bulk
;; operation's size; setting it between the charge and the fill would
;; make the fill look free.
;; The module is invalid, so it is assembled without validation. It must
;; be refused at start by an error that names the index, before any
;; rewrite could make the index point at something the host added.
;;
;; Build: wat2wasm --no-check index_local.wat -o index_local.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param $signal i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 65536))
    (local.set 1 (i32.const 0))
    (i32.const 0)))
