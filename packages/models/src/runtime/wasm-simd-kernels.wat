;; Data-movement kernels of the U-Net training step, in WebAssembly with 128-bit SIMD, run on
;; TensorFlow.js' wasm backend heap (its memory is imported, so tensors are read and written where
;; they lie). Loaded by wasm-simd-kernels.ts; the binary is wasm-simd-kernels.generated.ts, made
;; from this file by `npx tsx tools/build-wasm-kernels.ts` (a test checks that they agree).
;;
;; Every address and length is in float32 elements (element i is at byte 4 i). Images are NHWC.
;; Vector loops need the channel count C (or the run length) to be a multiple of 4 where stated;
;; the JavaScript side checks that before calling.
(module
  (import "env" "memory" (memory 0))

  ;; Copies `rows` runs of `n` floats: run r goes from src + r ss to dst + r ds. Concatenation
  ;; along an axis (one call per input) and its inverse, the split. Runs of 64 floats or more use
  ;; memory.copy; shorter runs a vector loop with a scalar tail (bit-exact either way).
  (func (export "copy_rows") (param $dst i32) (param $ds i32) (param $src i32) (param $ss i32) (param $n i32) (param $rows i32)
    (local $r i32) (local $i i32) (local $nv i32) (local $nb i32)
    (local.set $dst (i32.shl (local.get $dst) (i32.const 2)))
    (local.set $src (i32.shl (local.get $src) (i32.const 2)))
    (local.set $ds (i32.shl (local.get $ds) (i32.const 2)))
    (local.set $ss (i32.shl (local.get $ss) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $nv (i32.and (local.get $nb) (i32.const -16)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (if (i32.ge_u (local.get $n) (i32.const 64))
          (then (memory.copy (local.get $dst) (local.get $src) (local.get $nb)))
          (else
            (local.set $i (i32.const 0))
            (block $vend
              (loop $vec
                (br_if $vend (i32.ge_u (local.get $i) (local.get $nv)))
                (v128.store align=4 (i32.add (local.get $dst) (local.get $i))
                  (v128.load align=4 (i32.add (local.get $src) (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br $vec)))
            (block $send
              (loop $sca
                (br_if $send (i32.ge_u (local.get $i) (local.get $nb)))
                (i32.store (i32.add (local.get $dst) (local.get $i))
                  (i32.load (i32.add (local.get $src) (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $sca)))))
        (local.set $dst (i32.add (local.get $dst) (local.get $ds)))
        (local.set $src (i32.add (local.get $src) (local.get $ss)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; Nearest-neighbour upsampling by integer factors (fy, fx):
  ;; out[b, y', x', c] = x[b, floor(y' / fy), floor(x' / fx), c]; x is B x H x W x C with C % 4 == 0.
  ;; Each output row is written once from the input row, then repeated fy - 1 times.
  (func (export "upsample_nearest") (param $out i32) (param $x i32) (param $bh i32) (param $w i32) (param $c i32) (param $fy i32) (param $fx i32)
    (local $row i32) (local $px i32) (local $j i32) (local $k i32) (local $i i32)
    (local $rowBytes i32) (local $cb i32) (local $o i32) (local $s i32) (local $d i32)
    (local.set $out (i32.shl (local.get $out) (i32.const 2)))
    (local.set $x (i32.shl (local.get $x) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowBytes (i32.mul (i32.mul (local.get $w) (local.get $fx)) (local.get $cb)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $bh)))
        (local.set $o (local.get $out))
        (local.set $px (i32.const 0))
        (block $pend
          (loop $pixels
            (br_if $pend (i32.ge_u (local.get $px) (local.get $w)))
            (local.set $j (i32.const 0))
            (block $jend
              (loop $reps
                (br_if $jend (i32.ge_u (local.get $j) (local.get $fx)))
                (local.set $k (i32.const 0))
                (block $kend
                  (loop $chan
                    (br_if $kend (i32.ge_u (local.get $k) (local.get $cb)))
                    (v128.store align=4 (i32.add (local.get $o) (local.get $k))
                      (v128.load align=4 (i32.add (local.get $x) (local.get $k))))
                    (local.set $k (i32.add (local.get $k) (i32.const 16)))
                    (br $chan)))
                (local.set $o (i32.add (local.get $o) (local.get $cb)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $reps)))
            (local.set $x (i32.add (local.get $x) (local.get $cb)))
            (local.set $px (i32.add (local.get $px) (i32.const 1)))
            (br $pixels)))
        ;; o is now out + rowBytes: repeat the row written at `out`.
        (local.set $i (i32.const 1))
        (block $iend
          (loop $copies
            (br_if $iend (i32.ge_u (local.get $i) (local.get $fy)))
            (memory.copy (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $rowBytes))) (local.get $out) (local.get $rowBytes))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $copies)))
        (local.set $out (i32.add (local.get $out) (i32.mul (local.get $fy) (local.get $rowBytes))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))

  ;; Gradient of upsample_nearest: dx[b, y, x, c] = sum_{i < fy, j < fx} dy[b, y fy + i, x fx + j, c],
  ;; summed from 0 in the order (i, j) row-major; dx is B x H x W x C with C % 4 == 0. Every dx
  ;; element is written once (no zero fill).
  (func (export "upsample_nearest_grad") (param $dx i32) (param $dy i32) (param $bh i32) (param $w i32) (param $c i32) (param $fy i32) (param $fx i32)
    (local $row i32) (local $px i32) (local $k i32) (local $i i32) (local $j i32)
    (local $cb i32) (local $rowBytes2 i32) (local $base i32) (local $p i32) (local $acc v128)
    (local.set $dx (i32.shl (local.get $dx) (i32.const 2)))
    (local.set $dy (i32.shl (local.get $dy) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    ;; bytes of one dy row: W fx C floats
    (local.set $rowBytes2 (i32.mul (i32.mul (local.get $w) (local.get $fx)) (local.get $cb)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $bh)))
        (local.set $px (i32.const 0))
        (block $pend
          (loop $pixels
            (br_if $pend (i32.ge_u (local.get $px) (local.get $w)))
            ;; first dy element of this window: row (row fy), column (px fx)
            (local.set $base (i32.add (local.get $dy)
              (i32.mul (i32.mul (local.get $px) (local.get $fx)) (local.get $cb))))
            (local.set $k (i32.const 0))
            (block $kend
              (loop $chan
                (br_if $kend (i32.ge_u (local.get $k) (local.get $cb)))
                (local.set $acc (v128.const f32x4 0 0 0 0))
                (local.set $i (i32.const 0))
                (block $iend
                  (loop $wy
                    (br_if $iend (i32.ge_u (local.get $i) (local.get $fy)))
                    (local.set $p (i32.add (i32.add (local.get $base) (local.get $k))
                      (i32.mul (local.get $i) (local.get $rowBytes2))))
                    (local.set $j (i32.const 0))
                    (block $jend
                      (loop $wx
                        (br_if $jend (i32.ge_u (local.get $j) (local.get $fx)))
                        (local.set $acc (f32x4.add (local.get $acc) (v128.load align=4 (local.get $p))))
                        (local.set $p (i32.add (local.get $p) (local.get $cb)))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br $wx)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $wy)))
                (v128.store align=4 (i32.add (local.get $dx) (local.get $k)) (local.get $acc))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $chan)))
            (local.set $dx (i32.add (local.get $dx) (local.get $cb)))
            (local.set $px (i32.add (local.get $px) (i32.const 1)))
            (br $pixels)))
        (local.set $dy (i32.add (local.get $dy) (i32.mul (local.get $fy) (local.get $rowBytes2))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))

  ;; Max-pooling gradient for windows that tile the input exactly (window = stride, no padding):
  ;; x is B x (OH fh) x (OW fw) x C, dy B x OH x OW x C, C % 4 == 0. Within each window the first
  ;; maximum in row-major order takes dy, every other position 0 (a window of NaN or -Infinity
  ;; only passes nothing on, as the JavaScript kernel). Every dx element is written once.
  (func (export "max_pool_grad") (param $dx i32) (param $x i32) (param $dy i32) (param $boh i32) (param $ow i32) (param $c i32) (param $fh i32) (param $fw i32)
    (local $row i32) (local $px i32) (local $k i32) (local $i i32) (local $j i32) (local $t i32)
    (local $cb i32) (local $rowBytes i32) (local $base i32) (local $p i32)
    (local $v v128) (local $best v128) (local $at v128) (local $m v128) (local $g v128)
    (local.set $dx (i32.shl (local.get $dx) (i32.const 2)))
    (local.set $x (i32.shl (local.get $x) (i32.const 2)))
    (local.set $dy (i32.shl (local.get $dy) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    ;; bytes of one input row: OW fw C floats
    (local.set $rowBytes (i32.mul (i32.mul (local.get $ow) (local.get $fw)) (local.get $cb)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $row) (local.get $boh)))
        (local.set $px (i32.const 0))
        (block $pend
          (loop $pixels
            (br_if $pend (i32.ge_u (local.get $px) (local.get $ow)))
            ;; byte offset of the window's first element relative to x (and to dx)
            (local.set $base (i32.add
              (i32.mul (i32.mul (local.get $row) (local.get $fh)) (local.get $rowBytes))
              (i32.mul (i32.mul (local.get $px) (local.get $fw)) (local.get $cb))))
            (local.set $k (i32.const 0))
            (block $kend
              (loop $chan
                (br_if $kend (i32.ge_u (local.get $k) (local.get $cb)))
                (local.set $best (v128.const f32x4 -inf -inf -inf -inf))
                (local.set $at (v128.const i32x4 -1 -1 -1 -1))
                (local.set $t (i32.const 0))
                (local.set $i (i32.const 0))
                (block $iend
                  (loop $wy
                    (br_if $iend (i32.ge_u (local.get $i) (local.get $fh)))
                    (local.set $p (i32.add (i32.add (local.get $base) (local.get $k))
                      (i32.mul (local.get $i) (local.get $rowBytes))))
                    (local.set $j (i32.const 0))
                    (block $jend
                      (loop $wx
                        (br_if $jend (i32.ge_u (local.get $j) (local.get $fw)))
                        (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $p))))
                        (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                        (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                        (local.set $at (v128.bitselect (i32x4.splat (local.get $t)) (local.get $at) (local.get $m)))
                        (local.set $t (i32.add (local.get $t) (i32.const 1)))
                        (local.set $p (i32.add (local.get $p) (local.get $cb)))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br $wx)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $wy)))
                (local.set $g (v128.load align=4 (i32.add (local.get $dy) (local.get $k))))
                (local.set $t (i32.const 0))
                (local.set $i (i32.const 0))
                (block $iend2
                  (loop $wy2
                    (br_if $iend2 (i32.ge_u (local.get $i) (local.get $fh)))
                    (local.set $p (i32.add (i32.add (local.get $base) (local.get $k))
                      (i32.mul (local.get $i) (local.get $rowBytes))))
                    (local.set $j (i32.const 0))
                    (block $jend2
                      (loop $wx2
                        (br_if $jend2 (i32.ge_u (local.get $j) (local.get $fw)))
                        (v128.store align=4 (i32.add (local.get $dx) (local.get $p))
                          (v128.and (local.get $g) (i32x4.eq (local.get $at) (i32x4.splat (local.get $t)))))
                        (local.set $t (i32.add (local.get $t) (i32.const 1)))
                        (local.set $p (i32.add (local.get $p) (local.get $cb)))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br $wx2)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $wy2)))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $chan)))
            (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
            (local.set $px (i32.add (local.get $px) (i32.const 1)))
            (br $pixels)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))

  ;; Column sums of a rows x n matrix (n % 4 == 0): out[j] = sum_r x[r n + j], the reduction of a
  ;; tensor over its leading axes (the bias gradients). Rows are summed in blocks of 64 from 0
  ;; and the block sums added to out in order, which keeps the float32 rounding error near
  ;; (64 + rows / 64) ulp instead of rows ulp.
  (func (export "sum_rows") (param $out i32) (param $x i32) (param $rows i32) (param $n i32)
    (local $r0 i32) (local $r i32) (local $rend i32) (local $k i32) (local $nb i32) (local $p i32) (local $acc v128)
    (local.set $out (i32.shl (local.get $out) (i32.const 2)))
    (local.set $x (i32.shl (local.get $x) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $k (i32.const 0))
    (block $zend
      (loop $zero
        (br_if $zend (i32.ge_u (local.get $k) (local.get $nb)))
        (v128.store align=4 (i32.add (local.get $out) (local.get $k)) (v128.const f32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $zero)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $r0) (local.get $rows)))
        (local.set $rend (i32.add (local.get $r0) (i32.const 64)))
        (if (i32.gt_u (local.get $rend) (local.get $rows)) (then (local.set $rend (local.get $rows))))
        (local.set $k (i32.const 0))
        (block $kend
          (loop $chan
            (br_if $kend (i32.ge_u (local.get $k) (local.get $nb)))
            (local.set $acc (v128.const f32x4 0 0 0 0))
            (local.set $p (i32.add (i32.add (local.get $x) (local.get $k)) (i32.mul (local.get $r0) (local.get $nb))))
            (local.set $r (local.get $r0))
            (block $rdone
              (loop $rl
                (br_if $rdone (i32.ge_u (local.get $r) (local.get $rend)))
                (local.set $acc (f32x4.add (local.get $acc) (v128.load align=4 (local.get $p))))
                (local.set $p (i32.add (local.get $p) (local.get $nb)))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $rl)))
            (v128.store align=4 (i32.add (local.get $out) (local.get $k))
              (f32x4.add (v128.load align=4 (i32.add (local.get $out) (local.get $k))) (local.get $acc)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $chan)))
        (local.set $r0 (local.get $rend))
        (br $blocks))))
;; Broadcast addition of a row vector: out[r n + j] = x[r n + j] + b[j] for a rows x n matrix,
  ;; n % 4 == 0 (a convolution's bias; IEEE addition, so bit-exact against any other order of
  ;; the two operands).
  (func (export "add_rows") (param $out i32) (param $x i32) (param $b i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $k i32) (local $nb i32)
    (local.set $out (i32.shl (local.get $out) (i32.const 2)))
    (local.set $x (i32.shl (local.get $x) (i32.const 2)))
    (local.set $b (i32.shl (local.get $b) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $rl
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $k (i32.const 0))
        (block $kend
          (loop $chan
            (br_if $kend (i32.ge_u (local.get $k) (local.get $nb)))
            (v128.store align=4 (i32.add (local.get $out) (local.get $k))
              (f32x4.add (v128.load align=4 (i32.add (local.get $x) (local.get $k)))
                (v128.load align=4 (i32.add (local.get $b) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $chan)))
        (local.set $out (i32.add (local.get $out) (local.get $nb)))
        (local.set $x (i32.add (local.get $x) (local.get $nb)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl))))
;; Broadcast multiplication by a row vector: out[r n + j] = x[r n + j] b[j] (n % 4 == 0; the
  ;; batch-norm scales and their gradients; IEEE multiplication, bit-exact in either operand order).
  (func (export "mul_rows") (param $out i32) (param $x i32) (param $b i32) (param $rows i32) (param $n i32)
    (local $r i32) (local $k i32) (local $nb i32)
    (local.set $out (i32.shl (local.get $out) (i32.const 2)))
    (local.set $x (i32.shl (local.get $x) (i32.const 2)))
    (local.set $b (i32.shl (local.get $b) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $rl
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $k (i32.const 0))
        (block $kend
          (loop $chan
            (br_if $kend (i32.ge_u (local.get $k) (local.get $nb)))
            (v128.store align=4 (i32.add (local.get $out) (local.get $k))
              (f32x4.mul (v128.load align=4 (i32.add (local.get $x) (local.get $k)))
                (v128.load align=4 (i32.add (local.get $b) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $chan)))
        (local.set $out (i32.add (local.get $out) (local.get $nb)))
        (local.set $x (i32.add (local.get $x) (local.get $nb)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl))))
)
