/**
 * generator/commands/init.ts — `gen-trainer init [name] [--preset addition|text] [--dir DIR]`.
 *
 * Writes a commented starter spec, <dir>/<name>.spec.ts (name "my-run", dir the current folder by
 * default), that generates and trains as it is. The text preset needs a corpus: init writes a
 * small sample, <name>.txt, next to the spec (the spec's comments say so and how to replace it).
 * It never overwrites: if either file exists it writes nothing and exits 2.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../diagnostics.ts";
import { toDisplayPath } from "../load-spec.ts";
import { parseFlags } from "./shared.ts";

const USAGE = "gen-trainer init [name] [--preset addition|text] [--dir DIR]";
const PRESETS = ["addition", "text"] as const;
type Preset = (typeof PRESETS)[number];

function additionSpec(name: string, self: string): string {
  return `// ${name}.spec.ts: a starter spec written by \`gen-trainer init --preset addition\`.
// A small transformer learns 2-digit addition; a few minutes on a laptop CPU.
//
//   npx gen-trainer ${self}              writes generated/${name}/train.ts (the training program)
//   npx gen-trainer explain ${self}      shows batch, steps, schedule, timeline and disk use first
//   npx tsx generated/${name}/train.ts   trains (add --max-steps 20 for a quick try, --resume to continue)
//
// args are Hugging Face TrainingArguments in camelCase; whatever you leave out has HF's default.
// Your comments on properties are copied into the config section of the generated program.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "${name}", // a slug: the program goes to generated/${name}/train.ts
  model: {
    preset: "char-transformer", // GPT-style decoder; or { preset: "mlp", hidden: [128] }, or { module: "./my-model.ts" }
    dModel: 64,
    layers: 2,
    heads: 4, // must divide dModel
    contextLength: 9, // "12+34=640$" (answer reversed): 3 * digits + 3 input tokens
  },
  data: {
    preset: "addition", // synthetic sums; the held-out problems never occur in training
    digits: 2,
    trainExamples: 5000,
    evalExamples: 100,
  },
  args: {
    outputDir: "out/${name}", // metrics.jsonl, checkpoints, model.safetensors (relative to where you run it)
    perDeviceTrainBatchSize: 32,
    perDeviceEvalBatchSize: 100,
    gradientAccumulationSteps: 1, // k > 1: k micro-batches per optimizer step, the gradient of one batch of k * 32
    maxSteps: 600, // optimizer steps; or leave it out and set numTrainEpochs
    learningRate: 3e-3, // small models like a high learning rate
    weightDecay: 0.01,
    lrSchedulerType: "cosine",
    warmupSteps: 50,
    loggingSteps: 50,
    loggingFirstStep: true,
    evalStrategy: "steps",
    evalSteps: 200, // eval_loss, and eval_exact_match from greedy decoding of the held-out sums
    saveStrategy: "steps",
    saveSteps: 200,
    saveTotalLimit: 2, // rotation keeps the 2 newest checkpoints (and always the latest)
    seed: 42,
  },
});
`;
}

function textSpec(name: string, self: string, corpus: string): string {
  return `// ${name}.spec.ts: a starter spec written by \`gen-trainer init --preset text\`.
// A character-level language model over a text file.
//
//   npx gen-trainer ${self}              writes generated/${name}/train.ts (the training program)
//   npx gen-trainer explain ${self}      shows batch, steps, schedule, timeline and disk use first
//   npx tsx generated/${name}/train.ts   trains (add --max-steps 20 for a quick try, --resume to continue)
//
// The corpus: init wrote a small sample, ${corpus}, next to this file, so the spec runs as it
// is. Replace it with your own UTF-8 text (or point data.text at another file, relative to this
// spec); more text, a longer run. The vocabulary is the set of characters of the file.
//
// args are Hugging Face TrainingArguments in camelCase; whatever you leave out has HF's default.
// Your comments on properties are copied into the config section of the generated program.
import { defineTrainer, generationSample } from "gen-trainer";

export default defineTrainer({
  name: "${name}", // a slug: the program goes to generated/${name}/train.ts
  model: {
    preset: "char-transformer", // GPT-style decoder; or { preset: "mlp", hidden: [128] }, or { module: "./my-model.ts" }
    dModel: 64,
    layers: 2,
    heads: 4, // must divide dModel
    contextLength: 32, // characters the model attends over
  },
  data: {
    text: "${corpus}", // relative to this spec file
    evalFraction: 0.1, // the last 10% of the text is held out for eval_loss
    // sequenceLength: characters per training window; default model.contextLength
  },
  args: {
    outputDir: "out/${name}", // metrics.jsonl, checkpoints, model.safetensors (relative to where you run it)
    perDeviceTrainBatchSize: 16,
    numTrainEpochs: 40, // passes over the text; or set maxSteps
    learningRate: 2e-3,
    lrSchedulerType: "linear",
    warmupRatio: 0.05, // a ratio of all steps
    maxGradNorm: 1.0, // clip the global gradient norm (0 turns clipping off)
    loggingSteps: 20,
    evalStrategy: "epoch", // eval_loss on the held-out tail after each pass
    saveStrategy: "steps",
    saveSteps: 50,
    saveTotalLimit: 2, // rotation keeps the 2 newest checkpoints (and always the latest)
  },
  callbacks: [
    // every 50 steps, the model continues each prompt (its characters must occur in the text)
    generationSample({ prompts: ["the "], everySteps: 50, maxNewTokens: 60 }),
  ],
});
`;
}

/** The sample corpus of the text preset (written for gen-trainer; free to use). */
export const SAMPLE_CORPUS = `the keeper of the lighthouse wrote in his log every evening.
the wind came from the west and the sea was grey. the lamp was lit at six.
a small boat passed the point at dusk and turned toward the harbour.
the keeper climbed the stairs, cleaned the glass and trimmed the wick.
in the morning the fog lay on the water and the bell rang from the rock.
he made tea, mended a net and counted the gulls on the wall.
the supply boat came on tuesday with bread, oil, letters and news.
his sister wrote that the apple trees were in flower and the river was high.
he answered that the light was steady and the stairs had one hundred steps.
at noon the sun broke through and the sea turned from grey to green.
the keeper painted the door of the store room and oiled the hinges.
in the afternoon a storm rose in the south and the waves struck the rock.
the lamp was lit at five. the keeper watched the beam turn over the water.
a ship far out answered with three short lights and went on to the north.
the night was long. the wind sang in the rail and the rain ran down the glass.
at dawn the storm was over and the sea was calm and bright.
the keeper wrote in his log: wind west, sea calm, lamp lit, all well.
then he slept until noon, and when he woke the gulls were back on the wall.
the boat from the harbour brought a new book, a sack of coal and a cat.
the cat sat by the stove and watched the keeper write in his log.
in the evening the keeper read the new book aloud to the cat.
the cat did not care for the story, but it liked the warm stove.
the lamp was lit at six. the wind came from the west and the sea was grey.
the keeper of the lighthouse wrote in his log, and the light turned on.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { preset: { type: "string" }, dir: { type: "string" }, help: { type: "boolean", short: "h" } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n\nWrites <dir>/<name>.spec.ts, a commented starter spec (the text preset also a sample corpus, <name>.txt).\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`init takes at most one name, got ${positionals.length}: ${positionals.join(" ")}.\nusage: ${USAGE}`);
  const name = positionals[0] ?? "my-run";
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) {
    throw new UsageError(`name ${JSON.stringify(name)} must be a slug (lowercase letters, digits and single dashes, e.g. "my-run"): it names the spec file and the folder generated/<name>/.`);
  }
  const preset = (values.preset as string | undefined) ?? "addition";
  if (!PRESETS.includes(preset as Preset)) throw new UsageError(`--preset ${JSON.stringify(preset)} is not a preset; use --preset addition (synthetic sums) or --preset text (a character model over a text file).`);
  const dir = resolve((values.dir as string | undefined) ?? ".");
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--dir ${toDisplayPath(dir) || "."} is a file, not a folder; give a folder (it is created if missing).`);

  const specPath = join(dir, `${name}.spec.ts`);
  const corpusName = `${name}.txt`;
  const corpusPath = join(dir, corpusName);
  const targets = preset === "text" ? [specPath, corpusPath] : [specPath];
  const existing = targets.filter((p) => existsSync(p));
  if (existing.length > 0) {
    throw new UsageError(`${existing.map((p) => toDisplayPath(p)).join(" and ")} already exist${existing.length === 1 ? "s" : ""}; init never overwrites. Choose another name (gen-trainer init <name>) or --dir, or move the file away.`);
  }
  const self = toDisplayPath(specPath);
  try {
    mkdirSync(dir, { recursive: true });
    if (preset === "text") writeFileSync(corpusPath, SAMPLE_CORPUS, { flag: "wx" });
    writeFileSync(specPath, preset === "text" ? textSpec(name, self, corpusName) : additionSpec(name, self), { flag: "wx" });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new UsageError(`cannot write ${toDisplayPath(e.path ?? specPath)}: ${e.code ?? e.message}. Use --dir to pick a folder you can write.`);
  }
  process.stderr.write(`wrote ${self}${preset === "text" ? ` and its sample corpus ${toDisplayPath(corpusPath)}` : ""}\n`);
  process.stdout.write(`next:\n  npx gen-trainer explain ${self}\n  npx gen-trainer ${self}\n  npx tsx generated/${name}/train.ts\n`);
  return 0;
}
