/**
 * gen-trainer/runtime — everything a generated training program imports, and nothing else.
 *
 * Generated programs are flat: they hold the training loop, specialized to one spec. What they
 * call lives here, one concern per file: backend choice, data presets and the sampler, model
 * presets, AdamW and schedules, gradient utilities, logging, evaluation and file IO.
 */
export * from "./types.ts";
export { backendDevice, selectBackend, type AdapterDescription, type BackendChoice, type BackendDevice } from "./backend.ts";
export { parseRunFlags, RunFlagError, type RunFlags } from "./run-flags.ts";
export { Rng, mixSeed, permutation } from "./rng.ts";
export { EpochSampler, type SamplerState } from "./sampler.ts";
export { additionData, type AdditionConfig } from "./data/addition.ts";
export { additionSequenceLength } from "./presets/addition.ts";
export { textData, type TextConfig } from "./data/text.ts";
export * from "./tokenizers/index.ts";
export { jsonlData, type JsonlConfig, type JsonlStats } from "./data/jsonl.ts";
export { chatPrompt, jsonlTexts } from "./presets/jsonl.ts";
export { charTransformer, type CharTransformerConfig } from "./models/char-transformer.ts";
export { DEFAULT_FORMULATIONS, defaultFormulation, formulationFor, FORMULATION_BACKENDS, type DefaultFormulation, type Formulation, type FormulationBackend, type TunedFormulation } from "./models/matmul.ts";
export { MAX_WASM_THREADS } from "./wasm-threads.ts";
export { mlp, type MlpConfig } from "./models/mlp.ts";
export { gpt2, type Gpt2Model, type Gpt2Options } from "./models/gpt2.ts";
export { readGpt2Folder, loadGpt2Weights, writeGpt2Folder, type Gpt2Folder, type Gpt2FolderContents, type HostTensor } from "./hf-folder.ts";
export { GPT2_DEFAULTS, gpt2ConfigJson, gpt2Shapes, readGpt2Config, type Gpt2Config } from "./presets/gpt2.ts";
export { AdamW, usesWeightDecay, type AdamWConfig } from "./optimizer.ts";
export { linearWithWarmup, cosineWithWarmup, constantWithWarmup } from "./schedule.ts";
export { accumulate, accumulateGradients, clipGradientsByGlobalNorm, disposeAll, globalNorm, roundGradientsToFp16, scaleGradients, type StepGradients } from "./gradients.ts";
export { allFinite, fp16Round, fp16RoundWithGradient } from "./fp16.ts";
export { FP16_SCALE_FLOOR, LossScaler, type LossScalerConfig, type LossScalerState } from "./loss-scaler.ts";
export { RunningMean, LatestValue, Throughput } from "./meters.ts";
export { TrainingLog, type LogEntry } from "./logging.ts";
export { evaluateLoss } from "./evaluate.ts";
export { writeModel, modelContext } from "./model-io.ts";
export { writeTrainerState, trainerState, type TrainerState } from "./trainer-state.ts";
export { UserError } from "./user-error.ts";
export { DIVERGED_EXIT_CODE, isFiniteStep, stepValues, stopDiverged, type StepValues } from "./divergence.ts";
export { lockOutputDir, LOCK_FILE, type RunLock } from "./run-lock.ts";
export { BestMetric } from "./best-metric.ts";
export {
  checkpointDir,
  findResumeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  loadModelWeights,
  rotateCheckpoints,
  saveCheckpoint,
  type CheckpointContents,
  type LoadedCheckpoint,
  type ResumeState,
} from "./checkpoint.ts";
export { CALLBACK_EVENTS, newControl, runHook, type CallbackArgs, type CallbackContext, type TrainerCallback, type TrainerCallbackState, type TrainerControl } from "./callbacks.ts";
export { EarlyStopping, type EarlyStoppingState } from "./early-stopping.ts";
export { requireGenerate, sampleText } from "./samples.ts";
export { modelCard, type ModelCardFacts } from "./model-card.ts";
export { resumeCommand, watchForInterrupt, type Interrupt } from "./interrupt.ts";
