;; Attacks: wazero's rewind of a directory opens it again by name and,
;; when what it opened is no longer a directory, returns notdir without
;; closing it: each rewind a file wazero has lost, its place among the
;; plugin's 64 taken for good (attack round 14). This needs the host's
;; help: the directory must become a file between two calls.
;; The first attacking call opens "sub" (a directory) and reads it, and
;; reports the open's WASI errno as m.rd. Later ones read it from the
;; start 100 times (each a rewind) and report the last errno as m.rd,
;; then open data.txt until refused, keeping what they open, and report
;; how many opened as m.opened.
;; A batch of one or two spans behaves; three or more attack.
;;
;; Build: wat2wasm mount_rewind_lost.wat -o mount_rewind_lost.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 2)
  (global $phase (mut i32) (i32.const 0))
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 100) "data.txt")
  (data (i32.const 110) "sub")
  (data (i32.const 300)
    "\01\03\00\00\00\00\08\00\00\00m.opened\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\04\00\00\00m.rd\02\00\00\00\00\00\00\00\00")
  (func $rd (result i32)
    (call $readdir (i32.load (i32.const 208)) (i32.const 4096) (i32.const 4096) (i64.const 0) (i32.const 996)))
  (func $attack (local $n i32) (local $i i32) (local $e i32)
    (if (i32.eqz (global.get $phase))
      (then
        (global.set $phase (i32.const 1))
        (i64.store (i32.const 343) (i64.extend_i32_u
          (call $open (i32.const 3) (i32.const 0) (i32.const 110) (i32.const 3)
            (i32.const 2) (i64.const 0x4002) (i64.const 0) (i32.const 0) (i32.const 208))))
        (drop (call $rd))
        (drop (call $edit (i32.const 300) (i32.const 50)))
        (return)))
    (block $d
      (loop $l
        (local.set $e (call $rd))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 100)))))
    (i64.store (i32.const 342) (i64.extend_i32_u (local.get $e)))
    (block $done
      (loop $l
        (br_if $done (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 8)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $n) (i32.const 1000)))
        (br $l)))
    (i64.store (i32.const 319) (i64.extend_i32_u (local.get $n)))
    (drop (call $edit (i32.const 300) (i32.const 50))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
