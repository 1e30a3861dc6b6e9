;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a (start) section that never returns. It runs inside
;; instantiation, before any export is called, so only a deadline that
;; covers instantiation itself can stop it. The processor must fail to
;; start, saying the start did not finish in time, instead of never
;; becoming ready.
;;
;; Build: wat2wasm start_loop.wat -o start_loop.wasm
(module
  (memory (export "memory") 1)
  (func $spin (loop $forever (br $forever)))
  (start $spin)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
