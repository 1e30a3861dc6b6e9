;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: an extended constant expression (i32.add in a global's
;; initialiser), which a rewriter copying constant expressions must not
;; misread.
;; A rewriter that decoded it wrongly would lose track of instruction
;; boundaries and could copy a loop it never saw. It must be refused at
;; start.
;;
;; Build: wat2wasm --enable-extended-const feature_extended_const.wat -o feature_extended_const.wasm
(module
  (memory (export "memory") 1)
  (global $g i32 (i32.add (i32.const 1) (i32.const 2)))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
