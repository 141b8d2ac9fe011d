/**
 * runtime/presets/char-transformer.ts — the parameters of the "char-transformer" model preset:
 * names, order and shapes, stated once.
 *
 * Why here: runtime/models/char-transformer.ts creates exactly these parameters (in this order,
 * which fixes each one's initialisation seed and its place in model.safetensors), and the
 * generator (model-size, explain) counts parameters and file sizes from them without loading
 * TensorFlow.js, so this module imports nothing that loads @tensorflow/tfjs.
 */

/** One parameter tensor: its name in NamedParams and model.safetensors, and its shape. */
export interface ParameterShape {
  name: string;
  shape: number[];
}

export interface CharTransformerShapeConfig {
  dModel: number;
  layers: number;
  heads: number;
  contextLength: number;
}

/**
 * GPT-2 layout: token and position embeddings, per block pre-LayerNorm attention (wq, wk, wv,
 * wo without biases) and a 4·dModel MLP with biases, a final LayerNorm and an untied lm_head.
 * (heads does not change the shapes: they split dModel.)
 */
export function charTransformerShapes(config: CharTransformerShapeConfig, vocabularySize: number): ParameterShape[] {
  const d = config.dModel;
  const vocab = vocabularySize;
  const shapes: ParameterShape[] = [
    { name: "wte", shape: [vocab, d] },
    { name: "wpe", shape: [config.contextLength, d] },
  ];
  for (let l = 0; l < config.layers; l++) {
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
