;; A wasmcol filter written by hand in WebAssembly text: it uses ABI v1 with
;; no SDK, to show that any language that reaches linear memory can write a
;; filter. It sets lang="wat" on spans whose name starts with "broker:" and
;; drops spans named "drop".
;;
;; Build: wat2wasm broker_tag.wat -o broker_tag.wasm
(module
  (import "wasmcol" "len" (func $len (param i32) (result i32)))
  (import "wasmcol" "column" (func $column (param i32 i32 i32 i32) (result i32)))
  (import "wasmcol" "read" (func $read (param i32 i32) (result i32)))
  (import "wasmcol" "edit" (func $edit (param i32 i32) (result i32)))
  (import "wasmcol" "fail" (func $fail (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "broker:")
  (data (i32.const 16) "lang")
  (data (i32.const 48) "batch too large for this filter")

  (global $columnAt i32 (i32.const 1024))
  (global $editsAt i32 (i32.const 131072))

  (func (export "wasmcol_abi_version") (result i32) (i32.const 1))
  (func (export "wasmcol_signals") (result i32) (i32.const 1)) ;; traces
  (func (export "wasmcol_init") (result i32) (i32.const 0))

  ;; starts reports whether the 7 bytes at $p are "broker:".
  (func $starts (param $p i32) (result i32)
    (i32.and
      (i32.and
        (i32.eq (i32.load (local.get $p)) (i32.load (i32.const 0)))
        (i32.eq (i32.load16_u offset=4 (local.get $p)) (i32.load16_u (i32.const 4))))
      (i32.eq (i32.load8_u offset=6 (local.get $p)) (i32.load8_u (i32.const 6)))))

  (func (export "wasmcol_process") (param $signal i32) (result i32)
    (local $n i32) (local $size i32) (local $i i32) (local $entry i32)
    (local $name i32) (local $nameLen i32) (local $ed i32)
    (local.set $n (call $len (i32.const 3)))                      ;; TableSpan
    (local.set $size
      (call $column (i32.const 3) (i32.const 3) (i32.const 0) (i32.const 0))) ;; FieldName
    (if (i32.gt_u (local.get $size) (i32.sub (global.get $editsAt) (global.get $columnAt)))
      (then
        (drop (call $fail (i32.const 48) (i32.const 31)))
        (return (i32.const 1))))
    (drop (call $read (global.get $columnAt) (local.get $size)))
    (local.set $ed (global.get $editsAt))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; entry i: tag at +0, data offset at +8, length at +12
        (local.set $entry (i32.add (global.get $columnAt) (i32.mul (local.get $i) (i32.const 16))))
        (local.set $name (i32.add (global.get $columnAt) (i32.load offset=8 (local.get $entry))))
        (local.set $nameLen (i32.load offset=12 (local.get $entry)))
        (if (i32.ge_u (local.get $nameLen) (i32.const 7))
          (then
            (if (call $starts (local.get $name))
              (then
                ;; OpSetAttr(1), TableSpan(3), index, key "lang", TagStr(1) "wat"
                (i32.store8 (local.get $ed) (i32.const 1))
                (i32.store8 offset=1 (local.get $ed) (i32.const 3))
                (i32.store offset=2 (local.get $ed) (local.get $i))
                (i32.store offset=6 (local.get $ed) (i32.const 4))
                (i32.store offset=10 (local.get $ed) (i32.load (i32.const 16)))
                (i32.store8 offset=14 (local.get $ed) (i32.const 1))
                (i32.store offset=15 (local.get $ed) (i32.const 3))
                (i32.store8 offset=19 (local.get $ed) (i32.const 119)) ;; w
                (i32.store8 offset=20 (local.get $ed) (i32.const 97))  ;; a
                (i32.store8 offset=21 (local.get $ed) (i32.const 116)) ;; t
                (local.set $ed (i32.add (local.get $ed) (i32.const 22)))))))
        ;; "drop" is 0x706f7264 read little endian
        (if (i32.eq (local.get $nameLen) (i32.const 4))
          (then
            (if (i32.eq (i32.load (local.get $name)) (i32.const 0x706f7264))
              (then
                ;; OpDrop(5), TableSpan(3), index
                (i32.store8 (local.get $ed) (i32.const 5))
                (i32.store8 offset=1 (local.get $ed) (i32.const 3))
                (i32.store offset=2 (local.get $ed) (local.get $i))
                (local.set $ed (i32.add (local.get $ed) (i32.const 6)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (if (i32.gt_u (local.get $ed) (global.get $editsAt))
      (then
        (drop (call $edit (global.get $editsAt) (i32.sub (local.get $ed) (global.get $editsAt))))))
    (i32.const 0)))
