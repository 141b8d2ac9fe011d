/**
 * runtime/tokenizers/file.ts — a tokenizer read from a Hugging Face tokenizer.json (and the
 * tokenizer_config.json beside it, when there is one), run by @huggingface/tokenizers.
 *
 * The eos token is the config's eos_token, else an added token named like one ("<|endoftext|>",
 * "</s>", "<|im_end|>", ...); bos and pad likewise. The chat template is the config's
 * chat_template. A file that is missing, not JSON, or of a model type the library cannot run
 * stops with a UserError naming the file.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { UserError } from "../user-error.ts";
import { tokenizerConfigJson } from "./hf-json.ts";
import { specialRoles } from "./special-tokens.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** Model types @huggingface/tokenizers runs (it has no WordLevel). */
export const SUPPORTED_MODEL_TYPES = ["BPE", "WordPiece", "Unigram"] as const;

type Json = Record<string, unknown>;

function readJson(path: string, what: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(code === "ENOENT" ? `tokenizer: ${what} ${path} does not exist.` : `tokenizer: cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`tokenizer: ${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`tokenizer: ${what} ${path} is not a JSON object.`);
  return value as Json;
}

/** A token named in tokenizer_config.json: a string, or an AddedToken object with a content. */
function tokenName(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as Json).content === "string") return (value as Json).content as string;
  return null;
}

/** The path of tokenizer.json: `path` itself, or tokenizer.json inside it when it is a folder. */
function tokenizerJsonPath(path: string): string {
  try {
    if (statSync(path).isDirectory()) return join(path, "tokenizer.json");
  } catch {
    // Missing: readJson says so.
  }
  return path;
}

export function tokenizerFromFile(path: string): Tokenizer {
  const jsonPath = tokenizerJsonPath(path);
  const json = readJson(jsonPath, "tokenizer.json");
  const configPath = join(dirname(jsonPath), "tokenizer_config.json");
  let config: Json = {};
  let hasConfig = false;
  try {
    hasConfig = statSync(configPath).isFile();
  } catch {
    hasConfig = false;
  }
  if (hasConfig) config = readJson(configPath, "tokenizer_config.json");

  const model = json.model as Json | undefined;
  if (!model || typeof model !== "object") throw new UserError(`tokenizer: ${jsonPath} has no "model" object; is it a Hugging Face tokenizer.json?`);
  const type = model.type;
  if (!SUPPORTED_MODEL_TYPES.includes(type as (typeof SUPPORTED_MODEL_TYPES)[number])) {
    throw new UserError(`tokenizer: ${jsonPath} has model type ${JSON.stringify(type)}, which is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(", ")}).`);
  }
  // The library requires these keys (null when unused); older files may leave some out.
  const complete: Json = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json };
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(complete, config);
  } catch (error) {
    throw new UserError(`tokenizer: cannot load ${jsonPath}: ${(error as Error).message}`);
  }

  const added = (complete.added_tokens as { id: number; content: string; special?: boolean }[]) ?? [];
  const specials = added.filter((t) => t.special).map((t) => ({ id: t.id, content: t.content }));
  const vocab = hf.get_vocab(true);
  let vocabularySize = 0;
  for (const id of vocab.values()) vocabularySize = Math.max(vocabularySize, id + 1);
  const idOf = (token: string | null): number | null => (token === null ? null : (hf.token_to_id(token) ?? null));
  const roles = specialRoles(specials.map((s) => s.content));
  const pick = (key: string, fallback: string | null): string | null => {
    const named = tokenName(config[key]);
    return named !== null && idOf(named) !== null ? named : fallback;
  };
  const eosToken = pick("eos_token", roles.eos);
  const bosToken = pick("bos_token", roles.bos);
  const padToken = pick("pad_token", roles.pad);
  const chatTemplate = typeof config.chat_template === "string" ? config.chat_template : null;
  let tokens: string[] | undefined;

  const tokenizer: Tokenizer = {
    kind: "file",
    get tokens(): readonly string[] {
      tokens ??= Array.from({ length: vocabularySize }, (_, id) => (hf.id_to_token(id) === undefined ? "" : tokenizer.decode([id])));
      return tokens;
    },
    vocabularySize,
    eosToken,
    eosTokenId: idOf(eosToken),
    bosToken,
    bosTokenId: idOf(bosToken),
    padToken,
    padTokenId: idOf(padToken),
    chatTemplate,
    specialTokens: specials.map((s) => s.content),
    encode(text: string): number[] {
      const ids = hf.encode(text, { add_special_tokens: false }).ids;
      if (ids.some((id) => id === undefined)) throw new Error(`tokenizer ${jsonPath}: ${JSON.stringify(text.slice(0, 80))} has a piece the vocabulary lacks and there is no unk token.`);
      return ids;
    },
    decode(ids: readonly number[]): string {
      if (ids.length === 0) return "";
      return hf.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    },
    tokenizerJson: () => structuredClone(json),
    tokenizerConfig(options) {
      if (!hasConfig) {
        return tokenizerConfigJson({ tokenizerClass: "PreTrainedTokenizerFast", eosToken, bosToken, padToken, chatTemplate, specials }, options);
      }
      const copy: Json = structuredClone(config);
      if (options?.modelMaxLength !== undefined) copy.model_max_length = options.modelMaxLength;
      return copy;
    },
  };
  return tokenizer;
}
