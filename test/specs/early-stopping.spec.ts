// eval-steps + earlyStopping: stop after 2 evaluations without a lower eval_loss.
import { defineTrainer, earlyStopping } from "gen-trainer";

export default defineTrainer({
  name: "early-stopping",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/early-stopping",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0, // no clipping
    saveStrategy: "no",
    evalStrategy: "steps",
    evalSteps: 10,
    perDeviceEvalBatchSize: 25,
    metricForBestModel: "loss",
  },
  callbacks: [earlyStopping({ patience: 2 })],
});
