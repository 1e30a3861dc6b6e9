;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the required exports checked by name and arity only.
;; wasmcol_process has one parameter and one result, as the ABI says, but
;; the parameter is an i64: a host that called it would pass the signal
;; in the wrong type. It must be refused at start, naming the export.
;;
;; Build: wat2wasm wrong_export_types.wat -o wrong_export_types.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i64) (result i32) (i32.const 0)))
