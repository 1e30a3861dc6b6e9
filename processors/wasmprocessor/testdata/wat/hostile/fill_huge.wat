;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the work between two deadline checks. A bulk operation is
;; charged by its size before it runs, but runs whole: the attack grows
;; memory to the limit and fills all of it, again and again, so each
;; single memory.fill is as large as memory_limit allows. The time past
;; the deadline is then one fill of the whole memory.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm fill_huge.wat -o fill_huge.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    (local $bytes i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    ;; all of memory but the last page: memory.size * 64 KiB would
    ;; overflow an i32 at 4 GiB
    (local.set $bytes (i32.shl (i32.sub (memory.size) (i32.const 1)) (i32.const 16)))
    (loop $forever
      (memory.fill (i32.const 0) (i32.const 0x5a) (local.get $bytes))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
