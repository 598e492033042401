;; Depth-map code kernels in WebAssembly, equal to the TypeScript loops they replace in io/formats (the 16-bit PNG's
;; linear codes and range, the colour PNG's colormap codes): the same float64 arithmetic and truncations. Compile with
;; `npm run build:wasm` (tools/build-wasm.ts), which writes depth-codes-wasm.ts.
(module
  (memory (export "memory") 1)

;; The smallest and largest finite float32 values of src[0..n) into out (two float64), +inf/-inf when none;
;; NaN and infinities are skipped, as the TypeScript finiteRange does. Four lanes at a time.
  (func (export "finiteRange") (param $src i32) (param $n i32) (param $out i32)
    (local $i i32) (local $quads i32) (local $v v128) (local $finite v128) (local $vmin v128) (local $vmax v128)
    (local $lo f32) (local $hi f32) (local $x f32)
    (local.set $vmin (f32x4.splat (f32.const inf)))
    (local.set $vmax (f32x4.splat (f32.const -inf)))
    (local.set $quads (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $quads)))
        (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $finite (f32x4.eq (f32x4.sub (local.get $v) (local.get $v)) (f32x4.splat (f32.const 0))))
        (local.set $vmin (f32x4.min (local.get $vmin) (v128.bitselect (local.get $v) (f32x4.splat (f32.const inf)) (local.get $finite))))
        (local.set $vmax (f32x4.max (local.get $vmax) (v128.bitselect (local.get $v) (f32x4.splat (f32.const -inf)) (local.get $finite))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (local.set $lo (f32.min (f32.min (f32x4.extract_lane 0 (local.get $vmin)) (f32x4.extract_lane 1 (local.get $vmin)))
                            (f32.min (f32x4.extract_lane 2 (local.get $vmin)) (f32x4.extract_lane 3 (local.get $vmin)))))
    (local.set $hi (f32.max (f32.max (f32x4.extract_lane 0 (local.get $vmax)) (f32x4.extract_lane 1 (local.get $vmax)))
                            (f32.max (f32x4.extract_lane 2 (local.get $vmax)) (f32x4.extract_lane 3 (local.get $vmax)))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
        (if (f32.eq (f32.sub (local.get $x) (local.get $x)) (f32.const 0))
          (then
            (local.set $lo (f32.min (local.get $lo) (local.get $x)))
            (local.set $hi (f32.max (local.get $hi) (local.get $x)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (f64.store (local.get $out) (f64.promote_f32 (local.get $lo)))
    (f64.store offset=8 (local.get $out) (f64.promote_f32 (local.get $hi))))

  ;; dst[i] = 1 + trunc((src[i] - min) * scale + 0.5) as uint16 for finite src[i], 0 otherwise (the linear codes
  ;; of the 16-bit depth PNG; the argument of trunc is >= 0.5, so trunc is the TypeScript `| 0`).
  (func (export "linearCodes") (param $src i32) (param $n i32) (param $min f64) (param $scale f64) (param $dst i32)
    (local $end i32) (local $x f32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $x (f32.load (local.get $src)))
        (i32.store16 (local.get $dst)
          (if (result i32) (f32.eq (f32.sub (local.get $x) (local.get $x)) (f32.const 0))
            (then (i32.add (i32.const 1)
              (i32.trunc_sat_f64_s (f64.add (f64.mul (f64.sub (f64.promote_f32 (local.get $x)) (local.get $min)) (local.get $scale)) (f64.const 0.5)))))
            (else (i32.const 0))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
        (br $next))))

  ;; The colormap code of each finite value: t = span > 0 ? (v - low) / span : 0.5, clamped to [0, 1], 1 - t when
  ;; inverted, code = trunc(t * 255 + 0.5); non-finite values leave dst untouched and are counted (returned).
  (func (export "colorCodes") (param $src i32) (param $n i32) (param $low f64) (param $span f64) (param $inverted i32) (param $dst i32) (result i32)
    (local $end i32) (local $x f32) (local $t f64) (local $invalid i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $x (f32.load (local.get $src)))
        (if (f32.eq (f32.sub (local.get $x) (local.get $x)) (f32.const 0))
          (then
            (local.set $t
              (if (result f64) (f64.gt (local.get $span) (f64.const 0))
                (then (f64.div (f64.sub (f64.promote_f32 (local.get $x)) (local.get $low)) (local.get $span)))
                (else (f64.const 0.5))))
            (local.set $t (select (f64.const 0) (local.get $t) (f64.lt (local.get $t) (f64.const 0))))
            (local.set $t (select (f64.const 1) (local.get $t) (f64.gt (local.get $t) (f64.const 1))))
            (if (local.get $inverted) (then (local.set $t (f64.sub (f64.const 1) (local.get $t)))))
            (i32.store8 (local.get $dst) (i32.trunc_sat_f64_s (f64.add (f64.mul (local.get $t) (f64.const 255)) (f64.const 0.5)))))
          (else (local.set $invalid (i32.add (local.get $invalid) (i32.const 1)))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (br $next)))
    (local.get $invalid))
)
