;; Attacks: WASI fd_read and fd_pread of a large mounted file, each naming
;; 64 iovecs of 1 MiB over one buffer. wazero reads every iovec of a call
;; in one go, where no deadline reaches: 1,024 such iovecs read 1 GiB a
;; call.
;; It reports on the first span the bytes each call read, as mount.nread
;; and mount.npread, and the errno of the first as mount.errno.
;; A batch of one or two spans behaves; three or more attack.
;;
;; Build: wat2wasm mount_read_huge.wat -o mount_read_huge.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread"
    (func $pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  ;; 18 pages: the iovecs' buffer is [65536, 65536 + 1 MiB).
  (memory (export "memory") 18)
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 100) "big")
  ;; Three SetAttr edits on span 0, Int values at 322, 352 and 383.
  (data (i32.const 300)
    "\01\03\00\00\00\00\0b\00\00\00mount.errno\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\0b\00\00\00mount.nread\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\0c\00\00\00mount.npread\02\00\00\00\00\00\00\00\00")
  (func $attack (local $i i32) (local $fd i32)
    ;; 64 iovecs at 1024, each {65536, 1 MiB}
    (loop $l
      (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 3))) (i32.const 65536))
      (i32.store (i32.add (i32.const 1028) (i32.shl (local.get $i) (i32.const 3))) (i32.const 0x100000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 64))))
    ;; open big in the mount (preopened as fd 3), read rights; fd at 200
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 3)
      (i32.const 0) (i64.const 6) (i64.const 0) (i32.const 0) (i32.const 200)))
    (local.set $fd (i32.load (i32.const 200)))
    (i64.store (i32.const 322) (i64.extend_i32_u
      (call $read (local.get $fd) (i32.const 1024) (i32.const 64) (i32.const 208))))
    (i64.store (i32.const 352) (i64.extend_i32_u (i32.load (i32.const 208))))
    (drop (call $pread (local.get $fd) (i32.const 1024) (i32.const 64) (i64.const 0) (i32.const 212)))
    (i64.store (i32.const 383) (i64.extend_i32_u (i32.load (i32.const 212))))
    (drop (call $close (local.get $fd)))
    (drop (call $edit (i32.const 300) (i32.const 91))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
