// A user callback implementing one hook: it prints eval_loss after each evaluation.
import type { CallbackArgs, CallbackContext, TrainerCallback, TrainerCallbackState, TrainerControl } from "gen-trainer/runtime";

export class EvalReporter implements TrainerCallback {
  constructor(private readonly options: { prefix: string }) {}

  onEvaluate(_args: CallbackArgs, state: TrainerCallbackState, _control: TrainerControl, ctx: CallbackContext): void {
    process.stdout.write(`${this.options.prefix} step ${state.globalStep} eval_loss ${ctx.metrics!.eval_loss}\n`);
  }
}
