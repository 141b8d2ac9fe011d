/**
 * runtime/hf-folder.ts — GPT-2 model folders in Hugging Face's layout, read and written.
 *
 * A folder as transformers' save_pretrained leaves it (and from_pretrained reads it):
 *   config.json              GPT2Config (runtime/presets/gpt2.ts reads and writes it)
 *   model.safetensors        float32 weights under their HF keys, __metadata__ {"format": "pt"}
 *   generation_config.json   {bos_token_id, eos_token_id, ...}
 *   tokenizer.json, tokenizer_config.json   when given
 *   README.md                the model card
 *
 * Reading accepts what real GPT-2 checkpoints hold: keys with or without the "transformer."
 * prefix (the original "gpt2" repository has none), an lm_head.weight equal to wte (dropped: it is
 * tied), and the causal-mask buffers of old checkpoints (h.<i>.attn.bias, h.<i>.attn.masked_bias,
 * ignored). Anything else that does not match config.json — a missing key, an unexpected key, a
 * wrong shape — is a UserError naming the key with the expected and the found shape.
 * F16/BF16 weights: runtime/safetensors.ts reads F32 and I32 only, so they are refused with a
 * UserError that says how to convert them.
 *
 * Writing is durable and atomic per file (temporary sibling, fsync, rename; see files.ts); a
 * refused write is a UserError (exit 74) naming the file. Tensor data is copied bit for bit, so a
 * folder read and written back unchanged has identical tensor data.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sortedJson, writeFailure, writeFileAtomic } from "./files.ts";
import { gpt2ConfigJson, gpt2Shapes, readGpt2Config, type Gpt2Config } from "./presets/gpt2.ts";
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type SafetensorsTensor } from "./safetensors.ts";
import type { NamedParams, NamedTensors } from "./types.ts";
import { UserError } from "./user-error.ts";

/** One float32 tensor on the host. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface Gpt2Folder {
  config: Gpt2Config;
  /** By HF key with the "transformer." prefix, in gpt2Shapes order; lm_head and buffers dropped. */
  tensors: Record<string, HostTensor>;
}

const PREFIX = "transformer.";
/** Non-parameter buffers of old checkpoints: the causal mask and its fill value. */
const BUFFER = /^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/;

const shapeText = (shape: readonly number[] | undefined): string => (shape ? `[${shape.join(", ")}]` : "none");
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((n, i) => n === b[i]);

/** "n_layer 2, n_head 4, n_embd 32, n_positions 16, vocab_size 50", for messages. */
function describeConfig(config: Gpt2Config): string {
  return `n_layer ${config.nLayer}, n_head ${config.nHead}, n_embd ${config.nEmbd}, n_positions ${config.nPositions}, vocab_size ${config.vocabSize}`;
}

/** Problems of `tensors` against the parameters of `config` (missing, unexpected, wrong shape), in words. */
function shapeProblems(config: Gpt2Config, tensors: Record<string, { shape: readonly number[] }>, keyOf: (name: string) => string = (name) => name): string[] {
  const problems: string[] = [];
  const expected = gpt2Shapes(config);
  const known = new Set(expected.map((s) => s.name));
  for (const { name, shape } of expected) {
    const found = tensors[name];
    if (!found) problems.push(`missing tensor "${keyOf(name)}": expected shape ${shapeText(shape)}, found none`);
    else if (!sameShape(found.shape, shape)) problems.push(`tensor "${keyOf(name)}" has the wrong shape: expected ${shapeText(shape)}, found ${shapeText(found.shape)}`);
  }
  for (const [name, t] of Object.entries(tensors)) {
    if (!known.has(name)) problems.push(`unexpected tensor "${keyOf(name)}": expected none (a GPT-2 of this config has no such parameter), found shape ${shapeText(t.shape)}`);
  }
  return problems;
}

function problemsError(source: string, config: Gpt2Config, problems: string[]): UserError {
  const shown = problems.slice(0, 20);
  const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : "";
  return new UserError(`${source} does not match a GPT-2 of its config.json (${describeConfig(config)}):\n  - ${shown.join("\n  - ")}${more}`);
}

/**
 * Reads <dir>/config.json and <dir>/model.safetensors and checks every tensor against the
 * config (all problems reported at once). Returns the tensors under "transformer."-prefixed keys
 * in gpt2Shapes order. Synchronous (a generated program calls it while building its model).
 */
