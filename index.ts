/**
 * gen-trainer — the package root a spec imports: `import { defineTrainer } from "gen-trainer"`.
 */
export { defineTrainer, earlyStopping, generationSample, jsonlLogger, progressBar } from "./generator/spec-types.ts";
export type {
  AdditionPreset,
  CallbackSpec,
  EarlyStoppingCallback,
  GenerationSampleCallback,
  JsonlLoggerCallback,
  JsonValue,
  ProgressBarCallback,
  UserCallbackRef,
  CharTransformerPreset,
  DataSpec,
  Fp16ScalerArgs,
  IntervalStrategy,
  LrSchedulerType,
  MlpPreset,
  ModelSpec,
  ModuleRef,
  ReportTo,
  SaveStrategy,
  TextData,
  TrainerSpec,
  TrainingArgs,
} from "./generator/spec-types.ts";
// The contracts of user model/data/callback modules (ModelDefinition, DatasetDefinition,
// TrainerCallback, ...) come from
// "gen-trainer/runtime", so that checking a spec never loads TensorFlow.js's types.
