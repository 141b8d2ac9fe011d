/**
 * runtime/presets/index.ts — the built-in presets' self-descriptions, in one import.
 *
 * Each module states what its preset is (vocabulary, sequence length, defaults, parameter shapes,
 * metrics) once, for both the runtime that builds it and the generator that plans, validates and
 * explains it. Nothing here loads @tensorflow/tfjs, so the generator can import it freely
 * (test/runtime/presets.test.ts checks that).
 */
export {
  ADDITION_FIXED_DEFAULTS,
  ADDITION_METRICS,
  ADDITION_TOKENS,
  additionExample,
  additionProblemCount,
  additionSequenceLength,
  additionSizes,
  additionText,
  type AdditionFormat,
} from "./addition.ts";
export { TEXT_DEFAULTS, TEXT_METRICS, describeInvalidUtf8, findInvalidUtf8, textCharacterCount, textMinimumCharacters, textSplits, type InvalidUtf8 } from "./text.ts";
export {
  CHAT_ROLES,
  ChatTemplateError,
  JSONL_DEFAULTS,
  JSONL_METRICS,
  chatPrompt,
  checkJsonlFile,
  formatJsonlProblem,
  jsonlMinimumRows,
  jsonlSplits,
  jsonlTexts,
  parseJsonlLine,
  renderRowSegments,
  renderRowText,
  type ChatMessage,
  type ChatRole,
  type JsonlProblem,
  type JsonlRow,
  type JsonlScanOptions,
} from "./jsonl.ts";
export { charTransformerShapes, type CharTransformerShapeConfig, type ParameterShape } from "./char-transformer.ts";
export { MLP_DEFAULTS, mlpShapes, type MlpShapeConfig } from "./mlp.ts";
export {
  GPT2_DEFAULTS,
  GPT2_HF_DROPOUT,
  gpt2ConfigJson,
  gpt2ConfigProblems,
  gpt2ParameterCount,
  gpt2Shapes,
  isGpt2ResidualProjection,
  parseGpt2Config,
  readGpt2Config,
  type Gpt2Config,
} from "./gpt2.ts";
