// runtime/fp16.ts: fp16Round bit for bit against the scalar IEEE reference on cpu and wasm, the
// reference itself on known encodings, fp16RoundWithGradient, and the fused finite check.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allFinite, float16BitsToFloat32, float32ToFloat16Bits, fp16Round, fp16RoundWithGradient } from "../../runtime/fp16.ts";

beforeAll(async () => {
  await tf.setBackend("cpu");
});
afterAll(async () => {
  await tf.setBackend("cpu");
});

const EDGES = [
  65504, 65519.99, 65520, 70000, 2 ** -24, 2 ** -25, 2 ** -14 * (1 - 2 ** -11), 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0, -0,
  2 ** -14, 1.5 * 2 ** -14, 3 * 2 ** -26, 1e-8, 2 ** -149, 1e30, 3.4e38, 2 ** 17, 2 ** 30, 0.1, 1 / 3,
];

/** ~200k values: log-uniform magnitudes 2^-30..2^17 with random signs (seeded LCG), then the edge cases of both signs. */
function testValues(): Float32Array {
  const n = 200_000;
  const v = new Float32Array(n + 2 * EDGES.length);
  let seed = 20240611;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < n; i++) v[i] = (next() < 0.5 ? -1 : 1) * 2 ** (-30 + 47 * next());
  EDGES.forEach((e, i) => {
    v[n + 2 * i] = e;
    v[n + 2 * i + 1] = -e;
  });
  return v;
}

function reference(values: Float32Array): Float32Array {
  return values.map((x) => float16BitsToFloat32(float32ToFloat16Bits(x)));
}

async function rounded(values: Float32Array): Promise<Float32Array> {
  const x = tf.tensor1d(values);
  const y = fp16Round(x);
  const out = (await y.data()) as Float32Array;
  x.dispose();
  y.dispose();
  return out;
}

/** Indices where the bit patterns differ (NaN is compared as NaN). */
function mismatches(got: Float32Array, want: Float32Array): number[] {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const bad: number[] = [];
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad.push(i);
  return bad;
}

describe("scalar reference", () => {
  it("encodes known binary16 values", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00],
      [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
      [3 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2 ** -14 * (1 - 2 ** -11), 0x0400],
      [1 / 3, 0x3555], [0.1, 0x2e66],
    ];
    for (const [x, bits] of cases) expect(float32ToFloat16Bits(x), `x = ${x}`).toBe(bits);
    expect(float32ToFloat16Bits(NaN) & 0x7fff).toBe(0x7e00);
    for (const h of [0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0x8001, 0xfbff]) expect(float32ToFloat16Bits(float16BitsToFloat32(h))).toBe(h);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(float16BitsToFloat32(0x7e00))).toBe(true);
  });
});

describe.each(["cpu", "wasm"])("fp16Round on %s", (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  it("matches the scalar reference bit for bit on ~200k values and the edge cases", async () => {
    const values = testValues();
    const before = tf.memory().numTensors;
    const got = await rounded(values);
    expect(tf.memory().numTensors).toBe(before);
    const want = reference(values);
    const bad = mismatches(got, want);
    expect(bad.slice(0, 5).map((i) => [values[i], got[i], want[i]])).toEqual([]);
    expect(bad.length).toBe(0);
  });

  it("rounds every float32 at both ends of [1, 2) exactly (ties to even, carry into 2)", async () => {
    // The split is scale-invariant, so one binade stands for the whole normal range. All 2^13
    // patterns of the dropped bits (ties among them), under the first and last 128 kept fractions.
    const bits = new Uint32Array(1 << 21).map((_, i) => 0x3f800000 | (i < 1 << 20 ? i : (0x7fffff - (i - (1 << 20)))));
    const values = new Float32Array(bits.buffer);
    expect(mismatches(await rounded(values), reference(values)).length).toBe(0);
  });

  it("flushes, overflows, and keeps NaN and the sign of zero", async () => {
    const out = Array.from(await rounded(new Float32Array([1e-8, -1e-8, 2 ** -25, 70000, -1e30, 65520, 65519.99, NaN, -0, Infinity])));
    expect(out.slice(0, 2)).toEqual([0, -0]); // underflow to zero, sign kept
    expect(Object.is(out[1], -0)).toBe(true);
    expect(out[2]).toBe(0); // the tie at 2^-25 goes to even (0)
    expect(out.slice(3, 7)).toEqual([Infinity, -Infinity, Infinity, 65504]);
    expect(Number.isNaN(out[7])).toBe(true);
    expect(Object.is(out[8], -0)).toBe(true);
    expect(Number.isNaN(out[9])).toBe(true); // documented: an Inf input becomes NaN
  });
});

describe("fp16RoundWithGradient and allFinite", () => {
  it("rounds the forward value and the backward gradient", async () => {
    const x = tf.tensor1d([1 + 2 ** -11 + 2 ** -20, 1e-8, 3]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(fp16RoundWithGradient(t), tf.tensor1d([1 + 3 * 2 ** -11, 1, 1e-9])));
    const y = tf.tidy(() => fp16RoundWithGradient(x));
    expect(Array.from(await y.data())).toEqual([1 + 2 ** -10, 0, 3]);
    const g = tf.grad(f)(x);
    // dy = [1 + 3·2^-11, 1, 1e-9] rounds to [1 + 2^-9, 1, 0] on the way back.
    expect(Array.from(await g.data())).toEqual([1 + 2 ** -9, 1, 0]);
    tf.dispose([x, y, g]);
  });

  it("is one fused finite check that neither overflows on large values nor leaks", async () => {
    const a = tf.tensor1d([1, -2, 1e30, 3.4e38]);
    const b = tf.tensor2d([[0, -0], [5e-45, -65504]]);
    const nan = tf.tensor1d([1, NaN]);
    const inf = tf.tensor1d([-Infinity, 2]);
    const before = tf.memory().numTensors;
    expect(await allFinite([a, b])).toBe(true);
    expect(await allFinite([a, nan, b])).toBe(false);
    expect(await allFinite([inf])).toBe(false);
    expect(await allFinite([])).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, nan, inf]);
  });
});
