;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the Collector's output when a filter fails to start. The
;; guest's init fails with a message built to pass for lines the
;; Collector wrote (the text of log_forge.wat: newlines, a timestamp,
;; tabs, ANSI escapes). The Collector must refuse to start and say why,
;; but no raw control character of the guest's may reach its output.
;;
;; Build: wat2wasm init_forge.wat -o init_forge.wasm
(module
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; The forged text, 171 bytes at 256.
  (data (i32.const 256)
    "innocent\0a"                                                        ;; 9
    "1999-12-31T23:59:59.999Z\09error\09forged/collector\09"              ;; 48
    "Shutting down\09{\22kind\22: \22forged\22}\0d"                       ;; 33
    "\1b[2J\1b[31mred\1b[0m"                                             ;; 16
    "\e2\80\a8line separator\e2\80\aeright to left\0a"                  ;; 34
    "1999-12-31T23:59:59.999Z\09info\09\0a")                             ;; 31 (171 in all)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32)
    (drop (call $fail (i32.const 256) (i32.const 171)))
    (i32.const 1))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
