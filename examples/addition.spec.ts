// Learn 3-digit addition with a small character transformer: the example `npm start` runs.
// About two minutes on a 2-core CPU with the wasm backend.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "addition",
  model: {
    preset: "char-transformer",
    dModel: 64,
    layers: 2,
    heads: 4,
    // "999+999=1998$" is 13 characters: inputs are the first 12
    contextLength: 12,
  },
  data: {
    preset: "addition",
    digits: 3,
    trainExamples: 20000,
    evalExamples: 500,
  },
  args: {
    outputDir: "out/addition",
    perDeviceTrainBatchSize: 64,
    perDeviceEvalBatchSize: 500,
    maxSteps: 1000,
    learningRate: 3e-3, // small models like a high learning rate
    weightDecay: 0.01,
    lrSchedulerType: "cosine",
    warmupSteps: 100,
    loggingSteps: 50,
    loggingFirstStep: true,
    evalStrategy: "steps",
    evalSteps: 200,
    saveStrategy: "no",
    seed: 42,
  },
});
