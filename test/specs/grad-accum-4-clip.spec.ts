// grad-accum-4 + clipping: the clip runs once per optimizer step, on the accumulated gradients.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "grad-accum-4-clip",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/grad-accum-4-clip",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 1.0,
    saveStrategy: "no",
    gradientAccumulationSteps: 4,
  },
});
