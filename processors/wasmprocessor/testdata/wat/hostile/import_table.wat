;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: an imported table, which would sit outside the table limit.
;; It must be refused at start.
;;
;; Build: wat2wasm import_table.wat -o import_table.wasm
(module
  (import "env" "table" (table 1000000 funcref))
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
