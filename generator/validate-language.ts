/**
 * generator/validate-language.ts — the rules of language-model specs: the gpt2 model (from scratch
 * or `from` a folder in HF layout), JSON Lines data, and the tokenizer.
 *
 * Files are read where generation reads them, so a broken folder, a malformed row or a tokenizer
 * too large for the model is reported at its spec property before any training, with the file
 * and line. Called by validate.ts; the facts come from runtime/presets/ (TF-free).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { GPT2_DEFAULTS } from "../runtime/presets/gpt2.ts";
import { checkJsonlFile, JSONL_DEFAULTS } from "../runtime/presets/jsonl.ts";
import { GPT2_VOCABULARY_SIZE } from "../runtime/tokenizers/facts.ts";
import { tokenizerFromFile } from "../runtime/tokenizers/file.ts";
import type { Checker, Obj } from "./validate.ts";

export const GPT2_KEYS = ["preset", "nLayer", "nHead", "nEmbd", "nPositions", "layerNormEpsilon", "from"];
export const JSONL_KEYS = ["jsonl", "evalFraction", "maxLength", "completionOnlyLoss"];

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The config.json of a `from` folder, or null (with the problem reported). */
export function readFolderConfig(c: Checker, folder: string, shown: string): Obj | null {
  const configPath = join(folder, "config.json");
  if (!existsSync(configPath)) {
    c.error("model.from", "E_MODEL_FOLDER", `model.from ${JSON.stringify(shown)} has no config.json (looked for ${JSON.stringify(configPath)}); give a folder in Hugging Face layout (config.json + model.safetensors, as save_pretrained writes it).`);
    return null;
  }
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (error) {
    c.error("model.from", "E_MODEL_FOLDER", `${configPath} is not valid JSON (${(error as Error).message}); replace it with the config.json the model was saved with.`);
    return null;
  }
  if (!isObject(config) || config.model_type !== "gpt2") {
    c.error("model.from", "E_MODEL_FOLDER", `${configPath} has model_type ${JSON.stringify(isObject(config) ? config.model_type : config)}, but model.preset is "gpt2": give a GPT-2 folder (model_type "gpt2").`);
    return null;
  }
  if (!existsSync(join(folder, "model.safetensors"))) {
    c.error("model.from", "E_MODEL_FOLDER", `model.from ${JSON.stringify(shown)} has no model.safetensors; save the weights with save_pretrained(..., safe_serialization=True), or convert pytorch_model.bin to safetensors.`);
    return null;
  }
  return config;
}

export function validateGpt2(c: Checker, model: Obj, specDir: string): void {
  c.keys(model, "model", GPT2_KEYS);
  const layers = c.number(model, "nLayer", "model", { integer: true, min: 1 });
  const heads = c.number(model, "nHead", "model", { integer: true, min: 1 });
  const width = c.number(model, "nEmbd", "model", { integer: true, min: 1 });
  c.number(model, "nPositions", "model", { integer: true, min: 2 });
  c.number(model, "layerNormEpsilon", "model", { minExclusive: 0 });
  void layers;
  if (model.from !== undefined) {
    const sized = ["nLayer", "nHead", "nEmbd", "nPositions", "layerNormEpsilon"].filter((k) => model[k] !== undefined);
    if (sized.length) c.error(`model.${sized[0]}`, "E_CONFLICT", `model.from loads a trained GPT-2 whose config.json fixes its sizes; remove ${sized.map((k) => `model.${k}`).join(", ")}.`);
    if (typeof model.from !== "string" || model.from === "") return c.error("model.from", "E_TYPE", `model.from must be a folder path (relative to the spec file), got ${JSON.stringify(model.from)}.`);
    const folder = resolve(specDir, model.from);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) return c.error("model.from", "E_MODEL_FOLDER", `model.from ${JSON.stringify(model.from)} is not a folder (looked for ${JSON.stringify(folder)}); paths are relative to the spec file.`);
    readFolderConfig(c, folder, model.from);
    return;
  }
  const h = heads ?? GPT2_DEFAULTS.nHead;
  const d = width ?? GPT2_DEFAULTS.nEmbd;
  if (d % h !== 0) c.error(model.nHead !== undefined ? "model.nHead" : "model.nEmbd", "E_RANGE", `model.nHead (${h}) must divide model.nEmbd (${d}); e.g. nHead ${[1, 2, 4, 8, 12, 16].filter((x) => d % x === 0).pop()}.`);
}

