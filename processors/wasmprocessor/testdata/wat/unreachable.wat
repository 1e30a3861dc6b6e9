;; SPDX-License-Identifier: Apache-2.0
;;
;; A well-formed wasmcol v1 filter for traces whose process traps with
;; `unreachable` on every batch: the plainest trap a guest can raise.
;;
;; Build: wat2wasm unreachable.wat -o unreachable.wasm
(module
  (memory (export "memory") 1)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param $signal i32) (result i32)
    unreachable))
