;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a bound on edit application that counts key comparisons but
;; not what a comparison costs. 8,000 SetAttr edits on one span, each with
;; a new 2,078-byte key; the keys differ only in their last four bytes,
;; so every comparison reads the whole key. The count of comparisons
;; (8,000^2/2 = 32 million) passes a bound of 32 million comparisons, but
;; they read 66 GB. The host must either refuse the list as a guest fault
;; or apply it within the batch's time; applying it after the deadline
;; check, where nothing can interrupt it, is the escape.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm edits_long_keys.wat -o edits_long_keys.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 260)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  ;; Each edit: OpSetAttr(1) TableSpan(3) index 0, key length, the key
  ;; ("k" repeated, then the edit's number), TagBool(4) true.
  (func $attack
    (local $i i32) (local $p i32)
    (local.set $p (i32.const 1024))
    (loop $each
      (i32.store16 (local.get $p) (i32.const 0x0301))
      (i32.store offset=2 (local.get $p) (i32.const 0))
      (i32.store offset=6 (local.get $p) (i32.const 2078))
      (memory.fill (i32.add (local.get $p) (i32.const 10)) (i32.const 107) (i32.const 2074))
      (i32.store offset=2084 (local.get $p) (local.get $i))
      (i32.store16 offset=2088 (local.get $p) (i32.const 0x0104))
      (local.set $p (i32.add (local.get $p) (i32.const 2090)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 8000))))
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
