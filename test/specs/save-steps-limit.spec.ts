// minimal + a checkpoint every 10 steps, keeping the 2 newest (and always the latest).
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "save-steps-limit",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/save-steps-limit",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0, // no clipping
    saveStrategy: "steps",
    saveSteps: 10,
    saveTotalLimit: 2,
  },
});
