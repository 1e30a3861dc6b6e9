;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: code naming a global past the module's own. The module has one
;; global; global index 1 is where a rewriter appending its own globals
;; would put its fuel counter, so this loop would refill its own fuel
;; forever.
;; The module is invalid, so it is assembled without validation. It must
;; be refused at start by an error that names the index, before any
;; rewrite could make the index point at something the host added.
;;
;; Build: wat2wasm --no-check index_global.wat -o index_global.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (global $g (mut i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (loop $forever
      (global.set 1 (i32.const 2147483647))
      (br $forever))
    (i32.const 0)))
