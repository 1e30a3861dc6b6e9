;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: WASI poll_oneoff. First with 2^31-1 subscriptions, which would
;; have the host read and write 150 GiB of subscriptions and events; then,
;; forever, with 64 clock subscriptions of an hour each, so the guest
;; sleeps inside the host where no compiled check runs.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm poll_oneoff_huge.wat -o poll_oneoff_huge.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  ;; 64 subscriptions of 48 bytes at 1024: userdata, type 0 (clock),
  ;; clock id, timeout (relative, ns), precision, flags 0.
  (func $attack
    (local $i i32) (local $s i32)
    (loop $sub
      (local.set $s (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 48))))
      (i64.store offset=24 (local.get $s) (i64.const 3600000000000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $sub (i32.lt_u (local.get $i) (i32.const 64))))
    (drop (call $poll (i32.const 1024) (i32.const 8192) (i32.const 0x7fffffff) (i32.const 64)))
    (loop $forever
      (drop (call $poll (i32.const 1024) (i32.const 8192) (i32.const 64) (i32.const 64)))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
