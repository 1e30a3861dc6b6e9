;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: table.fill and table.copy over the largest table the host allows,
;; in a loop. Table operations are bulk operations on the host's memory
;; and must be charged by their element count.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm table_ops_loop.wat -o table_ops_loop.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 0 funcref)
  (elem declare func $attack)
  ;; A reference to fill with, made once at start: the host refuses
  ;; ref.func in code.
  (global $f funcref (ref.func $attack))
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    (local $n i32)
    ;; grow the table one large step at a time until the host refuses
    (loop $grow
      (br_if $grow (i32.ne (table.grow $t (ref.null func) (i32.const 65536)) (i32.const -1))))
    (local.set $n (table.size $t))
    (loop $forever
      (table.fill $t (i32.const 0) (global.get $f) (local.get $n))
      (table.copy $t $t (i32.const 0) (i32.const 1) (i32.sub (local.get $n) (i32.const 1)))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
