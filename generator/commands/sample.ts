/**
 * generator/commands/sample.ts — `gen-trainer sample <dir> --prompt "..." [...]`: try a trained
 * language model without writing code.
 *
 * <dir> is a GPT-2 folder in Hugging Face layout (config.json, model.safetensors and
 * tokenizer.json), as a gpt2 run leaves in its outputDir. Each prompt is encoded with the folder's
 * tokenizer, continued greedily (or with --temperature / --top-k and --seed), stopping at the
 * tokenizer's end-of-text token, and printed as prompt + continuation.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../diagnostics.ts";
import { parseFlags } from "./shared.ts";

const USAGE = 'gen-trainer sample <dir> --prompt "User: 안녕?\\nAssistant:" [--prompt ...] [--max-new-tokens 64] [--temperature 0] [--top-k 0] [--seed 0] [--backend auto|wasm|cpu]';

/** "\n" typed in a shell argument means a newline (prompts are usually multi-line chat turns). */
function unescape(text: string): string {
  return text.replace(/\\n/g, "\n").replace(/\\t/g, "\t");
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      prompt: { type: "string", multiple: true },
      "max-new-tokens": { type: "string", default: "64" },
      temperature: { type: "string", default: "0" },
      "top-k": { type: "string", default: "0" },
      seed: { type: "string", default: "0" },
      backend: { type: "string", default: "auto" },
      help: { type: "boolean", short: "h" },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n\nContinues each prompt with the GPT-2 folder's model (greedy unless --temperature > 0).\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`sample takes one model folder${positionals.length ? `, got ${positionals.length}` : ""}.\nusage: ${USAGE}`);
  const dir = positionals[0]!;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a folder; give the outputDir of a gpt2 run or a GPT-2 folder in Hugging Face layout.`);
  for (const file of ["config.json", "model.safetensors", "tokenizer.json"]) {
    if (!existsSync(join(dir, file))) throw new UsageError(`${dir} has no ${file}: sample needs a GPT-2 folder in Hugging Face layout (config.json, model.safetensors, tokenizer.json), as a gpt2 run writes at its end.`);
  }
  const prompts = (values.prompt as string[] | undefined)?.map(unescape) ?? [];
  if (prompts.length === 0) throw new UsageError(`give at least one --prompt.\nusage: ${USAGE}`);
  const number = (name: string, min: number): number => {
    const value = Number(values[name as keyof typeof values]);
    if (!Number.isFinite(value) || value < min) throw new UsageError(`--${name} must be a number >= ${min}, got ${JSON.stringify(values[name as keyof typeof values])}.`);
    return value;
  };
  const maxNewTokens = Math.floor(number("max-new-tokens", 1));
  const temperature = number("temperature", 0);
  const topK = Math.floor(number("top-k", 0));
  const seed = Math.floor(number("seed", 0));
  // TensorFlow.js and the runtime load only now.
  const { gpt2, loadGpt2Weights, readGpt2Folder, sampleText, selectBackend, tokenizerFromFile } = await import("../../runtime/index.ts");
  await selectBackend(values.backend as "auto");
  const folder = readGpt2Folder(dir);
  const tokenizer = tokenizerFromFile(join(dir, "tokenizer.json"));
  const model = gpt2(folder.config, { vocabularySize: folder.config.vocabSize, sequenceLength: folder.config.nPositions });
  const params = model.createParameters(0);
  loadGpt2Weights(params, folder.tensors);
  const texts = await sampleText(model, params, tokenizer, prompts, { maxNewTokens, temperature, topK, seed, stopToken: tokenizer.eosTokenId ?? undefined });
  prompts.forEach((prompt, i) => process.stdout.write(`${prompt}${texts[i]}\n${i + 1 < prompts.length ? "\n" : ""}`));
  return 0;
}
