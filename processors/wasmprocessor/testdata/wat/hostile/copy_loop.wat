;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a loop of memory.copy moving half of memory onto the other half
;; and back, 32 MiB at a time, as cheap in instructions as fill_loop.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm copy_loop.wat -o copy_loop.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1024)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    (loop $forever
      (memory.copy (i32.const 0) (i32.const 0x2000000) (i32.const 0x2000000))
      (memory.copy (i32.const 0x2000000) (i32.const 0) (i32.const 0x2000000))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
