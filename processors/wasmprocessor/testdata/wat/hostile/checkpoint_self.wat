;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the host's own checkpoint function, imported by the guest.
;; Calling it can only hand out fuel the guest has no way to use: it must
;; still check the deadline, and a stack figure the guest passes must not
;; unlock anything. The guest loops calling it with a stack of 0, then
;; (never reached) with 2^31.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm checkpoint_self.wat -o checkpoint_self.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "checkpoint" (func $checkpoint (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    (loop $forever
      (drop (call $checkpoint (i32.const 0)))
      (br $forever))
    (drop (call $checkpoint (i32.const 0x80000000))))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
