;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: a module without an export section, where a rewriter that adds
;; exports of its own must not trip on the missing section. It must be
;; refused at start for its missing exports.
;;
;; Build: wat2wasm no_exports.wat -o no_exports.wasm
(module
  (memory 1)
  (func $process (param i32) (result i32) (i32.const 0)))
