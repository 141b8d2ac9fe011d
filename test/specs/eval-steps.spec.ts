// minimal + evaluation every 10 steps (eval_loss and eval_exact_match).
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "eval-steps",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/eval-steps",
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
});
