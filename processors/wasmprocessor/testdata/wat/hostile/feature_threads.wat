;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a shared memory and atomic instructions (0xFE prefix): a shared
;; memory could be written by another agent while the host reads it.
;; A rewriter that decoded it wrongly would lose track of instruction
;; boundaries and could copy a loop it never saw. It must be refused at
;; start.
;;
;; Build: wat2wasm --enable-threads feature_threads.wat -o feature_threads.wasm
(module
  (memory (export "memory") 1 1 shared)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (i32.const 0)))
