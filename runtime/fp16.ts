/**
 * runtime/fp16.ts — IEEE binary16 ("fp16", "half") emulated on float32 tensors.
 *
 * tfjs 4.22 has no float16 dtype, so mixed precision is emulated: values stay float32 but are
 * rounded to the nearest binary16 value wherever real fp16 training would store them (parameter
 * gradients, and activations + their gradients at block boundaries). That reproduces the effects a
 * loss scaler exists for: small gradients flush to zero, large ones overflow to Inf.
 *
 * binary16: 1 sign bit, 5 exponent bits, 10 fraction bits (11 significant bits).
 *   normal    2^-14 <= |v| <= 65504, spacing (ulp) 2^(e-10) for |v| in [2^e, 2^(e+1))
 *   subnormal |v| < 2^-14, fixed spacing 2^-24
 *   overflow  |x| >= 65520 (the midpoint between 65504 and 2^16) rounds to ±Inf
 *
 * Defines
 *   fp16Round(x)              round a float32 tensor to binary16 values (10 elementwise ops, one tidy)
 *   fp16RoundWithGradient(x)  identity whose forward and backward both round (tf.customGrad)
 *   allFinite(tensors)        one fused Inf/NaN check over many tensors, one scalar read
 *   float32ToFloat16Bits / float16BitsToFloat32  exact scalar reference converters (tests)
 *
 * Exactness of fp16Round (checked against the scalar reference): bit-exact, round-to-nearest-even
 * including ties and the sign of zero, for every finite float32 input, on the cpu and wasm backends
 * (checked exhaustively over [1,2) and [2^-26, 2^-13) when this was written, on random values
 * elsewhere; test/runtime/fp16.test.ts repeats part of it). Not exact: ±Inf inputs
 * give NaN (fine for a finite check, which flags both); NaN stays NaN (payload not preserved). It
 * relies on IEEE float32 arithmetic with round-to-nearest-even and no reassociation, so a GPU
 * driver that fuses or folds `c - (c - a)` (fast-math) would break it: check it per device.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Rounds float32 values to the nearest binary16 value (returned as float32).
 *
 * Work on a = |x|, restore the sign at the end. One Veltkamp-style split rounds a to the grid of
 * the "magic" addend K:
 *     c = a + K;  d = c - a;  h = c - d
 * - Normal range, K = 8192·a (exact): c = RN(8193·a), which is Veltkamp's split with 2^13+1; h
 *   keeps the top 24-13 = 11 significant bits of a, rounded to nearest, ties to even.
 * - Subnormal range, K = 0.75: c = 0.75 + a lies in [0.5, 1), where the float32 spacing is 2^-24,
 *   so the addition itself rounds a to the binary16 subnormal grid (ties to even, because 0.75 is
 *   an even multiple of 2^-24); d is then exactly 0.75 and h = c - 0.75 exactly.
 * Both cases in one op: K = clip(8192·a, 0.75, 2^30). The switch happens at a = 1.5·2^-14, inside
 * the lowest normal binade, where both grids are 2^-24. The upper clip keeps c finite for huge a
 * (K = 2^30 still rounds every a > 2^17 to something > 65504).
 * Overflow: h·2^112 is finite for h <= 65504 and exactly +Inf for h >= 2^16 (2^128 > float32 max).
 * Sign and scale back: s = clip(x·2^-87, -2^-112, 2^-112) is ±2^-112 whenever h can be non-zero
 * (|x| > 2^-25) and a signed tiny value or ±0 otherwise, so (h·2^112)·s restores the sign exactly,
 * including -0 for negative values that flush to zero.
 *
 * No comparisons or selects: on wasm those run 10-20x slower than the XNNPACK arithmetic kernels.
 * Double rounding on the cpu backend (JS doubles stored to Float32Array) is harmless: +, -, · of
 * float32 operands are exact or correctly rounded in binary64 first (53 >= 2·24+2).
 */
export function fp16Round(x: tf.Tensor): tf.Tensor {
  if (x.dtype !== "float32") {
    throw new Error(`fp16Round: expected a float32 tensor, got ${x.dtype}. Cast it first with x.toFloat().`);
  }
  return tf.tidy(() => {
    const a = tf.abs(x);
    const k = tf.clipByValue(tf.mul(a, 8192), 0.75, 2 ** 30);
    const c = tf.add(a, k);
    const h = tf.sub(c, tf.sub(c, a));
    const sign = tf.clipByValue(tf.mul(x, 2 ** -87), -(2 ** -112), 2 ** -112);
    return tf.mul(tf.mul(h, 2 ** 112), sign);
  });
}

/**
 * Identity that holds its value and its gradient in binary16: forward fp16Round(x), backward
 * fp16Round(dy). Models call it (via LossOptions.roundActivations) at block boundaries.
 */
export const fp16RoundWithGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...inputs) => {
  const x = inputs[0] as tf.Tensor;
  return { value: fp16Round(x), gradFunc: (dy: tf.Tensor) => fp16Round(dy) };
});

/**
 * True when no tensor holds Inf or NaN. One fused check: sum over tensors of sum(x·0). x·0 is ±0
 * for every finite x and NaN for ±Inf/NaN, so the total is NaN exactly when something is not
 * finite; unlike a sum of squares it cannot overflow for large finite values (1e30² = Inf).
 * One scalar read with `await data()` (no dataSync, so it also works on webgpu).
 */
export async function allFinite(tensors: readonly tf.Tensor[]): Promise<boolean> {
  if (tensors.length === 0) return true;
  const total = tf.tidy(() => tf.addN(tensors.map((t) => tf.sum(tf.mul(t, 0)))));
  try {
    const [value] = await total.data();
    return Number.isFinite(value);
  } finally {
    total.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar reference (bit manipulation), used by the tests to check fp16Round bit for bit.

const scratch = new DataView(new ArrayBuffer(4));

/**
 * The binary16 bit pattern nearest to `x` (first rounded to float32 with Math.fround, so a
 * non-float32 double is rounded twice), round-to-nearest-even. NaN gives the quiet NaN 0x7e00
 * (sign kept), overflow gives ±Inf (0x7c00 | sign).
 */
export function float32ToFloat16Bits(x: number): number {
  scratch.setFloat32(0, x, true);
  const bits = scratch.getUint32(0, true);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  if (exponent === 0xff) return sign | (fraction !== 0 ? 0x7e00 : 0x7c00);
  const e = exponent - 127 + 15; // biased binary16 exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) result: the value in units of 2^-24 is m·2^-(14-e) with m the 24-bit
    // significand; shift right with round-to-nearest-even. A carry into 0x400 is the smallest
    // normal number, which is the right encoding.
    const shift = 14 - e;
    if (shift > 24) return sign; // below 2^-25 (and float32 subnormals): rounds to ±0
    const m = fraction | 0x800000;
    let q = m >>> shift;
    const rest = m - q * 2 ** shift;
    const half = 2 ** (shift - 1);
    if (rest > half || (rest === half && (q & 1) === 1)) q += 1;
    return sign | q;
  }
  // Normal: keep 10 fraction bits, round on the 13 dropped ones. A carry propagates into the
  // exponent field, and from 0x7bff into 0x7c00 (= Inf), as IEEE requires.
  let h = (e << 10) | (fraction >>> 13);
  const rest = fraction & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
  return sign | h;
}

/** The value of a binary16 bit pattern (exactly representable as float32). */
export function float16BitsToFloat32(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction !== 0 ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}
