// The smallest plain loop: no clipping, no eval, no saving. Other specs in this folder are this
// one plus one feature, so `diff generated/minimal/train.ts generated/<feature>/train.ts` shows
// exactly that feature's footprint.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "minimal",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/minimal",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0, // no clipping
    saveStrategy: "no",
  },
});
