;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: otlp_get in a loop, each result read into guest memory: every call
;; makes the host encode the whole batch. The host must check the deadline
;; on every call and bound what a result may hold.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm otlp_get_loop.wat -o otlp_get_loop.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "otlp_get" (func $otlp_get (result i32)))
  (import "wasmcol" "read" (func $read (param i32 i32) (result i32)))
  (memory (export "memory") 256)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack
    (loop $forever
      (drop (call $read (i32.const 4096) (call $otlp_get)))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
