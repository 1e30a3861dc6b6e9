;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a 64-bit memory, whose addresses are i64: memory_limit and the
;; host's bounds checks are written for 32-bit memories.
;; A rewriter that decoded it wrongly would lose track of instruction
;; boundaries and could copy a loop it never saw. It must be refused at
;; start.
;;
;; Build: wat2wasm --enable-memory64 feature_memory64.wat -o feature_memory64.wasm
(module
  (memory (export "memory") i64 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (i64.store (i64.const 0) (i64.const 1))
    (i32.const 0)))
