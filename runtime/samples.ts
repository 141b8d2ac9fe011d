/**
 * runtime/samples.ts — text generated from prompts by the model being trained (the
 * generationSample() built-in), so a run shows what the model writes, not only its loss.
 *
 * Generation reads the parameters and touches nothing else: no parameter, optimizer or data
 * state changes, and it uses its own seeded sampler, so training follows the same trajectory
 * with or without samples.
 */
import type { GenerateOptions, ModelDefinition, NamedParams, Vocabulary } from "./types.ts";
import { UserError } from "./user-error.ts";

/** Fails before training starts when the model cannot generate. */
export function requireGenerate(model: ModelDefinition, vocabulary: Vocabulary | undefined, callback: string): void {
  if (!model.generate) throw new UserError(`${callback} needs a model with generate(), and this model module has none; add generate to its ModelDefinition or remove ${callback}.`);
  if (!vocabulary) throw new UserError(`${callback} needs a dataset with a vocabulary to encode prompts and decode text.`);
}

/** Continues each prompt; returns the generated text of each (without the prompt). */
export async function sampleText(model: ModelDefinition, params: NamedParams, vocabulary: Vocabulary, prompts: readonly string[], options: GenerateOptions): Promise<string[]> {
  const outputs = await model.generate!(params, prompts.map((p) => vocabulary.encode(p)), options);
  // A row that ended with the stop token (end-of-text) is shown without it.
  return outputs.map((ids) => vocabulary.decode(options.stopToken !== undefined && ids.at(-1) === options.stopToken ? ids.slice(0, -1) : ids));
}
