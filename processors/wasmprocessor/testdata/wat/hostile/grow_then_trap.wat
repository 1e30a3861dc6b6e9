;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: host work a guest causes after its call has ended. The attack
;; grows memory to the largest size memory_limit allows, without touching
;; a byte of it (so the system backs none of it), then traps. The
;; instance is discarded; if the host readies its memory for the next
;; instance by clearing it in the batch, it writes every byte the guest
;; declared: the batch comes back that much later. The attack batch must
;; come back close to the fault. (The host backs a memory as it grows,
;; within the call's time, so the memory declared is resident, bounded by
;; memory_limit.)
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm grow_then_trap.wat -o grow_then_trap.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    ;; a page at a time until the limit: each grow is refused only there
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
