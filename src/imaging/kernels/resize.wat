;; Resize kernels in WebAssembly SIMD (f64x2), bit-identical to the TypeScript loops in resize-bicubic.ts and
;; resize-bilinear.ts: the same double-precision products summed in the same order, no fused multiply-add,
;; rounding to float32 only where those loops round. The TypeScript driver lays out the buffers in linear memory
;; and passes byte offsets. Compile with `npm run build:wasm` (tools/build-wasm.ts), which writes resize-wasm.ts.
(module
  (memory (export "memory") 1)

  ;; row[i] = lut[src[i]] for i < n: uint8 codes to float64 (lut: 256 float64 values).
  (func (export "unitRow") (param $src i32) (param $n i32) (param $lut i32) (param $row i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (f64.store (local.get $row)
          (f64.load (i32.add (local.get $lut) (i32.shl (i32.load8_u (local.get $src)) (i32.const 3)))))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $row (i32.add (local.get $row) (i32.const 8)))
        (br $next))))

  ;; Horizontal bicubic taps of one interleaved RGB float64 row into three planar float64 rows at
  ;; dst, dst + plane, dst + 2 * plane (plane = outWidth * 8 bytes). off: 4 int32 byte offsets into the row per
  ;; output pixel; w: 4 float64 weights per output pixel. Red and green go together in one f64x2.
  (func (export "horizontalRgb") (param $row i32) (param $off i32) (param $w i32) (param $dst i32) (param $outWidth i32)
    (local $dx i32) (local $plane i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $w0 f64) (local $w1 f64) (local $w2 f64) (local $w3 f64)
    (local $rg v128)
    (local.set $plane (i32.shl (local.get $outWidth) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dx) (local.get $outWidth)))
        (local.set $p0 (i32.add (local.get $row) (i32.load (local.get $off))))
        (local.set $p1 (i32.add (local.get $row) (i32.load offset=4 (local.get $off))))
        (local.set $p2 (i32.add (local.get $row) (i32.load offset=8 (local.get $off))))
        (local.set $p3 (i32.add (local.get $row) (i32.load offset=12 (local.get $off))))
        (local.set $w0 (f64.load (local.get $w)))
        (local.set $w1 (f64.load offset=8 (local.get $w)))
        (local.set $w2 (f64.load offset=16 (local.get $w)))
        (local.set $w3 (f64.load offset=24 (local.get $w)))
        (local.set $rg
          (f64x2.add
            (f64x2.add
              (f64x2.add
                (f64x2.mul (v128.load (local.get $p0)) (f64x2.splat (local.get $w0)))
                (f64x2.mul (v128.load (local.get $p1)) (f64x2.splat (local.get $w1))))
              (f64x2.mul (v128.load (local.get $p2)) (f64x2.splat (local.get $w2))))
            (f64x2.mul (v128.load (local.get $p3)) (f64x2.splat (local.get $w3)))))
        (f64.store (local.get $dst) (f64x2.extract_lane 0 (local.get $rg)))
        (f64.store (i32.add (local.get $dst) (local.get $plane)) (f64x2.extract_lane 1 (local.get $rg)))
        (f64.store (i32.add (local.get $dst) (i32.shl (local.get $plane) (i32.const 1)))
          (f64.add
            (f64.add
              (f64.add
                (f64.mul (f64.load offset=16 (local.get $p0)) (local.get $w0))
                (f64.mul (f64.load offset=16 (local.get $p1)) (local.get $w1)))
              (f64.mul (f64.load offset=16 (local.get $p2)) (local.get $w2)))
            (f64.mul (f64.load offset=16 (local.get $p3)) (local.get $w3))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (local.set $w (i32.add (local.get $w) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $dx (i32.add (local.get $dx) (i32.const 1)))
        (br $next))))

  ;; out[i] = float32((float32(r0[i] w0 + r1[i] w1 + r2[i] w2 + r3[i] w3) - mean) / std) for i < n: the vertical
  ;; bicubic pass and the normalisation, two outputs at a time.
  (func (export "verticalNormalized")
    (param $r0 i32) (param $r1 i32) (param $r2 i32) (param $r3 i32)
    (param $w0 f64) (param $w1 f64) (param $w2 f64) (param $w3 f64)
    (param $out i32) (param $n i32) (param $mean f64) (param $std f64)
    (local $i i32) (local $pairs i32) (local $v v128) (local $vw0 v128) (local $vw1 v128) (local $vw2 v128) (local $vw3 v128)
    (local $vmean v128) (local $vstd v128) (local $s f64)
    (local.set $vw0 (f64x2.splat (local.get $w0)))
    (local.set $vw1 (f64x2.splat (local.get $w1)))
    (local.set $vw2 (f64x2.splat (local.get $w2)))
    (local.set $vw3 (f64x2.splat (local.get $w3)))
    (local.set $vmean (f64x2.splat (local.get $mean)))
    (local.set $vstd (f64x2.splat (local.get $std)))
    (local.set $pairs (i32.and (local.get $n) (i32.const -2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $pairs)))
        (local.set $v
          (f64x2.add
            (f64x2.add
              (f64x2.add
                (f64x2.mul (v128.load (local.get $r0)) (local.get $vw0))
                (f64x2.mul (v128.load (local.get $r1)) (local.get $vw1)))
              (f64x2.mul (v128.load (local.get $r2)) (local.get $vw2)))
            (f64x2.mul (v128.load (local.get $r3)) (local.get $vw3))))
        (local.set $v (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (local.get $v))))
        (local.set $v (f64x2.div (f64x2.sub (local.get $v) (local.get $vmean)) (local.get $vstd)))
        (v128.store64_lane 0 (local.get $out) (f32x4.demote_f64x2_zero (local.get $v)))
        (local.set $r0 (i32.add (local.get $r0) (i32.const 16)))
        (local.set $r1 (i32.add (local.get $r1) (i32.const 16)))
        (local.set $r2 (i32.add (local.get $r2) (i32.const 16)))
        (local.set $r3 (i32.add (local.get $r3) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $next)))
    (if (i32.lt_u (local.get $pairs) (local.get $n))
      (then
        (local.set $s
          (f64.add
            (f64.add
              (f64.add
                (f64.mul (f64.load (local.get $r0)) (local.get $w0))
                (f64.mul (f64.load (local.get $r1)) (local.get $w1)))
              (f64.mul (f64.load (local.get $r2)) (local.get $w2)))
            (f64.mul (f64.load (local.get $r3)) (local.get $w3))))
        (local.set $s (f64.promote_f32 (f32.demote_f64 (local.get $s))))
        (f32.store (local.get $out)
          (f32.demote_f64 (f64.div (f64.sub (local.get $s) (local.get $mean)) (local.get $std)))))))

  ;; Horizontal bilinear taps of one float32 row: dst[x] = src[i0[x]] (1 - t[x]) + src[i1[x]] t[x] in float64.
  ;; i0, i1: int32 byte offsets into the row; t: float64.
  (func (export "bilinearRow") (param $src i32) (param $i0 i32) (param $i1 i32) (param $t i32) (param $dst i32) (param $n i32)
    (local $x i32) (local $tx f64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $n)))
        (local.set $tx (f64.load (local.get $t)))
        (f64.store (local.get $dst)
          (f64.add
            (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $src) (i32.load (local.get $i0)))))
              (f64.sub (f64.const 1) (local.get $tx)))
            (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $src) (i32.load (local.get $i1)))))
              (local.get $tx))))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 4)))
        (local.set $i1 (i32.add (local.get $i1) (i32.const 4)))
        (local.set $t (i32.add (local.get $t) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $next))))

  ;; out[x] = float32(top[x] (1 - ty) + bottom[x] ty) for x < n, two at a time.
  (func (export "blendRows") (param $top i32) (param $bottom i32) (param $ty f64) (param $out i32) (param $n i32)
    (local $x i32) (local $pairs i32) (local $vs v128) (local $vt v128) (local $sy f64)
    (local.set $sy (f64.sub (f64.const 1) (local.get $ty)))
    (local.set $vs (f64x2.splat (local.get $sy)))
    (local.set $vt (f64x2.splat (local.get $ty)))
    (local.set $pairs (i32.and (local.get $n) (i32.const -2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $pairs)))
        (v128.store64_lane 0 (local.get $out)
          (f32x4.demote_f64x2_zero
            (f64x2.add
              (f64x2.mul (v128.load (local.get $top)) (local.get $vs))
              (f64x2.mul (v128.load (local.get $bottom)) (local.get $vt)))))
        (local.set $top (i32.add (local.get $top) (i32.const 16)))
        (local.set $bottom (i32.add (local.get $bottom) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 2)))
        (br $next)))
    (if (i32.lt_u (local.get $pairs) (local.get $n))
      (then
        (f32.store (local.get $out)
          (f32.demote_f64
            (f64.add
              (f64.mul (f64.load (local.get $top)) (local.get $sy))
              (f64.mul (f64.load (local.get $bottom)) (local.get $ty))))))))
)
