;; SPDX-License-Identifier: Apache-2.0
;;
;; A module with every wasmcol export except wasmcol_process, as an
;; unrelated or half-built module would look: the host must refuse it at
;; start and name the missing export.
;;
;; Build: wat2wasm missing_export.wat -o missing_export.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0)))
