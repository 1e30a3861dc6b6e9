;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: work with no loop at all. $tree(n) calls itself twice with
;; n-1, so $tree(62) makes 2^63 calls while the stack never gets deeper
;; than 62 frames: a deadline checked only at loop back-edges never runs,
;; and a stack limit never trips. Only a check at function entry stops it.
;; The attack batch (three or more spans) must end as a timeout.
;;
;; Build: wat2wasm call_tree.wat -o call_tree.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $tree (param $n i32) (result i64)
    (if (result i64) (i32.eqz (local.get $n))
      (then (i64.const 1))
      (else
        (i64.add
          (call $tree (i32.sub (local.get $n) (i32.const 1)))
          (call $tree (i32.sub (local.get $n) (i32.const 1)))))))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (drop (call $tree (i32.const 62)))))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
