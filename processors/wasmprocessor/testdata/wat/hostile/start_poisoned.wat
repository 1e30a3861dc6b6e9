;; SPDX-License-Identifier: Apache-2.0
;;
;; Attacks: the guest phases that run when an instance is re-created
;; inside a batch, after a fault. The first instance starts cleanly. An
;; attack batch (three or more spans) leaves the key "poison" in the
;; shared key-value store and traps, so the instance is discarded; the
;; next batch must start a new one, and every start phase of that new
;; instance reads the key and, finding it, deletes it and attacks:
;; the processor's config {"p": "<phase>"} says which phase attacks:
;;   "s" the (start) section loops forever;
;;   "i" _initialize loops forever;
;;   "r" _initialize recurses without end;
;;   "w" wasmcol_init sleeps for an hour at a time in WASI poll_oneoff.
;; Each must cost no more than the batch's timeout, be counted, and leave
;; the next batch to a healthy instance.
;;
;; Build: wat2wasm start_poisoned.wat -o start_poisoned.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "kv_get" (func $kv_get (param i32 i32) (result i32)))
  (import "wasmcol" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "kv_delete" (func $kv_delete (param i32 i32) (result i32)))
  (import "wasmcol" "read" (func $read (param i32 i32) (result i32)))
  (import "wasmcol" "config" (func $config (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; OpSetAttr(1) TableSpan(3) index 0, key "sandbox.ok", TagBool(4) true
  (data (i32.const 0) "\01\03\00\00\00\00\0a\00\00\00sandbox.ok\04\01")
  (data (i32.const 64) "poison")
  ;; a clock subscription (userdata, type 0 clock, id, timeout 1 hour
  ;; relative, precision, flags 0)
  (data (i32.const 256) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\68\c4\61\4a\03\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")

  ;; $poisoned: the key is there and the config, {"p":"<phase>"}, names
  ;; this phase; the key is deleted, so only one start attacks.
  (func $poisoned (param $phase i32) (result i32)
    (if (i32.lt_s (call $kv_get (i32.const 64) (i32.const 6)) (i32.const 0))
      (then (return (i32.const 0))))
    (if (i32.ne (call $config) (i32.const 9))
      (then (return (i32.const 0))))
    (drop (call $read (i32.const 100) (i32.const 9)))
    (if (i32.ne (i32.load8_u (i32.const 106)) (local.get $phase))
      (then (return (i32.const 0))))
    (drop (call $kv_delete (i32.const 64) (i32.const 6)))
    (i32.const 1))

  (func $recurse (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))

  (func $start
    (if (call $poisoned (i32.const 115)) ;; 's'
      (then (loop $forever (br $forever)))))
  (start $start)

  (func (export "_initialize")
    (if (call $poisoned (i32.const 105)) ;; 'i'
      (then (loop $forever (br $forever))))
    (if (call $poisoned (i32.const 114)) ;; 'r'
      (then (drop (call $recurse (i32.const 0))))))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1))
  (func (export "wasmcol_init") (result i32)
    (if (call $poisoned (i32.const 119)) ;; 'w'
      (then
        (loop $sleep
          (drop (call $poll (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 600)))
          (br $sleep))))
    (i32.const 0))
  (func (export "wasmcol_process") (param i32) (result i32)
    (if (i32.ge_u (call $len (i32.const 3)) (i32.const 3))
      (then
        (drop (call $kv_set (i32.const 64) (i32.const 6) (i32.const 64) (i32.const 6)))
        unreachable))
    (drop (call $edit (i32.const 0) (i32.const 22)))
    (i32.const 0)))
