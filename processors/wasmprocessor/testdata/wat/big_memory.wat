;; SPDX-License-Identifier: Apache-2.0
;;
;; A filter whose memory starts at 128 MiB (2048 pages): with a smaller
;; memory_limit the host must refuse it at start, before allocating it.
;;
;; Build: wat2wasm big_memory.wat -o big_memory.wasm
(module
  (memory (export "memory") 2048)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param $signal i32) (result i32) (i32.const 0)))
