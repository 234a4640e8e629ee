;; The two passes of `resample.ts`'s separable filter, in WebAssembly (SIMD for the columns).
;; `scripts/build-wasm.mjs` assembles this file into `resampleWasm.ts`; a test checks that the two agree.
;;
;; Fixed point: weights are 8-bit, each tap list sums to exactly 256, so every sum of `value * weight` stays below
;; 255 * 256 + 128 and fits a 16-bit lane. Every table is laid out by the caller in this module's memory.
(module
  (memory (export "memory") 1)

  ;; Rows: each of `rows` source rows (RGB, `srcRow` bytes apart) resampled to `size` pixels, into `dst`
  ;; (`size * 3` bytes per row). Output pixel x reads `count[x]` pixels from byte `start[x]` of the row, weighted by
  ;; `weights[x * stride ..]` (all tables of i32).
  (func (export "rows")
    (param $src i32) (param $srcRow i32) (param $rows i32) (param $size i32)
    (param $start i32) (param $count i32) (param $weights i32) (param $stride i32) (param $dst i32)
    (local $y i32) (local $x i32) (local $k i32) (local $n i32) (local $w i32)
    (local $row i32) (local $p i32) (local $wp i32) (local $q i32)
    (local $r i32) (local $g i32) (local $b i32)
    (local.set $q (local.get $dst))
    (block $rowsDone
      (loop $eachRow
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $row (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $srcRow))))
        (local.set $x (i32.const 0))
        (block $pixelsDone
          (loop $eachPixel
            (br_if $pixelsDone (i32.ge_u (local.get $x) (local.get $size)))
            (local.set $p
              (i32.add (local.get $row) (i32.load (i32.add (local.get $start) (i32.shl (local.get $x) (i32.const 2))))))
            (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $x) (i32.const 2)))))
            (local.set $wp
              (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $x) (local.get $stride)) (i32.const 2))))
            (local.set $r (i32.const 128))
            (local.set $g (i32.const 128))
            (local.set $b (i32.const 128))
            (local.set $k (i32.const 0))
            (block $tapsDone
              (loop $eachTap
                (br_if $tapsDone (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $w (i32.load (local.get $wp)))
                (local.set $r (i32.add (local.get $r) (i32.mul (i32.load8_u (local.get $p)) (local.get $w))))
                (local.set $g (i32.add (local.get $g) (i32.mul (i32.load8_u offset=1 (local.get $p)) (local.get $w))))
                (local.set $b (i32.add (local.get $b) (i32.mul (i32.load8_u offset=2 (local.get $p)) (local.get $w))))
                (local.set $p (i32.add (local.get $p) (i32.const 3)))
                (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $eachTap)))
            (i32.store8 (local.get $q) (i32.shr_u (local.get $r) (i32.const 8)))
            (i32.store8 offset=1 (local.get $q) (i32.shr_u (local.get $g) (i32.const 8)))
            (i32.store8 offset=2 (local.get $q) (i32.shr_u (local.get $b) (i32.const 8)))
            (local.set $q (i32.add (local.get $q) (i32.const 3)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $eachPixel)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $eachRow))))

  ;; Columns: output row y (of `size`) is the weighted sum of `count[y]` rows of `src` (`rowLength` bytes each)
  ;; from byte `start[y]`, weighted by `weights[y * stride ..]`, sixteen bytes at a time. A row's last step may read
  ;; and write up to 15 bytes past it: the caller leaves that much room after `src` and `dst`, and the next row
  ;; overwrites what spilled into it.
  (func (export "columns")
    (param $src i32) (param $rowLength i32) (param $size i32)
    (param $start i32) (param $count i32) (param $weights i32) (param $stride i32) (param $dst i32)
    (local $y i32) (local $i i32) (local $k i32) (local $n i32)
    (local $base i32) (local $p i32) (local $wp i32) (local $wy i32) (local $out i32)
    (local $lo v128) (local $hi v128) (local $v v128) (local $w v128)
    (block $rowsDone
      (loop $eachRow
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $size)))
        (local.set $base
          (i32.add (local.get $src) (i32.load (i32.add (local.get $start) (i32.shl (local.get $y) (i32.const 2))))))
        (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $wy
          (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $y) (local.get $stride)) (i32.const 2))))
        (local.set $out (i32.add (local.get $dst) (i32.mul (local.get $y) (local.get $rowLength))))
        (local.set $i (i32.const 0))
        (block $bytesDone
          (loop $eachStep
            (br_if $bytesDone (i32.ge_u (local.get $i) (local.get $rowLength)))
            (local.set $lo (i16x8.splat (i32.const 128)))
            (local.set $hi (local.get $lo))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $wp (local.get $wy))
            (local.set $k (i32.const 0))
            (block $tapsDone
              (loop $eachTap
                (br_if $tapsDone (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $v (v128.load align=1 (local.get $p)))
                (local.set $w (i16x8.splat (i32.load (local.get $wp))))
                (local.set $lo (i16x8.add (local.get $lo) (i16x8.mul (i16x8.extend_low_i8x16_u (local.get $v)) (local.get $w))))
                (local.set $hi (i16x8.add (local.get $hi) (i16x8.mul (i16x8.extend_high_i8x16_u (local.get $v)) (local.get $w))))
                (local.set $p (i32.add (local.get $p) (local.get $rowLength)))
                (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $eachTap)))
            (v128.store align=1
              (i32.add (local.get $out) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.shr_u (local.get $lo) (i32.const 8))
                (i16x8.shr_u (local.get $hi) (i32.const 8))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $eachStep)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $eachRow)))))