export function readGpt2Folder(dir: string): Gpt2Folder {
  const config = readGpt2Config(dir);
  const path = join(dir, "model.safetensors");
  if (!existsSync(path)) {
    const sharded = existsSync(join(dir, "model.safetensors.index.json"));
    const pickle = existsSync(join(dir, "pytorch_model.bin"));
    const hint = sharded
      ? " The folder has sharded weights (model.safetensors.index.json), which this loader does not read: save it with save_pretrained(dir, max_shard_size=\"100GB\")."
      : pickle
        ? " The folder has pytorch_model.bin (a pickle, never loaded here): convert it with transformers, save_pretrained(dir, safe_serialization=True)."
        : "";
    throw new UserError(`${path} is missing: a GPT-2 folder needs its weights as model.safetensors.${hint}`);
  }
  let file: { tensors: Record<string, SafetensorsTensor> };
  try {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new UserError(`${path} cannot be read (${(error as Error).message}).`);
    }
    file = decodeSafetensors(bytes, path);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    const halfPrecision = /dtype (F16|BF16) is not supported/.test(error.message);
    const maskBuffer = /tensor "(transformer\.)?h\.\d+\.attn\.(masked_)?bias": dtype \w+ is not supported/.test(error.message);
    const hint = halfPrecision
      ? ` Only float32 weights are read here. Convert the folder in Python: model = GPT2LMHeadModel.from_pretrained(dir, torch_dtype=torch.float32); model.save_pretrained(dir).`
      : maskBuffer
        ? ` That tensor is an old checkpoint's causal-mask buffer, not a weight; a current transformers drops it: GPT2LMHeadModel.from_pretrained(dir).save_pretrained(dir).`
        : "";
    throw new UserError(`${error.message}${hint}`);
  }

  const problems: string[] = [];
  const byName: Record<string, SafetensorsTensor> = {};
  const fileKey: Record<string, string> = {};
  let lmHead: SafetensorsTensor | undefined;
  for (const [key, t] of Object.entries(file.tensors)) {
    if (key === "lm_head.weight") {
      lmHead = t;
      continue;
    }
    const name = key.startsWith(PREFIX) ? key : `${PREFIX}${key}`;
    if (BUFFER.test(name)) continue;
    if (fileKey[name] !== undefined) {
      problems.push(`tensor "${name}" is in the file twice, as "${fileKey[name]}" and as "${key}"`);
      continue;
    }
    if (t.dtype !== "F32") problems.push(`tensor "${key}" has dtype ${t.dtype}; weights must be F32`);
    byName[name] = t;
    fileKey[name] = key;
  }
  problems.push(...shapeProblems(config, byName, (name) => fileKey[name] ?? name));

  const wte = byName[`${PREFIX}wte.weight`];
  if (lmHead && wte && problems.length === 0) {
    if (!sameShape(lmHead.shape, wte.shape)) {
      problems.push(`tensor "lm_head.weight" has the wrong shape: expected ${shapeText(wte.shape)} (tied to wte), found ${shapeText(lmHead.shape)}`);
    } else {
      const difference = firstDifference(lmHead.data, wte.data);
      if (difference >= 0) {
        problems.push(
          `tensor "lm_head.weight" differs from "${fileKey[`${PREFIX}wte.weight`]}" (first at flat index ${difference}: ${lmHead.data[difference]} vs ${wte.data[difference]}): ` +
            "GPT-2 ties lm_head to wte, and this checkpoint has an untied output layer, which this model cannot represent",
        );
      }
    }
  }
  if (problems.length > 0) throw problemsError(path, config, problems);

  const tensors: Record<string, HostTensor> = {};
  for (const { name } of gpt2Shapes(config)) {
    const t = byName[name]!;
    tensors[name] = { shape: [...t.shape], data: t.data as Float32Array };
  }
  return { config, tensors };
}

