;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: tail calls (return_call), an instruction outside the features the
;; host supports: a tail-recursive loop with no loop instruction.
;; A rewriter that decoded it wrongly would lose track of instruction
;; boundaries and could copy a loop it never saw. It must be refused at
;; start.
;;
;; Build: wat2wasm --enable-tail-call feature_tail_call.wat -o feature_tail_call.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func $spin (param i32) (result i32) (return_call $spin (local.get 0)))
  (func (export "wasmcol_process") (param i32) (result i32) (call $spin (local.get 0))))
