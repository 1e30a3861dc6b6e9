;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: loop-free work that a static call graph does not show. $even
;; and $odd call each other through call_indirect, twice per call, via a
;; table, and each is a small function with a single instruction besides
;; the calls, so a meter that skips small functions or trusts direct
;; calls only would never see the 2^63 calls. The attack batch (three or
;; more spans) must end as a timeout.
;;
;; Build: wat2wasm call_tree_indirect.wat -o call_tree_indirect.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (type $step (func (param i32)))
  (table 2 funcref)
  (elem (i32.const 0) $even $odd)

  ;; Each calls table entry (n & 1) with n-1, twice, while n > 0.
  (func $even (type $step) (param $n i32)
    (if (local.get $n)
      (then
        (call_indirect (type $step) (i32.sub (local.get $n) (i32.const 1)) (i32.and (local.get $n) (i32.const 1)))
        (call_indirect (type $step) (i32.sub (local.get $n) (i32.const 1)) (i32.and (local.get $n) (i32.const 1))))))
  (func $odd (type $step) (param $n i32)
    (if (local.get $n)
      (then
        (call_indirect (type $step) (i32.sub (local.get $n) (i32.const 1)) (i32.and (local.get $n) (i32.const 1)))
        (call_indirect (type $step) (i32.sub (local.get $n) (i32.const 1)) (i32.and (local.get $n) (i32.const 1))))))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $even (i32.const 62))))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
