// A test callback implementing every hook: it records "<event>@<globalStep>" and writes the list
// to options.path at the end of training. It can also stop training, ask for a log, or throw.
import { writeFileSync } from "node:fs";
import type { CallbackArgs, CallbackContext, TrainerCallback, TrainerCallbackState, TrainerControl } from "gen-trainer/runtime";

interface Options {
  path: string;
  stopAtStep?: number;
  logAtStep?: number;
  throwAtStep?: number;
}

export class RecordEvents implements TrainerCallback {
  private readonly events: string[] = [];
  constructor(private readonly options: Options) {}

  private record(event: string, state: TrainerCallbackState): void {
    this.events.push(`${event}@${state.globalStep}`);
  }

  onTrainBegin(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onTrainBegin", s);
  }
  onEpochBegin(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onEpochBegin", s);
  }
  onStepBegin(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onStepBegin", s);
  }
  onSubstepEnd(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onSubstepEnd", s);
  }
  onPreOptimizerStep(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onPreOptimizerStep", s);
  }
  onOptimizerStep(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onOptimizerStep", s);
  }
  onStepEnd(_a: CallbackArgs, s: TrainerCallbackState, control: TrainerControl): void {
    this.record("onStepEnd", s);
    if (s.globalStep === this.options.stopAtStep) control.shouldTrainingStop = true;
    if (s.globalStep === this.options.logAtStep) control.shouldLog = true;
    if (s.globalStep === this.options.throwAtStep) throw new Error("boom");
  }
  onLog(_a: CallbackArgs, s: TrainerCallbackState, _c: TrainerControl, ctx: CallbackContext): void {
    this.record(`onLog(${"eval_loss" in ctx.logs! ? "eval" : "train"})`, s);
  }
  onEvaluate(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onEvaluate", s);
  }
  onSave(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onSave", s);
  }
  onEpochEnd(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onEpochEnd", s);
  }
  onTrainEnd(_a: CallbackArgs, s: TrainerCallbackState): void {
    this.record("onTrainEnd", s);
    writeFileSync(this.options.path, JSON.stringify(this.events));
  }
}
