;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: an _initialize export that takes a parameter. The host calls
;; _initialize with none; it must refuse the module at start, naming it.
;;
;; Build: wat2wasm initialize_params.wat -o initialize_params.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "_initialize") (param i32))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
