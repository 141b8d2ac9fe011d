/**
 * generator/cli.ts — `gen-trainer <spec.ts...> [--out-dir DIR] [--check] [--stdout] [--watch]`,
 * and the subcommands `explain`, `init`, `import-hf`, `report` and `sample` (one module each in
 * generator/commands/, loaded only when used).
 *
 * Exit codes: 0 ok; 1 an invalid spec, or --check found generated code that differs (the diff
 * is printed); 2 usage or file errors. User errors never print a stack trace.
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { formatDiagnostic, UsageError } from "./diagnostics.ts";
import { TUNE_BACKENDS } from "./tune.ts";

/** Subcommands: each module exports `run(argv): Promise<number>` (the exit code). */
const SUBCOMMANDS = ["explain", "init", "import-hf", "report", "sample"] as const;

export async function main(argv: string[]): Promise<number> {
  const subcommand = SUBCOMMANDS.find((c) => c === argv[0]);
  if (subcommand) {
    const command = (await import(`./commands/${subcommand}.ts`)) as { run: (argv: string[]) => Promise<number> };
    try {
      return await command.run(argv.slice(1));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`gen-trainer ${subcommand}: ${error.message}\n`);
      return 2;
    }
  }
  let parsed: { specs: string[]; outDir: string; check: boolean; stdout: boolean; watch: boolean; tuneBackend: string | null; targets: "typescript" | "pytorch" | "all" };
  try {
    const result = await yargs(argv)
      .scriptName("gen-trainer")
      .usage("$0 <spec.ts...> [--out-dir DIR] [--target typescript|pytorch|all] [--check] [--stdout]\n\nGenerates <out-dir>/<name>/train.ts (and/or train.py), one training program per spec.")
      .command("$0 <specs..>", false)
      .positional("specs", { type: "string", array: true, demandOption: true, describe: "spec files (export default defineTrainer({...}))" })
      .option("out-dir", { type: "string", default: "generated", describe: "folder of the generated programs" })
      .option("check", { type: "boolean", default: false, describe: "write nothing; exit 1 with a diff if generated code is not what the generator emits" })
      .option("stdout", { type: "boolean", default: false, describe: "print the generated program instead of writing it" })
      .option("watch", { type: "boolean", default: false, describe: "regenerate whenever a spec or a module it names changes" })
      .option("target", { type: "string", default: "typescript", choices: ["typescript", "pytorch", "all"], describe: "train.ts, train.py (PyTorch, torchrun-ready), or both (train.py where the spec allows it)" })
      .option("tune", { type: "boolean", default: false, describe: "time the model's formulations on this machine and emit the fastest (output then depends on the machine)" })
      .option("tune-backend", { type: "string", default: "wasm", choices: [...TUNE_BACKENDS], describe: "backend to tune for (webgpu: where @tensorflow/tfjs-backend-webgpu and an adapter exist)" })
      .epilogue("Commands: explain <spec.ts> [--json] | init [name] | import-hf <training_args.json> | report <outputDir> | sample <modelDir> --prompt TEXT")
      .strict()
      .exitProcess(false)
      .fail((message, error) => {
        throw new UsageError(message ?? error?.message ?? "invalid arguments");
      })
      .help()
      .version(false)
      .parseAsync();
    if (result.help) return 0;
    if (result.check && result.stdout) throw new UsageError("--check and --stdout cannot be used together");
    if (result.watch && (result.check || result.stdout)) throw new UsageError("--watch writes files; it cannot be used with --check or --stdout");
    if (result.tune && result.check) throw new UsageError("--tune output depends on the machine; it cannot be used with --check");
    parsed = { specs: result.specs as string[], outDir: result["out-dir"], check: result.check, stdout: result.stdout, watch: result.watch, tuneBackend: result.tune ? result["tune-backend"] : null, targets: result.target as "typescript" | "pytorch" | "all" };
  } catch (error) {
    process.stderr.write(`gen-trainer: ${(error as Error).message}\nRun gen-trainer --help for usage.\n`);
    return 2;
  }
  if (parsed.watch) return (await import("./watch.ts")).watch(parsed.specs, { outDir: parsed.outDir });
  try {
    // Loaded here, not at the top, so the subcommands start without the generator's weight.
    const { generate } = await import("./generate.ts");
    const result = await generate(parsed.specs, { outDir: parsed.outDir, check: parsed.check, stdout: parsed.stdout, tuneBackend: parsed.tuneBackend, targets: parsed.targets });
    for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    for (const d of result.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    if (result.diagnostics.length > 0) {
      process.stderr.write(`${result.diagnostics.length} problem${result.diagnostics.length === 1 ? "" : "s"}; nothing was written.\n`);
      return 1;
    }
    if (parsed.stdout) {
      for (const p of result.programs) process.stdout.write(p.code);
      return 0;
    }
    if (parsed.check) {
      for (const d of result.differences) process.stdout.write(d.diff);
      if (result.differences.length > 0) {
        process.stderr.write(`${result.differences.length} generated file${result.differences.length === 1 ? " is" : "s are"} out of date: run \`npm run generate\` and commit the result.\n`);
        return 1;
      }
      process.stderr.write(`${result.programs.length} generated program${result.programs.length === 1 ? "" : "s"} up to date.\n`);
      return 0;
    }
    for (const p of result.programs) process.stderr.write(`wrote ${p.outputPath}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`gen-trainer: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

export async function run(): Promise<void> {
  process.exitCode = await main(hideBin(process.argv));
}
