/**
 * runtime/safetensors.ts — reading and writing the safetensors format (Hugging Face).
 *
 * Weights and optimizer state are stored as safetensors so that Python's `safetensors` (and with
 * it transformers/torch) reads a tfjs run's files, and so that nothing ever executes on load.
 *
 * Layout of a file:
 *   bytes 0..8      N, the header length, unsigned 64-bit little-endian
 *   bytes 8..8+N    UTF-8 JSON header, padded with spaces (0x20) so that 8+N is a multiple of 8:
 *                   { "__metadata__": { string: string },                          (optional)
 *                     "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
 *                     ... }
 *   bytes 8+N..     the byte buffer; [begin, end) are relative to its start, little-endian values.
 *                   Tensors tile the buffer: sorted by begin, each starts where the previous ended,
 *                   the first at 0 and the last ends at the end of the file (no gaps, no overlap).
 *
 * Only F32 and I32 exist here (the dtypes of tfjs). Decoding validates everything the Rust reader
 * validates and throws SafetensorsError naming the file, the problem and, where possible, the fix.
 * Writing is deterministic: tensors in the given key order, compact JSON, __metadata__ first.
 */
import { open, readFile, rm } from "node:fs/promises";
import type * as tf from "@tensorflow/tfjs";
import type { NamedTensors } from "./types.ts";

export type SafetensorsDtype = "F32" | "I32";

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface DecodedSafetensors {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Any problem with a safetensors file or with tensors given to the encoder. */
export class SafetensorsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SafetensorsError";
  }
}

/** Bytes per element. */
const DTYPE_SIZE: Record<SafetensorsDtype, number> = { F32: 4, I32: 4 };

/** The other dtypes of the format, to tell "unsupported" from "not a dtype at all". */
const OTHER_DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "U32", "F64", "I64", "U64"];

