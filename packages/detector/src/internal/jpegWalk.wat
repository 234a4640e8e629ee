;; The walk of `jpegRegions.ts` and `jpegTiles.ts` over a baseline JPEG's entropy-coded data, in WebAssembly: every
;; Huffman code is read, no coefficient is kept. `scripts/build-wasm.mjs` assembles this file into `jpegWalkWasm.ts`;
;; the tests check that the two agree, that parts cut with it decode to the whole image's pixels, and that tiles cut
;; with it are the JPEGs their pixels encode to alone.
;;
;; Bits are read through a 64-bit window (`$buf`, `$held` bits, most significant first), refilled four bytes at a
;; time whenever it holds 32 bits or fewer, so a code (<= 16 bits) and its extra bits (<= 15) are consumed in one
;; step. Each Huffman table is two lookups of i16 entries `(code length << 8) | symbol`: of the next 10 bits (2 KB,
;; which stays in the L1 cache: a 16-bit table alone made every code wait for L2), 0 where the code is longer; then
;; of the next 16 bits, 0 for bits that start no code. The caller lays out every table in this module's memory.
(module
  (memory (export "memory") 1)

  ;; Walks MCUs 0..`$last`. `$data`: the unstuffed data (with 8 bytes of 0xFF after it), up to `$dataEnd`.
  ;; `$blockComp`: one byte per block of an MCU, its component (0-3). `$tabs`: per component, four i32 addresses: its
  ;; DC table's 10-bit and 16-bit lookups, then its AC table's. `$interval`: MCUs per restart interval, 0 for none.
  ;; `$slots`: per MCU, an i32 slot (-1: not recorded). For the `$perMcu` blocks of a recorded MCU in slot s, block
  ;; i writes its DC value (i32) at `$outDc + (s * $perMcu + i) * 4` and the bit positions where its AC codes start
  ;; and end in `$outFrom` and `$outTo`. `$pred`: 4 i32 of scratch. Returns the bit position reached, or -1 on bits
  ;; that are no code and on data that ends before MCU `$last`.
  (func (export "walk")
    (param $data i32) (param $blockComp i32) (param $perMcu i32) (param $tabs i32)
    (param $interval i32) (param $slots i32) (param $last i32) (param $pred i32) (param $dataEnd i32)
    (param $outDc i32) (param $outFrom i32) (param $outTo i32)
    (result i32)
    (local $buf i64) (local $held i32) (local $next i32)
    (local $mcu i32) (local $slot i32) (local $rec i32) (local $b i32) (local $c i32)
    (local $e i32) (local $len i32) (local $s i32) (local $bits i32) (local $diff i32)
    (local $k i32) (local $acFast i32) (local $acFull i32) (local $t i32) (local $rs i32) (local $size i32)
    (local $drop i32) (local $at i32)
    (local.set $next (local.get $data))
    (block $done
      (loop $eachMcu
        (br_if $done (i32.gt_s (local.get $mcu) (local.get $last)))
        ;; Data that ends too early: stop rather than read whatever follows it.
        (if (i32.gt_u (local.get $next) (local.get $dataEnd)) (then (return (i32.const -1))))
        ;; A restart interval ends: the next data starts on a byte, the predictions at zero.
        (if (i32.gt_s (local.get $interval) (i32.const 0))
          (then
            (if (i32.and
                  (i32.gt_s (local.get $mcu) (i32.const 0))
                  (i32.eqz (i32.rem_u (local.get $mcu) (local.get $interval))))
              (then
                (local.set $drop (i32.and (local.get $held) (i32.const 7)))
                (local.set $buf (i64.shl (local.get $buf) (i64.extend_i32_u (local.get $drop))))
                (local.set $held (i32.sub (local.get $held) (local.get $drop)))
                (i64.store (local.get $pred) (i64.const 0))
                (i64.store offset=8 (local.get $pred) (i64.const 0))))))
        (local.set $slot (i32.load (i32.add (local.get $slots) (i32.shl (local.get $mcu) (i32.const 2)))))
        (local.set $rec (i32.mul (local.get $slot) (local.get $perMcu)))
        (local.set $b (i32.const 0))
        (block $blocksDone
          (loop $eachBlock
            (br_if $blocksDone (i32.ge_u (local.get $b) (local.get $perMcu)))
            (local.set $c (i32.load8_u (i32.add (local.get $blockComp) (local.get $b))))
            ;; DC: a code, then `$s` bits of difference.
            (if (i32.le_s (local.get $held) (i32.const 32))
              (then
                (local.set $buf (i64.or (local.get $buf)
                  (i64.shl
                    (i64.extend_i32_u (i32.or (i32.or
                      (i32.shl (i32.load8_u (local.get $next)) (i32.const 24))
                      (i32.shl (i32.load8_u offset=1 (local.get $next)) (i32.const 16)))
                      (i32.or
                        (i32.shl (i32.load8_u offset=2 (local.get $next)) (i32.const 8))
                        (i32.load8_u offset=3 (local.get $next)))))
                    (i64.extend_i32_u (i32.sub (i32.const 32) (local.get $held))))))
                (local.set $next (i32.add (local.get $next) (i32.const 4)))
                (local.set $held (i32.add (local.get $held) (i32.const 32)))))
            (local.set $t (i32.add (local.get $tabs) (i32.shl (local.get $c) (i32.const 4))))
            (local.set $e (i32.load16_u (i32.add (i32.load (local.get $t))
              (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $buf) (i64.const 54))) (i32.const 1)))))
            (if (i32.eqz (local.get $e))
              (then
                (local.set $e (i32.load16_u (i32.add (i32.load offset=4 (local.get $t))
                  (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $buf) (i64.const 48))) (i32.const 1)))))
                (if (i32.eqz (local.get $e)) (then (return (i32.const -1))))))
            (local.set $len (i32.shr_u (local.get $e) (i32.const 8)))
            (local.set $s (i32.and (local.get $e) (i32.const 15)))
            (local.set $buf (i64.shl (local.get $buf) (i64.extend_i32_u (local.get $len))))
            (local.set $held (i32.sub (local.get $held) (local.get $len)))
            (local.set $diff (i32.const 0))
            (if (i32.gt_u (local.get $s) (i32.const 0))
              (then
                (local.set $bits (i32.wrap_i64 (i64.shr_u (local.get $buf)
                  (i64.extend_i32_u (i32.sub (i32.const 64) (local.get $s))))))
                (local.set $buf (i64.shl (local.get $buf) (i64.extend_i32_u (local.get $s))))
                (local.set $held (i32.sub (local.get $held) (local.get $s)))
                (local.set $diff
                  (select
                    (i32.add (i32.sub (local.get $bits) (i32.shl (i32.const 1) (local.get $s))) (i32.const 1))
                    (local.get $bits)
                    (i32.lt_u (local.get $bits) (i32.shl (i32.const 1) (i32.sub (local.get $s) (i32.const 1))))))))
            (local.set $at (i32.add (local.get $pred) (i32.shl (local.get $c) (i32.const 2))))
            (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (local.get $diff)))
            (if (i32.ge_s (local.get $slot) (i32.const 0))
              (then
                (local.set $at (i32.shl (i32.add (local.get $rec) (local.get $b)) (i32.const 2)))
                (i32.store (i32.add (local.get $outDc) (local.get $at)) (i32.load (i32.add (local.get $pred)
                  (i32.shl (local.get $c) (i32.const 2)))))
                (i32.store (i32.add (local.get $outFrom) (local.get $at))
                  (i32.sub (i32.shl (i32.sub (local.get $next) (local.get $data)) (i32.const 3)) (local.get $held)))))
            ;; AC: codes until end of block or the 63rd coefficient; each code and its extra bits in one step.
            (local.set $acFast (i32.load offset=8 (local.get $t)))
            (local.set $acFull (i32.load offset=12 (local.get $t)))
            (local.set $k (i32.const 1))
            (block $acDone
              (loop $eachAc
                (br_if $acDone (i32.ge_u (local.get $k) (i32.const 64)))
                (if (i32.le_s (local.get $held) (i32.const 32))
                  (then
                    (local.set $buf (i64.or (local.get $buf)
                      (i64.shl
                        (i64.extend_i32_u (i32.or (i32.or
                          (i32.shl (i32.load8_u (local.get $next)) (i32.const 24))
                          (i32.shl (i32.load8_u offset=1 (local.get $next)) (i32.const 16)))
                          (i32.or
                            (i32.shl (i32.load8_u offset=2 (local.get $next)) (i32.const 8))
                            (i32.load8_u offset=3 (local.get $next)))))
                        (i64.extend_i32_u (i32.sub (i32.const 32) (local.get $held))))))
                    (local.set $next (i32.add (local.get $next) (i32.const 4)))
                    (local.set $held (i32.add (local.get $held) (i32.const 32)))))
                (local.set $e (i32.load16_u (i32.add (local.get $acFast)
                  (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $buf) (i64.const 54))) (i32.const 1)))))
                (if (i32.eqz (local.get $e))
                  (then
                    (local.set $e (i32.load16_u (i32.add (local.get $acFull)
                      (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $buf) (i64.const 48))) (i32.const 1)))))
                    (if (i32.eqz (local.get $e)) (then (return (i32.const -1))))))
                (local.set $rs (i32.and (local.get $e) (i32.const 255)))
                (local.set $size (i32.and (local.get $rs) (i32.const 15)))
                (local.set $len (i32.add (i32.shr_u (local.get $e) (i32.const 8)) (local.get $size)))
                (local.set $buf (i64.shl (local.get $buf) (i64.extend_i32_u (local.get $len))))
                (local.set $held (i32.sub (local.get $held) (local.get $len)))
                (if (i32.eqz (local.get $size))
                  (then
                    (br_if $acDone (i32.ne (local.get $rs) (i32.const 0xf0)))
                    (local.set $k (i32.add (local.get $k) (i32.const 16))))
                  (else
                    (local.set $k (i32.add (local.get $k) (i32.add (i32.shr_u (local.get $rs) (i32.const 4))
                      (i32.const 1))))))
                (br $eachAc)))
            (if (i32.ge_s (local.get $slot) (i32.const 0))
              (then
                (i32.store
                  (i32.add (local.get $outTo) (i32.shl (i32.add (local.get $rec) (local.get $b)) (i32.const 2)))
                  (i32.sub (i32.shl (i32.sub (local.get $next) (local.get $data)) (i32.const 3)) (local.get $held)))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $eachBlock)))
        (local.set $mcu (i32.add (local.get $mcu) (i32.const 1)))
        (br $eachMcu)))
    (i32.sub (i32.shl (i32.sub (local.get $next) (local.get $data)) (i32.const 3)) (local.get $held)))

  ;; Removes the stuffed zero byte after each 0xFF of the entropy-coded data at `$at` (up to `$end` or EOI), in
  ;; place, and the restart markers when `$restarts`; then writes eight 0xFF bytes after it (the bytes at `$end` and
  ;; `$end + 1` must be readable). Returns the length, or -1 on another marker.
  (func (export "unstuff") (param $at i32) (param $end i32) (param $restarts i32) (result i32)
    (local $r i32) (local $w i32) (local $b i32) (local $n i32)
    (local.set $r (local.get $at))
    (local.set $w (local.get $at))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $r)))
        (if (i32.eq (local.get $b) (i32.const 0xff))
          (then
            (local.set $n (i32.load8_u offset=1 (local.get $r)))
            (local.set $r (i32.add (local.get $r) (i32.const 2)))
            (if (i32.eqz (local.get $n))
              (then
                (i32.store8 (local.get $w) (i32.const 0xff))
                (local.set $w (i32.add (local.get $w) (i32.const 1)))
                (br $each)))
            (br_if $done (i32.eq (local.get $n) (i32.const 0xd9)))
            (br_if $each (i32.and (local.get $restarts)
              (i32.eq (i32.and (local.get $n) (i32.const 0xf8)) (i32.const 0xd0))))
            (return (i32.const -1))))
        (i32.store8 (local.get $w) (local.get $b))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each)))
    (i64.store (local.get $w) (i64.const -1))
    (i32.sub (local.get $w) (local.get $at)))
)
