// runtime/safetensors.ts: round trips, the exact bytes of a tiny file, and strict rejection of
// damaged files (every problem is a SafetensorsError naming the file and the problem).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile, SafetensorsError, tensorsToRecord, writeSafetensorsFile } from "../../runtime/safetensors.ts";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** A file from a header object and a raw buffer, without any of the encoder's checks. */
function rawFile(header: unknown, buffer: Uint8Array = new Uint8Array(0), headerText = JSON.stringify(header)): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
}

function decodeError(bytes: Uint8Array, name = "bad.safetensors"): SafetensorsError {
  try {
    decodeSafetensors(bytes, name);
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as Error).message).toContain(name);
    return error as SafetensorsError;
  }
  throw new Error("expected a SafetensorsError");
}

describe("encode / decode", () => {
  it("round-trips F32 and I32 tensors with metadata, in key order", () => {
    const tensors = {
      "w.weight": { dtype: "F32" as const, shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, 65504, -0, Math.PI]) },
      ids: { dtype: "I32" as const, shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
      scalar: { dtype: "F32" as const, shape: [], data: new Float32Array([7]) },
      empty: { dtype: "F32" as const, shape: [0, 5], data: new Float32Array(0) },
    };
    const bytes = encodeSafetensors(tensors, { format: "pt", step: "12" });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0); // the data buffer starts 8-byte aligned
    const decoded = decodeSafetensors(bytes, "x.safetensors");
    expect(decoded.metadata).toEqual({ format: "pt", step: "12" });
    expect(Object.keys(decoded.tensors)).toEqual(["w.weight", "ids", "scalar", "empty"]);
    for (const [name, t] of Object.entries(tensors)) {
      const d = decoded.tensors[name]!;
      expect(d.dtype).toBe(t.dtype);
      expect(d.shape).toEqual(t.shape);
      expect(d.data.constructor).toBe(t.data.constructor);
      expect(Array.from(d.data)).toEqual(Array.from(t.data));
    }
    expect(Object.is(decoded.tensors["w.weight"]!.data[4], -0)).toBe(true);
    expect(decodeSafetensors(encodeSafetensors({}), "e").tensors).toEqual({});
  });

  it("writes exactly the expected bytes for a tiny file", () => {
    const bytes = encodeSafetensors({ a: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) }, b: { dtype: "I32", shape: [1, 1], data: new Int32Array([258]) } }, { k: "v" });
    const json = `{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}}`;
    expect(json.length).toBe(135); // 8 + 135 = 143, padded with 1 space to 144
    const expected = [
      136, 0, 0, 0, 0, 0, 0, 0, // N = 135 + 1 = 136, u64 little-endian
      ...Array.from(json, (c) => c.charCodeAt(0)),
      0x20,
      0x00, 0x00, 0x80, 0x3f, // 1.0f
      0x00, 0x00, 0x00, 0xc0, // -2.0f
      0x02, 0x01, 0x00, 0x00, // 258
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it("refuses to encode inconsistent tensors", () => {
    expect(() => encodeSafetensors({ a: { dtype: "F32", shape: [3], data: new Float32Array(2) } })).toThrow(SafetensorsError);
    expect(() => encodeSafetensors({ a: { dtype: "I32", shape: [2], data: new Float32Array(2) } })).toThrow(/Int32Array/);
  });
});

describe("corrupt files", () => {
  const good = encodeSafetensors({ a: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });

  it("a file shorter than 8 bytes", () => {
    expect(decodeError(new Uint8Array(5)).message).toMatch(/only 5 bytes.*truncated/);
  });

  it("a header claiming more bytes than the file holds", () => {
    const bytes = good.slice(0, 20);
    expect(decodeError(bytes).message).toMatch(/header claims \d+ bytes but the file has only 12/);
  });

  it("a truncated data buffer (offsets out of range)", () => {
    expect(decodeError(good.slice(0, good.length - 1)).message).toMatch(/out of range.*7 bytes/);
  });

  it("a header that is not JSON", () => {
    expect(decodeError(rawFile(null, new Uint8Array(0), `{"a": {"dtype": "F32",`)).message).toMatch(/not valid JSON/);
    expect(decodeError(rawFile([1, 2])).message).toMatch(/does not start with "\{"/);
  });

  it("an unsupported dtype (F16) and an unknown one", () => {
    const f16 = decodeError(rawFile({ h: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)));
    expect(f16.message).toMatch(/tensor "h": dtype F16 is not supported; only F32 and I32/);
    expect(decodeError(rawFile({ h: { dtype: "float", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))).message).toMatch(/"float" is not a safetensors dtype/);
  });

  it("an entry without dtype, shape or data_offsets", () => {
    expect(decodeError(rawFile({ a: { dtype: "F32", shape: [1] } }, new Uint8Array(4))).message).toMatch(/tensor "a": the entry has no data_offsets/);
    expect(decodeError(rawFile({ a: { data_offsets: [0, 4] } }, new Uint8Array(4))).message).toMatch(/has no dtype, shape/);
  });

  it("offsets that do not match the shape", () => {
    const e = decodeError(rawFile({ a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12)));
    expect(e.message).toMatch(/span 12 bytes but shape \[2,2\] of F32 needs 4 × 4 = 16/);
  });

  it("overlapping, non-contiguous or incompletely covered data", () => {
    const overlap = rawFile({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8));
    expect(decodeError(overlap).message).toMatch(/overlap/);
    const gap = rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12));
    expect(decodeError(gap).message).toMatch(/gap.*contiguous/);
    const trailing = rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8));
    expect(decodeError(trailing).message).toMatch(/remaining 4 bytes belong to no tensor/);
  });

  it("metadata values that are not strings", () => {
    expect(decodeError(rawFile({ __metadata__: { step: 3 } })).message).toMatch(/"__metadata__"."step" must be a string/);
  });
});

describe("files and tfjs tensors", () => {
  it("writes tensors read with data() and reads them back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "safetensors-test-"));
    const path = join(dir, "model.safetensors");
    const before = tf.memory().numTensors;
    const w = tf.tensor2d([[1, 2], [3, 4]]);
    const n = tf.tensor1d([5, 6, 7], "int32");
    await writeSafetensorsFile(path, { w, n }, { format: "pt" });
    const read = await readSafetensorsFile(path);
    expect(read.metadata).toEqual({ format: "pt" });
    expect(read.tensors.w).toEqual({ dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    expect(read.tensors.n).toEqual({ dtype: "I32", shape: [3], data: new Int32Array([5, 6, 7]) });
    expect(Array.from(readFileSync(path))).toEqual(Array.from(encodeSafetensors(await tensorsToRecord({ w, n }), { format: "pt" })));
    w.dispose();
    n.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(readSafetensorsFile(join(dir, "missing.safetensors"))).rejects.toThrow(/missing\.safetensors: cannot be read/);
    await expect(writeSafetensorsFile(join(dir, "b.safetensors"), { b: tf.tensor1d([true], "bool") })).rejects.toThrow(/dtype bool/);
  });
});
