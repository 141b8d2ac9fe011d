// Strings from a spec are data: this one's hold quotes, backticks, ${...}, */, newlines and
// non-ASCII text. */ A comment may hold "quotes", `backticks` and ${template} too.
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "injection",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: {
    // a comment with */ and ${process.exit(1)} and `backticks`
    outputDir: "out/inj\"ection' `${process.exit(7)}` */ \\ \n\u2028 ünïcødé ✓",
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    saveStrategy: "no",
  },
});
