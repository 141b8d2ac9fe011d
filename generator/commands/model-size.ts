/**
 * generator/commands/model-size.ts — the parameters of the built-in models and the size of what
 * a run writes, computed from the plan without running TensorFlow.js.
 *
 * The shapes are runtime/presets/char-transformer.ts's and mlp.ts's, from which the models'
 * createParameters() take their names, order and shapes (test/generator/commands.test.ts checks
 * them against the real models); file sizes follow encodeSafetensors() in runtime/safetensors.ts:
 * an 8-byte length, the compact JSON header padded to a multiple of 8, then 4 bytes per float32
 * value.
 */
import { charTransformerShapes, type ParameterShape } from "../../runtime/presets/char-transformer.ts";
import { gpt2Shapes } from "../../runtime/presets/gpt2.ts";
import { mlpShapes } from "../../runtime/presets/mlp.ts";
import type { ModelPlan } from "../plan.ts";

export { charTransformerShapes, mlpShapes, type ParameterShape };

/** The parameter shapes of a planned built-in model; null for a user module (known only when it runs). */
export function modelShapes(m: ModelPlan, vocab: number): ParameterShape[] | null {
  if (m.kind === "char-transformer") return charTransformerShapes({ dModel: m.dModel.value, layers: m.layers.value, heads: m.heads.value, contextLength: m.contextLength.value }, vocab);
  if (m.kind === "mlp") return mlpShapes({ hidden: m.hidden.value, window: m.window.value, embedding: m.embedding.value }, vocab);
  if (m.kind === "gpt2") return gpt2Shapes({ nLayer: m.nLayer.value, nHead: m.nHead.value, nEmbd: m.nEmbd.value, nPositions: m.nPositions.value, layerNormEpsilon: m.layerNormEpsilon.value, vocabSize: m.from?.vocabSize ?? vocab });
  return null;
}

export function parameterCount(shapes: readonly ParameterShape[]): number {
  return shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** Bytes of a float32 safetensors file holding these tensors (see encodeSafetensors). */
export function safetensorsBytes(shapes: readonly ParameterShape[], metadata: Record<string, string>): number {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const s of shapes) {
    const end = offset + s.shape.reduce((a, b) => a * b, 1) * 4;
    header[s.name] = { dtype: "F32", shape: s.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header)).length;
  return Math.ceil((8 + json) / 8) * 8 + offset;
}

/** AdamW's saved state: "m.<param>" then "v.<param>" per parameter (AdamW.stateTensors). */
export function optimizerShapes(shapes: readonly ParameterShape[]): ParameterShape[] {
  return shapes.flatMap((s) => [
    { name: `m.${s.name}`, shape: s.shape },
    { name: `v.${s.name}`, shape: s.shape },
  ]);
}

