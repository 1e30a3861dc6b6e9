;; SPDX-License-Identifier: Apache-2.0
;;
;; A filter that claims ABI version 2: the host must refuse it at start
;; rather than guess at a layout it does not speak.
;;
;; Build: wat2wasm bad_abi.wat -o bad_abi.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 2))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param $signal i32) (result i32) (i32.const 0)))
