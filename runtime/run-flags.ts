/**
 * runtime/run-flags.ts — the command line of a generated program.
 *
 *   --max-steps N       stop after N optimizer steps (overrides the spec)
 *   --output-dir DIR    where metrics, checkpoints and the model go (overrides args.outputDir)
 *   --backend NAME      auto | webgpu | wasm | cpu | tensorflow (see backend.ts)
 *   --threads N         wasm only: tfjs-backend-wasm's threaded SIMD build with N threads (1-8;
 *                       see wasm-threads.ts); without it, the single-threaded SIMD build
 *   --quiet             no console output (metrics.jsonl is still written)
 *   --resume [DIR]      only in programs that save checkpoints: continue from DIR, or from the
 *                       newest complete checkpoint of the output dir
 */
import { parseArgs } from "node:util";
import { BACKEND_CHOICES, type BackendChoice } from "./backend.ts";
import { reportUserErrorsPlainly, UserError } from "./user-error.ts";
import { threadsProblem } from "./wasm-threads.ts";

export interface RunFlags {
  maxSteps: number | null;
  outputDir: string | null;
  backend: BackendChoice;
  /** --threads: null for the wasm backend's single-threaded build (pass to selectBackend). */
  threads: number | null;
  quiet: boolean;
  /** null: fresh run; "latest": newest checkpoint; otherwise a checkpoint folder. */
  resume: string | null;
}

export class RunFlagError extends UserError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Parses the flags; from here on, user errors print without a stack trace (exit 2 for flags). */

export function parseRunFlags(argv: readonly string[], options: { resume: boolean }): RunFlags {
  reportUserErrorsPlainly();
  // `--resume` may stand alone; give it an explicit value so parseArgs can read it as a string.
  const args = argv.flatMap((arg, i) => (arg === "--resume" && (i + 1 >= argv.length || argv[i + 1]!.startsWith("--")) ? ["--resume=latest"] : [arg]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        "max-steps": { type: "string" },
        "output-dir": { type: "string" },
        backend: { type: "string", default: "auto" },
        threads: { type: "string" },
        quiet: { type: "boolean", default: false },
        ...(options.resume ? { resume: { type: "string" as const } } : {}),
        help: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    const hint = !options.resume && argv.some((a) => a.startsWith("--resume")) ? " This program saves no checkpoints (its spec has saveStrategy \"no\"), so it cannot resume." : "";
    throw new RunFlagError(`${(error as Error).message}.${hint}`);
  }
  if (values.help) {
    process.stdout.write(`usage: tsx train.ts [--max-steps N] [--output-dir DIR] [--backend ${BACKEND_CHOICES.join("|")}] [--threads N] [--quiet]${options.resume ? " [--resume [CHECKPOINT_DIR]]" : ""}\n`);
    process.exit(0);
  }
  const maxStepsText = values["max-steps"] as string | undefined;
  const maxSteps = maxStepsText === undefined ? null : Number(maxStepsText);
  if (maxSteps !== null && (!Number.isInteger(maxSteps) || maxSteps < 1)) {
    throw new RunFlagError(`--max-steps must be a positive integer, got "${maxStepsText}".`);
  }
  const backend = values.backend as string;
  if (!BACKEND_CHOICES.includes(backend as BackendChoice)) {
    throw new RunFlagError(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got "${backend}".`);
  }
  const threadsText = values.threads as string | undefined;
  const threads = threadsText === undefined ? null : Number(threadsText);
  if (threads !== null) {
    const problem = threadsProblem(threads);
    if (problem) throw new RunFlagError(problem.replace(`"${threads}"`, `"${threadsText}"`));
    if (backend !== "wasm" && backend !== "auto") throw new RunFlagError(`--threads applies to the wasm backend only, not "${backend}".`);
  }
  return {
    maxSteps,
    outputDir: (values["output-dir"] as string | undefined) ?? null,
    backend: backend as BackendChoice,
    threads,
    quiet: values.quiet as boolean,
    resume: (values.resume as string | undefined) ?? null,
  };
}
