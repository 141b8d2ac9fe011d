// minimal + generationSample: every 50 steps the model continues two prompts.
import { defineTrainer, generationSample } from "gen-trainer";

export default defineTrainer({
  name: "sample-every-50",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    outputDir: "out/sample-every-50",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0, // no clipping
    saveStrategy: "no",
  },
  callbacks: [
    // watch the model learn to add, not only its loss
    generationSample({ prompts: ["12+34=", "99+01="], everySteps: 50, maxNewTokens: 4 }),
  ],
});
