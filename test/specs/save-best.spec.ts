// eval-steps + a checkpoint at each new best eval_loss, and the best weights as the final model.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "save-best",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/save-best",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0, // no clipping
    saveStrategy: "best",
    evalStrategy: "steps",
    evalSteps: 10,
    perDeviceEvalBatchSize: 25,
    loadBestModelAtEnd: true,
  },
});
