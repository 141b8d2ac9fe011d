// minimal + gradient clipping by global norm.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "clip",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/clip",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 1.0, // clip the global gradient norm to 1
    saveStrategy: "no",
  },
});
