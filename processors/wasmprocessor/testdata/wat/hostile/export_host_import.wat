;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: an export that is a host function itself: wasmcol_init is the
;; imported wasmcol.config, whose type () -> i32 matches. The host then
;; calls its own function as the guest's init; it must not matter: the
;; "init" answers 2 (the length of {}), which is a failed init.
;;
;; Build: wat2wasm export_host_import.wat -o export_host_import.wasm
(module
  (import "wasmcol" "config" (func $config (result i32)))
  (memory (export "memory") 1)
  (export "wasmcol_init" (func $config))
  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_process") (param i32) (result i32) (i32.const 0)))
