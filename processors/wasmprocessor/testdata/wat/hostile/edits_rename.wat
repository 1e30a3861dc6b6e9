;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: renaming a large attribute back and forth. The attack batch's
;; first span carries "payload", 8 MiB of bytes; the guest renames it to
;; "p2" and back 350,000 times in one edit list. Applied by copying the
;; value, that is 5.6 TB of copying; the host must move it instead, or
;; refuse. The renames cancel out, so the batch arrives as it was sent,
;; whether the list is applied or refused.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm edits_rename.wat -o edits_rename.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 260)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  ;; OpRenameAttr(3) TableSpan(3) index 0, "payload" -> "p2", then back:
  ;; 23 + 23 bytes
  (data (i32.const 64)
    "\03\03\00\00\00\00\07\00\00\00payload\02\00\00\00p2"
    "\03\03\00\00\00\00\02\00\00\00p2\07\00\00\00payload")

  (func $attack
    (local $i i32) (local $p i32)
    (local.set $p (i32.const 1024))
    (loop $each
      (memory.copy (local.get $p) (i32.const 64) (i32.const 46))
      (local.set $p (i32.add (local.get $p) (i32.const 46)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 350000))))
    (drop (call $edit (i32.const 1024) (i32.sub (local.get $p) (i32.const 1024)))))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then
        (call $attack)
        (return (i32.const 0))))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
