;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: an imported memory. The host provides functions only; a module
;; that imports anything else must be refused at start, by name.
;;
;; Build: wat2wasm import_memory.wat -o import_memory.wasm
(module
  (import "env" "memory" (memory 1))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
