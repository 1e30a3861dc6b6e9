;; Attacks: a start section that opens a file in its mount and then traps
;; when the mount holds a file named "trap". wazero closes nothing of an
;; instance whose start fails, so each failed start kept its file, and
;; its place among the plugin's 64, for the plugin's life (review of
;; round 12).
;; On a batch of three or more spans it opens data.txt until refused and
;; reports on the first span how many opens succeeded, as mount.opened.
;;
;; Build: wat2wasm mount_start_trap.wat -o mount_start_trap.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 100) "data.txt")
  (data (i32.const 120) "trap")
  ;; A SetAttr edit on span 0, its Int value at 323.
  (data (i32.const 300) "\01\03\00\00\00\00\0c\00\00\00mount.opened\02\00\00\00\00\00\00\00\00")
  (func $openData (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 8)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
  (func $start
    (drop (call $openData))
    (if (i32.eqz (call $stat (i32.const 3) (i32.const 0) (i32.const 120) (i32.const 4) (i32.const 500)))
      (then unreachable)))
  (start $start)
  (func $attack (local $n i32)
    (block $done
      (loop $l
        (br_if $done (call $openData))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $n) (i32.const 1000)))
        (br $l)))
    (i64.store (i32.const 323) (i64.extend_i32_u (local.get $n)))
    (drop (call $edit (i32.const 300) (i32.const 31))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
