;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the attribute key of a column call. First a 16 MiB key, which
;; must be refused before the host compares it with anything; then,
;; forever, columns of the largest key the host accepts (4 KiB).
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm column_key.wat -o column_key.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 257)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    (memory.fill (i32.const 4096) (i32.const 107) (i32.const 0x1000000))
    (drop (call $column (i32.const 3) (i32.const 0) (i32.const 4096) (i32.const 0x1000000)))
    (loop $forever
      (drop (call $column (i32.const 3) (i32.const 0) (i32.const 4096) (i32.const 4096)))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
