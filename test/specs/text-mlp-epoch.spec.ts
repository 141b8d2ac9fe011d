// An MLP language model over a text file, trained for epochs, logged and evaluated per epoch.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "text-mlp-epoch",
  model: { preset: "mlp", hidden: [32] },
  data: { text: "../../examples/data/rhymes.txt", evalFraction: 0.2, sequenceLength: 16 },
  args: {
    outputDir: "out/text-mlp-epoch",
    perDeviceTrainBatchSize: 8,
    numTrainEpochs: 2,
    learningRate: 1e-2,
    loggingStrategy: "epoch",
    evalStrategy: "epoch",
    saveStrategy: "no",
  },
});
