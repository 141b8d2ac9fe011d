// A model and a dataset from the user's own modules (ModelDefinition / DatasetDefinition).
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "user-modules",
  model: { module: "./modules/bigram-model.ts" },
  data: { module: "./modules/counting-data.ts" },
  args: {
    outputDir: "out/user-modules",
    perDeviceTrainBatchSize: 4,
    maxSteps: 20,
    learningRate: 0.05,
    loggingSteps: 5,
    evalStrategy: "steps",
    evalSteps: 10,
    saveStrategy: "no",
  },
});
