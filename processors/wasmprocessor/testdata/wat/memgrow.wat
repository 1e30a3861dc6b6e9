;; SPDX-License-Identifier: Apache-2.0
;;
;; A filter that is not written in Go and exhausts its memory: process
;; grows memory one page at a time until memory.grow fails, then traps.
;; The host must report a memory fault, not a plain trap, whatever the
;; guest's language does after a failed grow.
;;
;; Build: wat2wasm memgrow.wat -o memgrow.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param $signal i32) (result i32)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))
