// eval-steps + a user callback implementing only onEvaluate: one call site, in eval.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "user-callback-evaluate",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/user-callback-evaluate",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0, // no clipping
    saveStrategy: "no",
    evalStrategy: "steps",
    evalSteps: 10,
    perDeviceEvalBatchSize: 25,
  },
  callbacks: [{ module: "./modules/eval-reporter.ts", export: "EvalReporter", options: { prefix: "eval>" } }],
});
