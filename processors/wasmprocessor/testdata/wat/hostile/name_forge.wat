;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the Collector's log through a trap's stack trace. wazero names
;; each frame of a trap's stack trace after the module's "name" section,
;; which the guest writes. The test appends a name section that gives
;; every function a name built to pass for lines the Collector wrote
;; (newlines, a timestamp, tabs, ANSI escapes, a line separator), then the
;; attack batch traps two calls deep. The trap must be counted and no raw
;; control or format character of the guest's may reach the log.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm name_forge.wat -o name_forge.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $attack unreachable)

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
