/**
 * runtime/callbacks.ts — the contract of user callbacks, and the built-in ones' machinery.
 *
 * A user callback is a class implementing some of TrainerCallback's hooks (HF's TrainerCallback
 * events in camelCase). The generator reads which hooks the class implements and emits a direct
 * call to each at the point of the loop where HF fires it — there is no list of callbacks looped
 * over at run time. Every hook gets (args, state, control, ctx):
 *   args     the run's resolved TrainingArguments (camelCase)
 *   state    HF's TrainerState: globalStep, epoch, maxSteps, logHistory, bestMetric, ...
 *   control  flags a hook may set: stop training or the epoch, ask for a log/eval/save now
 *   ctx      the model and its parameters, the optimizer, the data's vocabulary, and the
 *            metrics (onEvaluate) or the log entry (onLog)
 * A hook may be async. A hook that throws stops the run with a message naming the callback and
 * the event; checkpoints already written are complete and stay.
 */
import type { LogEntry } from "./logging.ts";
import type { AdamW } from "./optimizer.ts";
import type { ModelDefinition, NamedParams, Vocabulary } from "./types.ts";
import { UserError } from "./user-error.ts";

export interface TrainerCallbackState {
  globalStep: number;
  epoch: number;
  maxSteps: number;
  logHistory: LogEntry[];
  bestMetric: number | null;
  bestModelCheckpoint: string | null;
}

/** HF's TrainerControl; the generated loop resets each flag where HF does and honours it. */
export interface TrainerControl {
  shouldTrainingStop: boolean;
  shouldEpochStop: boolean;
  shouldSave: boolean;
  shouldEvaluate: boolean;
  shouldLog: boolean;
}

export interface CallbackContext {
  model: ModelDefinition;
  params: NamedParams;
  optimizer: AdamW;
  vocabulary: Vocabulary | null;
  /** onEvaluate: the evaluation's metrics. */
  metrics?: Record<string, number>;
  /** onLog: the entry just logged. */
  logs?: LogEntry;
}

export type CallbackArgs = Readonly<Record<string, unknown>>;

type Hook = (args: CallbackArgs, state: TrainerCallbackState, control: TrainerControl, ctx: CallbackContext) => void | Promise<void>;

/** Implement any of these; the generator calls only the ones a class has. */
export interface TrainerCallback {
  onTrainBegin?: Hook;
  onTrainEnd?: Hook;
  onEpochBegin?: Hook;
  onEpochEnd?: Hook;
  onStepBegin?: Hook;
  onSubstepEnd?: Hook;
  onPreOptimizerStep?: Hook;
  onOptimizerStep?: Hook;
  onStepEnd?: Hook;
  onEvaluate?: Hook;
  onSave?: Hook;
  onLog?: Hook;
}

export const CALLBACK_EVENTS = [
  "onTrainBegin",
  "onTrainEnd",
  "onEpochBegin",
  "onEpochEnd",
  "onStepBegin",
  "onSubstepEnd",
  "onPreOptimizerStep",
  "onOptimizerStep",
  "onStepEnd",
  "onEvaluate",
  "onSave",
  "onLog",
] as const;

export function newControl(): TrainerControl {
  return { shouldTrainingStop: false, shouldEpochStop: false, shouldSave: false, shouldEvaluate: false, shouldLog: false };
}

/** Runs one hook; an error becomes a message naming the callback and the event. */
export async function runHook(name: string, event: string, hook: () => void | Promise<void>): Promise<void> {
  try {
    await hook();
  } catch (error) {
    throw new UserError(`callback ${name} failed in ${event}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
