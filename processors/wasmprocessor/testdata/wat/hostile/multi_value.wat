;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the rewrite of multi-value code, where a mistake in the block
;; types it adds would either be refused by validation (a denial of
;; service on valid modules) or, worse, accepted with the checks in the
;; wrong place. $pair returns two values and recurses twice per call
;; (a binary call tree of depth 60, with no loop); $spin is a loop that
;; takes and returns three values through its block type and never ends.
;; The processor's config {"p": "t"} picks the tree, {"p": "l"} the
;; loop; both must end as timeouts.
;; A batch of one or two spans gets sandbox.ok=true on its first span;
;; three or more spans trigger the attack.
;;
;; Build: wat2wasm multi_value.wat -o multi_value.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "config" (func $config (result i32)))
  (import "wasmcol" "read" (func $read (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")

  (func $pair (param $n i32) (result i32 i64)
    (if (result i32 i64) (i32.eqz (local.get $n))
      (then (i32.const 1) (i64.const 1))
      (else
        (call $pair (i32.sub (local.get $n) (i32.const 1)))
        (call $pair (i32.sub (local.get $n) (i32.const 1)))
        (drop)
        (drop)
        (return))))

  (func $spin (param i32 i64 f64) (result i32 i64 f64)
    (local.get 0) (local.get 1) (local.get 2)
    (loop $forever (param i32 i64 f64) (result i32 i64 f64)
      (br $forever)))

  (func $attack
    (drop (call $read (i32.const 100) (call $config)))
    (if (i32.eq (i32.load8_u (i32.const 106)) (i32.const 116)) ;; 't'
      (then
        (drop (drop (call $pair (i32.const 60))))
        (return)))
    (drop (drop (drop (call $spin (i32.const 1) (i64.const 2) (f64.const 3))))))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32) (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then (call $attack)))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
