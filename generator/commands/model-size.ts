/**
 * generator/commands/model-size.ts — the parameters of the built-in models and the size of what
 * a run writes, computed from the spec without running TensorFlow.js.
 *
 * The shapes mirror createParameters() of runtime/models/char-transformer.ts and mlp.ts, name for
 * name and in the same order (test/generator/commands.test.ts checks them against the real
 * models); file sizes follow encodeSafetensors() in runtime/safetensors.ts: an 8-byte length, the
 * compact JSON header padded to a multiple of 8, then 4 bytes per float32 value.
 */
import { MLP_DEFAULTS } from "../defaults.ts";
import type { CharTransformerPreset, MlpPreset, ModelSpec } from "../spec-types.ts";

export interface ParameterShape {
  name: string;
  shape: number[];
}

export function charTransformerShapes(m: Omit<CharTransformerPreset, "preset">, vocab: number): ParameterShape[] {
  const d = m.dModel;
  const shapes: ParameterShape[] = [
    { name: "wte", shape: [vocab, d] },
    { name: "wpe", shape: [m.contextLength, d] },
  ];
  for (let l = 0; l < m.layers; l++) {
    const h = `h.${l}`;
    shapes.push(
      { name: `${h}.ln_1.gain`, shape: [d] },
      { name: `${h}.ln_1.bias`, shape: [d] },
      { name: `${h}.attn.wq`, shape: [d, d] },
      { name: `${h}.attn.wk`, shape: [d, d] },
      { name: `${h}.attn.wv`, shape: [d, d] },
      { name: `${h}.attn.wo`, shape: [d, d] },
      { name: `${h}.ln_2.gain`, shape: [d] },
      { name: `${h}.ln_2.bias`, shape: [d] },
      { name: `${h}.mlp.w_fc`, shape: [d, 4 * d] },
      { name: `${h}.mlp.b_fc`, shape: [4 * d] },
      { name: `${h}.mlp.w_proj`, shape: [4 * d, d] },
      { name: `${h}.mlp.b_proj`, shape: [d] },
    );
  }
  shapes.push({ name: "ln_f.gain", shape: [d] }, { name: "ln_f.bias", shape: [d] }, { name: "lm_head", shape: [d, vocab] });
  return shapes;
}

export function mlpShapes(m: Omit<MlpPreset, "preset">, vocab: number): ParameterShape[] {
  const window = m.window ?? MLP_DEFAULTS.window;
  const e = m.embedding ?? MLP_DEFAULTS.embedding;
  const shapes: ParameterShape[] = [{ name: "wte", shape: [vocab, e] }];
  let fanIn = window * e;
  m.hidden.forEach((width, i) => {
    shapes.push({ name: `fc.${i}.weight`, shape: [fanIn, width] }, { name: `fc.${i}.bias`, shape: [width] });
    fanIn = width;
  });
  shapes.push({ name: "head.weight", shape: [fanIn, vocab] }, { name: "head.bias", shape: [vocab] });
  return shapes;
}

/** The shapes of a built-in model; null for a user module (known only when it runs). */
export function modelShapes(model: ModelSpec, vocab: number): ParameterShape[] | null {
  if ("module" in model) return null;
  if (model.preset === "char-transformer") return charTransformerShapes(model, vocab);
  return mlpShapes(model, vocab);
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

/** runtime/data/addition.ts ADDITION_TOKENS: the digits, "+", "=", "$" (end) and "_" (padding). */
export const ADDITION_VOCABULARY = 14;
