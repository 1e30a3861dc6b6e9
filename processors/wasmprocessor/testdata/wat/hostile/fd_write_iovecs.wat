;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: WASI fd_write, a host call where no compiled check runs. First
;; one call naming a million iovecs, then, forever, calls naming 1024
;; iovecs of 64 KiB each to stdout and stderr, half of them newlines:
;; every call must be bounded in iovecs and bytes, check the deadline, and
;; feed the rate-limited log rather than the Collector's output.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm fd_write_iovecs.wat -o fd_write_iovecs.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 256)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  ;; iovecs at 1 MiB: 1024 of them, each 64 KiB of the text at 64 KiB;
  ;; the text is "x" with a newline every 100 bytes.
  (func $attack
    (local $i i32)
    (memory.fill (i32.const 65536) (i32.const 120) (i32.const 65536))
    (loop $nl
      (i32.store8 (i32.add (i32.const 65536) (local.get $i)) (i32.const 10))
      (local.set $i (i32.add (local.get $i) (i32.const 100)))
      (br_if $nl (i32.lt_u (local.get $i) (i32.const 65536))))
    (local.set $i (i32.const 0))
    (loop $iov
      (i32.store (i32.add (i32.const 0x100000) (i32.shl (local.get $i) (i32.const 3))) (i32.const 65536))
      (i32.store offset=4 (i32.add (i32.const 0x100000) (i32.shl (local.get $i) (i32.const 3))) (i32.const 65536))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $iov (i32.lt_u (local.get $i) (i32.const 1000000))))
    (drop (call $fd_write (i32.const 1) (i32.const 0x100000) (i32.const 1000000) (i32.const 64)))
    (loop $forever
      (drop (call $fd_write (i32.const 1) (i32.const 0x100000) (i32.const 1024) (i32.const 64)))
      (drop (call $fd_write (i32.const 2) (i32.const 0x100000) (i32.const 1024) (i32.const 64)))
      (br $forever)))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
