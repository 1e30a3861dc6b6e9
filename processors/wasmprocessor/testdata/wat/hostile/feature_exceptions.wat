;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: exception handling (try, throw), whose instructions carry
;; immediates the host does not know.
;; A rewriter that decoded it wrongly would lose track of instruction
;; boundaries and could copy a loop it never saw. It must be refused at
;; start.
;;
;; Build: wat2wasm --enable-exceptions feature_exceptions.wat -o feature_exceptions.wasm
(module
  (memory (export "memory") 1)
  (tag $boom)
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (try (do (loop $forever (br $forever))) (catch $boom))
    (i32.const 0)))