/** The Rust reader refuses larger headers (it guards against reading a huge JSON). */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Serializes tensors (in key order) and optional string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") throw new SafetensorsError(`safetensors metadata "${key}" must be a string, got ${typeof value}; convert it with String(value).`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__") throw new SafetensorsError(`"__metadata__" is reserved by the safetensors format and cannot name a tensor.`);
    if (t.dtype !== "F32" && t.dtype !== "I32") throw new SafetensorsError(`tensor "${name}": dtype ${String(t.dtype)} is not supported (only F32 and I32).`);
    const expectedArray = t.dtype === "F32" ? Float32Array : Int32Array;
    if (!(t.data instanceof expectedArray)) throw new SafetensorsError(`tensor "${name}": dtype ${t.dtype} needs a ${expectedArray.name}, got ${t.data.constructor.name}.`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(`tensor "${name}": shape [${t.shape}] must be non-negative integers.`);
    if (elementCount(t.shape) !== t.data.length) {
      throw new SafetensorsError(`tensor "${name}": shape [${t.shape}] holds ${elementCount(t.shape)} values but the data has ${t.data.length}.`);
    }
    const end = offset + t.data.length * DTYPE_SIZE[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  // Compact JSON, then spaces up to the next multiple of 8 (so the buffer is 8-byte aligned).
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const bytes = new Uint8Array(8 + headerLength + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const t of Object.values(tensors)) {
    writeLittleEndian(bytes, position, t.data);
    position += t.data.length * 4;
  }
  return bytes;
}

function writeLittleEndian(target: Uint8Array, position: number, data: Float32Array | Int32Array): void {
  if (LITTLE_ENDIAN) {
    target.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    return;
  }
  const view = new DataView(target.buffer, target.byteOffset + position, data.byteLength);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i]!, true);
    else view.setInt32(i * 4, data[i]!, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Parses and validates safetensors bytes; `fileName` is only used in error messages. */
export function decodeSafetensors(bytes: Uint8Array, fileName: string): DecodedSafetensors {
  const fail: (problem: string) => never = (problem) => {
    throw new SafetensorsError(`${fileName}: ${problem}`);
  };
  if (bytes.length < 8) {
    fail(`the file has only ${bytes.length} bytes, fewer than the 8-byte header length of a safetensors file; it is truncated or not a safetensors file (write it again).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const claimed = view.getBigUint64(0, true);
  if (claimed > BigInt(bytes.length - 8)) {
    fail(`the header claims ${claimed} bytes but the file has only ${bytes.length - 8} after the 8-byte length; the file is truncated or not a safetensors file (write it again).`);
  }
  const headerLength = Number(claimed);
  if (headerLength > MAX_HEADER_BYTES) fail(`the header has ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} the safetensors readers accept.`);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail(`the header is not valid UTF-8; the file is damaged or not a safetensors file.`);
  }
  if (!text.startsWith("{")) fail(`the header does not start with "{"; the file is damaged or not a safetensors file.`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return fail(`the header is not valid JSON (${(error as Error).message}); the file is damaged or not a safetensors file.`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail(`the header is not a JSON object.`);

  const bufferStart = 8 + headerLength;
  const bufferLength = bytes.length - bufferStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info)) fail(`"__metadata__" must be an object of strings.`);
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== "string") fail(`"__metadata__"."${key}" must be a string, got ${JSON.stringify(value)}.`);
        metadata[key] = value as string;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof info !== "object" || info === null || Array.isArray(info)) fail(`${where}: the entry must be an object with dtype, shape and data_offsets.`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (dtype === undefined || shape === undefined || offsets === undefined) {
      const missing = ["dtype", "shape", "data_offsets"].filter((k) => (info as Record<string, unknown>)[k] === undefined);
      fail(`${where}: the entry has no ${missing.join(", ")}.`);
    }
    if (dtype !== "F32" && dtype !== "I32") {
      if (typeof dtype === "string" && OTHER_DTYPES.includes(dtype)) {
        fail(`${where}: dtype ${dtype} is not supported; only F32 and I32 can be loaded into TensorFlow.js. Convert it before saving (in torch: tensor.float()).`);
      }
      fail(`${where}: ${JSON.stringify(dtype)} is not a safetensors dtype.`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${where}: shape ${JSON.stringify(shape)} must be an array of non-negative integers.`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${where}: data_offsets ${JSON.stringify(offsets)} must be two non-negative integers [begin, end].`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin.`);
    if (end > bufferLength) fail(`${where}: data_offsets [${begin}, ${end}] are out of range: the data buffer has only ${bufferLength} bytes (the file is truncated).`);
    const size = DTYPE_SIZE[dtype as SafetensorsDtype];
    const count = elementCount(shape as number[]);
    if (end - begin !== count * size) {
      fail(`${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape}] of ${dtype} needs ${count} × ${size} = ${count * size}.`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }

  // The tensors must tile the buffer exactly: no gap, no overlap, nothing left over.
  const sorted = [...entries].sort((p, q) => p.begin - q.begin || p.end - q.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.begin < expected) fail(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${expected}.`);
    if (e.begin > expected) fail(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] leave a gap: the previous tensor ends at ${expected}; the data must be contiguous.`);
    expected = e.end;
  }
  if (expected !== bufferLength) {
    fail(`the tensors cover ${expected} bytes of the ${bufferLength}-byte data buffer; the remaining ${bufferLength - expected} bytes belong to no tensor (the file is damaged).`);
  }

  const tensors: Record<string, SafetensorsTensor> = {};
  for (const e of entries) {
    tensors[e.name] = { dtype: e.dtype, shape: [...e.shape], data: readLittleEndian(bytes, bufferStart + e.begin, e.end - e.begin, e.dtype) };
  }
  return { tensors, metadata };
}

/** Copies the bytes into a fresh, aligned typed array (file buffers need not be 4-byte aligned). */
function readLittleEndian(bytes: Uint8Array, position: number, byteLength: number, dtype: SafetensorsDtype): Float32Array | Int32Array {
  const copy = new Uint8Array(bytes.subarray(position, position + byteLength)); // a copy (Buffer#slice is a view)
  if (LITTLE_ENDIAN) return dtype === "F32" ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
  const view = new DataView(copy.buffer);
  const n = byteLength / 4;
  const out = dtype === "F32" ? new Float32Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = dtype === "F32" ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// tfjs tensors and files

/** Reads tfjs tensors (float32 → F32, int32 → I32) with `await t.data()`, in key order. */
export async function tensorsToRecord(named: NamedTensors): Promise<Record<string, SafetensorsTensor>> {
  const record: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(named)) {
    record[name] = { dtype: dtypeOf(name, t), shape: [...t.shape], data: (await t.data()) as Float32Array | Int32Array };
  }
  return record;
}

function dtypeOf(name: string, t: tf.Tensor): SafetensorsDtype {
  if (t.dtype === "float32") return "F32";
  if (t.dtype === "int32") return "I32";
  throw new SafetensorsError(`tensor "${name}" has dtype ${t.dtype}; only float32 and int32 tensors can be saved (cast it with t.toFloat() or t.toInt()).`);
}

/**
 * Writes tensors to `path` and fsyncs before closing, so that a following rename (done by the
 * caller, for atomic replacement) never exposes a half-written file after a crash. A write that
 * fails (a full disk: ENOSPC) removes the partial file and throws the system error, which the
 * callers turn into a message naming the file (see writeFailure in files.ts).
 */
export async function writeSafetensorsFile(path: string, tensors: NamedTensors, metadata?: Record<string, string>): Promise<void> {
  const bytes = encodeSafetensors(await tensorsToRecord(tensors), metadata);
  const handle = await open(path, "w");
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true }).catch(() => undefined);
    throw error;
  }
  await handle.close();
}

/** Reads and validates a safetensors file; any problem (including a missing file) is a SafetensorsError. */
export async function readSafetensorsFile(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new SafetensorsError(`${path}: cannot be read (${(error as Error).message}).`, { cause: error });
  }
  return decodeSafetensors(bytes, path);
}
