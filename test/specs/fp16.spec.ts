// minimal + emulated fp16 with dynamic loss scaling.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "fp16",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/fp16",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0, // no clipping
    saveStrategy: "no",
    fp16: true,
  },
});
