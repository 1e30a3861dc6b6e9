;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a second memory, outside memory_limit, and instructions naming
;; memory 1.
;; A rewriter that decoded it wrongly would lose track of instruction
;; boundaries and could copy a loop it never saw. It must be refused at
;; start.
;;
;; Build: wat2wasm --enable-multi-memory feature_multi_memory.wat -o feature_multi_memory.wasm
(module
  (memory (export "memory") 1)
  (memory $two 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (i32.store $two (i32.const 0) (i32.const 1))
    (drop (memory.grow $two (i32.const 1000)))
    (i32.const 0)))
