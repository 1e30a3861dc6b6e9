;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the key-value store every instance of a processor shares and
;; that outlives batches. The attack fills it to its byte bound with
;; values of 64 KiB - 1, then, forever, rewrites every value one byte
;; shorter and back, so that no value can be overwritten in place and
;; every write makes garbage. The store must hold no more than its
;; documented bound, and the rewriting must not grow the process.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm kv_fill_rewrite.wat -o kv_fill_rewrite.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  ;; Keys are "kv" and a 4-byte number, at 64; values start at 1024.
  (func $set (param $i i32) (param $size i32) (result i32)
    (i32.store16 (i32.const 64) (i32.const 0x766b))
    (i32.store (i32.const 66) (local.get $i))
    (call $kv_set (i32.const 64) (i32.const 6) (i32.const 1024) (local.get $size)))

  (func $attack
    (local $i i32) (local $n i32) (local $size i32)
    ;; fill until the store refuses
    (loop $fill
      (if (i32.ge_s (call $set (local.get $n) (i32.const 65535)) (i32.const 0))
        (then
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $fill))))
    (local.set $size (i32.const 65534))
    (loop $forever
      (local.set $i (i32.const 0))
      (loop $each
        (drop (call $set (local.get $i) (local.get $size)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $i) (local.get $n))))
      (local.set $size (i32.xor (local.get $size) (i32.const 1)))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
