/**
 * runtime/presets/mlp.ts — the "mlp" model preset's defaults and its parameters (names, order
 * and shapes), stated once.
 *
 * Why here: runtime/models/mlp.ts fills in these defaults and creates exactly these parameters
 * (the order fixes each one's initialisation seed), and the generator (plan, model-size,
 * explain) uses the same facts without loading TensorFlow.js, so this module imports nothing
 * that loads @tensorflow/tfjs.
 */
import type { ParameterShape } from "./char-transformer.ts";

export const MLP_DEFAULTS = { window: 4, embedding: 16 };

export interface MlpShapeConfig {
  /** Widths of the hidden layers. */
  hidden: readonly number[];
  /** Tokens of context per prediction (default MLP_DEFAULTS.window). */
  window?: number;
  /** Embedding size per token (default MLP_DEFAULTS.embedding). */
  embedding?: number;
}

/** wte [V, e]; per hidden layer i fc.i.weight [fan_in, width] and fc.i.bias; head.weight and head.bias. */
export function mlpShapes(config: MlpShapeConfig, vocabularySize: number): ParameterShape[] {
  const window = config.window ?? MLP_DEFAULTS.window;
  const e = config.embedding ?? MLP_DEFAULTS.embedding;
  const vocab = vocabularySize;
  const shapes: ParameterShape[] = [{ name: "wte", shape: [vocab, e] }];
  let fanIn = window * e;
  config.hidden.forEach((width, i) => {
    shapes.push({ name: `fc.${i}.weight`, shape: [fanIn, width] }, { name: `fc.${i}.bias`, shape: [width] });
    fanIn = width;
  });
  shapes.push({ name: "head.weight", shape: [fanIn, vocab] }, { name: "head.bias", shape: [vocab] });
  return shapes;
}