/** Index of the first element whose bits differ (-0 ≠ 0, NaN payloads compared), or -1. */
function firstDifference(a: Float32Array | Int32Array, b: Float32Array | Int32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/**
 * Assigns `tensors` (as readGpt2Folder returns them) to a GPT-2's `params` (from gpt2(...)
 * .createParameters). Names and shapes are checked first, so a mismatch changes no weight.
 */
export function loadGpt2Weights(params: NamedParams, tensors: Record<string, HostTensor>): void {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(params)) {
    const t = tensors[name];
    if (!t) problems.push(`missing tensor "${name}": expected shape ${shapeText(p.shape)}, found none`);
    else if (!sameShape(t.shape, p.shape)) problems.push(`tensor "${name}" has the wrong shape: expected ${shapeText(p.shape)}, found ${shapeText(t.shape)}`);
    else if (!(t.data instanceof Float32Array) || t.data.length !== p.size) problems.push(`tensor "${name}" must hold ${p.size} float32 values`);
  }
  for (const [name, t] of Object.entries(tensors)) {
    if (!(name in params)) problems.push(`unexpected tensor "${name}": expected none (the model has no such parameter), found shape ${shapeText(t.shape)}`);
  }
  if (problems.length > 0) throw new UserError(`The weights do not fit this GPT-2:\n  - ${problems.join("\n  - ")}`);
  for (const [name, p] of Object.entries(params)) {
    const t = tensors[name]!;
    tf.tidy(() => p.assign(tf.tensor(t.data, t.shape, "float32")));
  }
}

export interface Gpt2FolderContents {
  config: Gpt2Config;
  /** The model's parameters (or any float32 tensors) under the HF keys of gpt2Shapes(config). */
  params: NamedParams | NamedTensors;
  /** tokenizer.json: written as given when a string (its bytes kept), else as JSON. */
  tokenizerJson?: string | object;
  /** tokenizer_config.json: written as given when a string, else as JSON. */
  tokenizerConfig?: string | object;
  /** generation_config.json beyond bos_token_id and eos_token_id (which come from config; these keys override). */
  generationConfig?: Record<string, unknown>;
  /** README.md, the model card. */
  card: string;
}

const jsonText = (value: string | object): string => (typeof value === "string" ? value : `${JSON.stringify(value, null, 2)}\n`);

/**
 * Writes a GPT-2 folder that transformers' GPT2LMHeadModel.from_pretrained loads: model.safetensors
 * (the parameters in gpt2Shapes order under HF keys, float32, __metadata__ {"format": "pt"}),
 * config.json (gpt2ConfigJson, sorted keys and indent 2 as save_pretrained), generation_config.json,
 * tokenizer.json and tokenizer_config.json when given, and README.md. Creates `dir` if needed.
 * Each file is replaced atomically; a refused write (a full disk) is a UserError naming the file.
 */
export async function writeGpt2Folder(dir: string, contents: Gpt2FolderContents): Promise<void> {
  const { config, params } = contents;
  const problems = shapeProblems(config, params as Record<string, tf.Tensor>);
  for (const { name } of gpt2Shapes(config)) {
    const p = params[name];
    if (p && p.dtype !== "float32") problems.push(`tensor "${name}" has dtype ${p.dtype}; weights must be float32`);
  }
  if (problems.length > 0) throw new UserError(`writeGpt2Folder(${dir}): the parameters do not match a GPT-2 of its config (${describeConfig(config)}):\n  - ${problems.join("\n  - ")}`);

  const record: Record<string, SafetensorsTensor> = {};
  for (const { name, shape } of gpt2Shapes(config)) record[name] = { dtype: "F32", shape: [...shape], data: (await params[name]!.data()) as Float32Array };
  const extra = Object.entries(contents.generationConfig ?? {}).filter(([, value]) => value !== undefined);
  const generation = { bos_token_id: config.bosTokenId ?? null, eos_token_id: config.eosTokenId ?? null, ...Object.fromEntries(extra) };

  const files: [string, string | Uint8Array][] = [["model.safetensors", encodeSafetensors(record, { format: "pt" })], ["config.json", sortedJson(gpt2ConfigJson(config))]];
  if (contents.tokenizerJson !== undefined) files.push(["tokenizer.json", jsonText(contents.tokenizerJson)]);
  if (contents.tokenizerConfig !== undefined) files.push(["tokenizer_config.json", jsonText(contents.tokenizerConfig)]);
  files.push(["generation_config.json", sortedJson(generation)], ["README.md", contents.card]);

  for (const [name, data] of files) {
    const path = join(dir, name);
    try {
      mkdirSync(dir, { recursive: true });
      await writeFileAtomic(path, data);
    } catch (error) {
      throw writeFailure(path, error, dir);
    }
  }
}
