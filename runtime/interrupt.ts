/**
 * runtime/interrupt.ts — CTRL-C (SIGINT) and SIGTERM in a program that saves checkpoints.
 *
 * The first signal only raises a flag: the loop finishes the step it is in, saves a checkpoint,
 * says how to resume, and exits with 130. A second signal exits at once (the newest complete
 * checkpoint still resumes; an unfinished one is a temporary folder that is never used).
 */
import { relative } from "node:path";

export interface Interrupt {
  /** True once SIGINT or SIGTERM arrived. */
  readonly requested: boolean;
}

export function watchForInterrupt(): Interrupt {
  const state = { requested: false };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state.requested) process.exit(130);
    state.requested = true;
    process.stderr.write(`\n${signal}: finishing this step and saving a checkpoint (again to quit now)\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return state;
}

/** The command line that resumes this run: the same program and flags, plus --resume. */
export function resumeCommand(): string {
  const script = relative(process.cwd(), process.argv[1] ?? "train.ts");
  const args = process.argv.slice(2).filter((a, i, all) => a !== "--resume" && !(all[i - 1] === "--resume" && !a.startsWith("--")) && !a.startsWith("--resume="));
  return ["npx tsx", script, ...args.map((a) => (/^[\w./=:-]+$/.test(a) ? a : JSON.stringify(a))), "--resume"].join(" ");
}
