;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: table growth, which lives outside linear memory and memory_limit.
;; Sixteen tables (the most the host accepts) of both reference types
;; each grow one element at a time until the host refuses, then keep
;; asking for 2^31 more. The process must grow by no more than the
;; documented table limit, and the attack batch end as a timeout.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm table_grow.wat -o table_grow.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $t0 0 funcref) (table $t1 0 externref) (table $t2 0 funcref) (table $t3 0 externref)
  (table $t4 0 funcref) (table $t5 0 externref) (table $t6 0 funcref) (table $t7 0 externref)
  (table $t8 0 funcref) (table $t9 0 externref) (table $t10 0 funcref) (table $t11 0 externref)
  (table $t12 0 funcref) (table $t13 0 externref) (table $t14 0 funcref) (table $t15 0 externref)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    (loop $t0 (br_if $t0 (i32.ne (table.grow $t0 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t1 (br_if $t1 (i32.ne (table.grow $t1 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $t2 (br_if $t2 (i32.ne (table.grow $t2 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t3 (br_if $t3 (i32.ne (table.grow $t3 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $t4 (br_if $t4 (i32.ne (table.grow $t4 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t5 (br_if $t5 (i32.ne (table.grow $t5 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $t6 (br_if $t6 (i32.ne (table.grow $t6 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t7 (br_if $t7 (i32.ne (table.grow $t7 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $t8 (br_if $t8 (i32.ne (table.grow $t8 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t9 (br_if $t9 (i32.ne (table.grow $t9 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $t10 (br_if $t10 (i32.ne (table.grow $t10 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t11 (br_if $t11 (i32.ne (table.grow $t11 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $t12 (br_if $t12 (i32.ne (table.grow $t12 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t13 (br_if $t13 (i32.ne (table.grow $t13 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $t14 (br_if $t14 (i32.ne (table.grow $t14 (ref.null func) (i32.const 1)) (i32.const -1))))
    (loop $t15 (br_if $t15 (i32.ne (table.grow $t15 (ref.null extern) (i32.const 1)) (i32.const -1))))
    (loop $forever
      (drop (table.grow $t0 (ref.null func) (i32.const 0x7fffffff)))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
