;; SPDX-License-Identifier: Apache-2.0
;;
;; A well-formed wasmcol v1 filter for traces whose process reads far past
;; the end of its one-page memory on every batch: an out-of-bounds access
;; that the runtime must turn into a trap, not a read of host memory.
;;
;; Build: wat2wasm oob.wat -o oob.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param $signal i32) (result i32)
    (i32.load (i32.const 0x7ffffff0))))
