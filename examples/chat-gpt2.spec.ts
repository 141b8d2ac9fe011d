// A small GPT-2 trained from scratch on a chat dataset shipped with the repository (Korean and
// English turns), with a byte-level BPE tokenizer trained on its rows. About two minutes on a
// 2-core CPU with the wasm backend; afterwards it answers "User: 안녕?\nAssistant:" in Korean. The
// output folder is a Hugging Face model folder, holding the checkpoint with the best eval_loss:
// `npx gen-trainer sample out/chat-gpt2 --prompt "User: 안녕?\nAssistant:"`.
import { defineTrainer, generationSample } from "gen-trainer";

export default defineTrainer({
  name: "chat-gpt2",
  // a byte-level BPE learned from the training rows when the program starts (written as tokenizer.json)
  tokenizer: { train: { vocabSize: 512 } },
  model: { preset: "gpt2", nLayer: 2, nHead: 4, nEmbd: 96, nPositions: 128 },
  data: {
    jsonl: "data/chat.jsonl",
    evalFraction: 0.05,
    maxLength: 128,
    // learn to answer, not to ask: loss only on the assistant's turns
    completionOnlyLoss: true,
  },
  args: {
    outputDir: "out/chat-gpt2",
    perDeviceTrainBatchSize: 16,
    maxSteps: 300,
    learningRate: 3e-3,
    weightDecay: 0.01,
    lrSchedulerType: "cosine",
    warmupRatio: 0.05,
    loggingSteps: 50,
    evalStrategy: "steps",
    evalSteps: 50,
    saveSteps: 50,
    saveTotalLimit: 1,
    // a small dataset is soon memorized: keep the weights of the best evaluation
    loadBestModelAtEnd: true,
  },
  callbacks: [generationSample({ prompts: ["User: 안녕?\nAssistant:", "User: Hello!\nAssistant:"], everySteps: 100, maxNewTokens: 40 })],
});