/** Returns whether the data has a held-out split. */
export function validateJsonl(c: Checker, data: Obj): boolean {
  c.keys(data, "data", JSONL_KEYS);
  const absolute = c.file(data, "jsonl", "data", "JSON Lines file");
  const fraction = c.number(data, "evalFraction", "data", { min: 0, maxExclusive: 1 });
  c.number(data, "maxLength", "data", { integer: true, min: 2 });
  c.boolean(data, "completionOnlyLoss", "data");
  if (absolute) {
    const { rows, problems } = checkJsonlFile(absolute, { completionOnlyLoss: data.completionOnlyLoss === true });
    for (const p of problems.slice(0, 5)) c.error("data.jsonl", "E_JSONL", `${data.jsonl as string}:${p.line}: ${p.message}`);
    if (problems.length > 5) c.error("data.jsonl", "E_JSONL", `${data.jsonl as string}: ${problems.length - 5} more problems after these; fix the rows above and run again.`);
    if (problems.length === 0) {
      const held = Math.floor(rows * (fraction ?? JSONL_DEFAULTS.evalFraction));
      if (rows - held < 1) c.error("data.jsonl", "E_JSONL", `${data.jsonl as string} has ${rows} rows, none left for training after holding out ${held}; add rows or lower data.evalFraction.`);
      else if ((fraction ?? JSONL_DEFAULTS.evalFraction) > 0 && held < 1) {
        c.error("data.evalFraction", "E_EVAL_DATA", `data.evalFraction ${fraction ?? JSONL_DEFAULTS.evalFraction} of ${rows} rows holds out none; raise it to at least ${Math.ceil((1 / rows) * 100) / 100}, or set 0 (and evalStrategy "no").`);
      }
    }
  }
  return (fraction ?? JSONL_DEFAULTS.evalFraction) > 0;
}

/** The tokenizer's vocabulary size when known at generation time (null: char, or unknown). */
export function tokenizerVocabularySize(tokenizer: unknown, specDir: string): number | null {
  if (tokenizer === "gpt2") return GPT2_VOCABULARY_SIZE;
  if (isObject(tokenizer) && isObject(tokenizer.train) && typeof tokenizer.train.vocabSize === "number") return tokenizer.train.vocabSize;
  if (isObject(tokenizer) && typeof tokenizer.file === "string") {
    try {
      return tokenizerFromFile(resolve(specDir, tokenizer.file)).vocabularySize;
    } catch {
      return null; // a broken file is reported by validateTokenizer's file check
    }
  }
  return null;
}

export function validateTokenizer(c: Checker, value: Obj, specDir: string): void {
  const tokenizer = value.tokenizer;
  const data = isObject(value.data) ? value.data : {};
  const model = isObject(value.model) ? value.model : {};
  if (tokenizer === "char" || tokenizer === "gpt2") {
    // fine
  } else if (isObject(tokenizer) && "file" in tokenizer) {
    c.keys(tokenizer, "tokenizer", ["file"]);
    c.file(tokenizer, "file", "tokenizer", "tokenizer.json file");
  } else if (isObject(tokenizer) && "train" in tokenizer) {
    c.keys(tokenizer, "tokenizer", ["train"]);
    if (!isObject(tokenizer.train)) c.error("tokenizer.train", "E_TYPE", `tokenizer.train must be { vocabSize }, e.g. { train: { vocabSize: 512 } }.`);
    else {
      c.keys(tokenizer.train, "tokenizer.train", ["vocabSize"]);
      c.number(tokenizer.train, "vocabSize", "tokenizer.train", { integer: true, min: 257, max: 65536, hint: "A byte-level BPE starts from the 256 byte tokens plus <|endoftext|>." });
      if (tokenizer.train.vocabSize === undefined) c.error("tokenizer.train", "E_MISSING", `tokenizer.train needs vocabSize, e.g. { train: { vocabSize: 512 } }.`);
    }
  } else {
    return c.error("tokenizer", "E_VALUE", `tokenizer is ${JSON.stringify(tokenizer)}; use "char", "gpt2", { file: "./tokenizer.json" } or { train: { vocabSize: 512 } }.`);
  }
  if (tokenizer !== "char" && !("jsonl" in data)) {
    const what = data.preset === "addition" ? "the addition preset writes its own characters" : "text data is modelled one character at a time";
    c.error("tokenizer", "E_TOKENIZER", `tokenizer ${JSON.stringify(tokenizer)} needs rows of text to encode, but ${what}; use tokenizer "char" (the default) or data { jsonl: "rows.jsonl" }.`);
  }
  // A pretrained model's embedding table must cover every id the tokenizer makes.
  if (model.preset === "gpt2" && typeof model.from === "string") {
    const folder = resolve(specDir, model.from);
    const size = tokenizerVocabularySize(tokenizer, specDir);
    try {
      const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8")) as { vocab_size?: number };
      if (size !== null && typeof config.vocab_size === "number" && size > config.vocab_size) {
        c.error("tokenizer", "E_TOKENIZER", `the tokenizer has ${size} tokens but ${model.from}/config.json's vocab_size is ${config.vocab_size}: ids past ${config.vocab_size - 1} have no embedding. Use the folder's own tokenizer.json (leave tokenizer out) or one with at most ${config.vocab_size} tokens.`);
      }
    } catch {
      // reported by validateGpt2
    }
  }
}

/** The tokenizer a spec gets when it names none: the `from` folder's tokenizer.json, else "char". */
export function defaultTokenizer(model: Obj, specDir: string): { file: string } | "char" {
  if (model.preset === "gpt2" && typeof model.from === "string" && existsSync(join(resolve(specDir, model.from), "tokenizer.json"))) return { file: join(model.from, "tokenizer.json") };
  return "char";
}

