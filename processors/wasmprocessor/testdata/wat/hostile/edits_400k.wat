;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: applying edits. 400,000 valid SetAttr edits, each with a new
;; key, on the same span: applied naively (each edit scans the span's
;; attributes) that is 8*10^10 key comparisons, minutes of host work after
;; the guest has returned. The host must refuse the list, as a guest
;; fault, in time proportional to its length. With the processor's config
;; {"n": "1"} the list has 100,000 edits instead.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm edits_400k.wat -o edits_400k.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "config" (func $config (result i32)))
  (import "wasmcol" "read" (func $read (param i32 i32) (result i32)))
  (memory (export "memory") 160)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  ;; Each edit is 23 bytes: OpSetAttr(1) TableSpan(3) index 0, a 4-byte
  ;; key (the edit's number), TagInt(2) and 8 bytes.
  (func $attack
    (local $i i32) (local $p i32) (local $n i32)
    (local.set $n (i32.const 400000))
    (if (i32.eq (call $config) (i32.const 9)) ;; {"n":"1"}
      (then
        (drop (call $read (i32.const 100) (i32.const 9)))
        (if (i32.eq (i32.load8_u (i32.const 106)) (i32.const 49))
          (then (local.set $n (i32.const 100000))))))
    (local.set $p (i32.const 1024))
    (loop $each
      (i32.store16 (local.get $p) (i32.const 0x0301))
      (i32.store offset=2 (local.get $p) (i32.const 0))
      (i32.store offset=6 (local.get $p) (i32.const 4))
      (i32.store offset=10 (local.get $p) (local.get $i))
      (i32.store8 offset=14 (local.get $p) (i32.const 2))
      (i64.store offset=15 (local.get $p) (i64.const 7))
      (local.set $p (i32.add (local.get $p) (i32.const 23)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n))))
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
