;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the stack, which lives outside linear memory and so outside
;; memory_limit. $down recurses without end, each frame holding a few
;; locals. The attack batch (three or more spans) must end as a trap
;; (stack limit), not a timeout, with the process's memory growing by
;; about the documented stack limit, not by wazero's own 400 MB ceiling.
;;
;; Build: wat2wasm deep_recursion.wat -o deep_recursion.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $down (param $n i64) (result i64)
    (local $a i64) (local $b i64) (local $c i64)
    (local.set $a (i64.mul (local.get $n) (i64.const 3)))
    (local.set $b (i64.add (local.get $n) (i64.const 7)))
    (local.set $c (call $down (i64.add (local.get $n) (i64.const 1))))
    (i64.add (i64.add (local.get $a) (local.get $b)) (local.get $c)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (drop (call $down (i64.const 0)))))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
