;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the host's checkpoint imported with another type. The import
;; cannot link; the module must be refused at start.
;;
;; Build: wat2wasm checkpoint_wrong_type.wat -o checkpoint_wrong_type.wasm
(module
  (import "wasmcol" "checkpoint" (func $checkpoint (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
