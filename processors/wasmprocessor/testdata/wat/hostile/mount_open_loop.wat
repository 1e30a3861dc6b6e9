;; Attacks: WASI path_open on a granted read-only mount, in a loop, never
;; closing what it opens. Each open is a host file descriptor the instance
;; keeps across calls. Unbounded, 20,000 were gone in 0.4 s and the
;; Collector could open nothing more (attack round 12).
;; It reports on the first span: mount.opened, how many opens succeeded;
;; mount.errno, the WASI errno of the open that failed; and mount.reopen,
;; the errno of one more open after closing one descriptor.
;; A batch of one or two spans behaves; three or more attack.
;;
;; Build: wat2wasm mount_open_loop.wat -o mount_open_loop.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 100) "data.txt")
  ;; Three SetAttr edits on span 0, Int values at 322, 353 and 384.
  (data (i32.const 300)
    "\01\03\00\00\00\00\0b\00\00\00mount.errno\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\0c\00\00\00mount.opened\02\00\00\00\00\00\00\00\00"
    "\01\03\00\00\00\00\0c\00\00\00mount.reopen\02\00\00\00\00\00\00\00\00")
  ;; open data.txt in the mount (preopened as fd 3), read rights, the new
  ;; descriptor written at $at; the WASI errno.
  (func $openData (param $at i32) (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 8)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (local.get $at)))
  (func $attack (local $n i32) (local $errno i32)
    (block $done
      (loop $l
        (local.set $errno (call $openData (i32.const 200)))
        (br_if $done (local.get $errno))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $n) (i32.const 1000000)))
        (br $l)))
    (i64.store (i32.const 322) (i64.extend_i32_u (local.get $errno)))
    (i64.store (i32.const 353) (i64.extend_i32_u (local.get $n)))
    ;; 200 holds the last descriptor opened: close it, and open again.
    (drop (call $close (i32.load (i32.const 200))))
    (i64.store (i32.const 384) (i64.extend_i32_u (call $openData (i32.const 204))))
    (drop (call $edit (i32.const 300) (i32.const 92))))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
