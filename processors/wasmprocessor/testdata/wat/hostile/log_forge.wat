;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the Collector's own log. The attack writes a text built to
;; pass for lines the Collector wrote: a newline, then a timestamp, level,
;; logger and message separated by tabs, a fake zap JSON field, a carriage
;; return, ANSI escapes that clear the screen and colour text, and the
;; Unicode line separator and right-to-left override. It sends the text
;; through every channel a guest has to the log: the log host function at
;; every level, WASI stdout and stderr, and the failure message of the
;; call, which it then fails. No raw control character may reach the
;; Collector's output, and every line of it must be one the Collector's
;; logger wrote.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm log_forge.wat -o log_forge.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  ;; The forged text, 171 bytes at 256.
  (data (i32.const 256)
    "innocent\0a"                                                        ;; 9
    "1999-12-31T23:59:59.999Z\09error\09forged/collector\09"              ;; 48
    "Shutting down\09{\22kind\22: \22forged\22}\0d"                       ;; 33
    "\1b[2J\1b[31mred\1b[0m"                                             ;; 16
    "\e2\80\a8line separator\e2\80\aeright to left\0a"                  ;; 34
    "1999-12-31T23:59:59.999Z\09info\09\0a")                             ;; 31 (171 in all)
  ;; one iovec: the text
  (data (i32.const 128) "\00\01\00\00\ab\00\00\00")

  (func $attack
    (drop (call $log (i32.const 0) (i32.const 256) (i32.const 171)))
    (drop (call $log (i32.const 1) (i32.const 256) (i32.const 171)))
    (drop (call $log (i32.const 2) (i32.const 256) (i32.const 171)))
    (drop (call $log (i32.const 3) (i32.const 256) (i32.const 171)))
    (drop (call $fd_write (i32.const 1) (i32.const 128) (i32.const 1) (i32.const 192)))
    (drop (call $fd_write (i32.const 2) (i32.const 128) (i32.const 1) (i32.const 192)))
    (drop (call $fail (i32.const 256) (i32.const 171))))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then
        (call $attack)
        (return (i32.const 1))))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
