;; Attacks: a Go runtime error in a WASI host function (wazero's fd_read
;; on an iovec ending at 4 GiB) while an instance starts for a batch. The
;; start path reported it as a trap whose error, which on_error: error
;; returns to the receiver's client, held the Collector's Go stack: host
;; file paths and heap addresses (attack round 23).
;; The first instance (started by the processor's Start) starts sound and
;; sets a key; every later one, started for a batch, reaches the panic in
;; wasmcol_init. Needs memory_limit 4096.
;;
;; Build: wat2wasm start_gostack.wat -o start_gostack.wasm
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "kv_get" (func $get (param i32 i32) (result i32)))
  (import "wasmcol" "kv_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\f0\ff\ff\ff\10\00\00\00")
  (data (i32.const 64) "started")
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 7))
  (func (export "wasmcol_init") (result i32)
    (if (i32.lt_s (call $get (i32.const 64) (i32.const 7)) (i32.const 0))
      (then
        (drop (call $set (i32.const 64) (i32.const 7) (i32.const 64) (i32.const 1)))
        (return (i32.const 0))))
    (drop (memory.grow (i32.const 65535)))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))
    (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
