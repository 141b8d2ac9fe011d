/**
 * runtime/model-card.ts — the README.md of a model folder written in Hugging Face layout.
 *
 * A short model card, as the Hub shows it: what was trained (architecture and size), on what
 * (the data file, its rows and tokenizer), for how long, and the final metrics from the run's
 * log history, plus how to load it with transformers and how to try it with `gen-trainer sample`.
 */
import type { LogEntry } from "./logging.ts";

export interface ModelCardFacts {
  name: string;
  architecture: string;
  parameters: number;
  data: string;
  tokenizer: string;
  steps: number;
  history: readonly LogEntry[];
}

function last(history: readonly LogEntry[], key: string): number | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const value = history[i]![key];
    if (typeof value === "number") return value;
  }
  return null;
}

export function modelCard(facts: ModelCardFacts): string {
  const metrics = ["loss", "eval_loss"].map((k) => [k, last(facts.history, k)] as const).filter(([, v]) => v !== null);
  return [
    "---",
    "library_name: transformers",
    "pipeline_tag: text-generation",
    "tags: [gen-trainer, gpt2]",
    "---",
    "",
    `# ${facts.name}`,
    "",
    `A ${facts.architecture} (${facts.parameters.toLocaleString("en-US")} parameters) trained by a program gen-trainer generated, for ${facts.steps} optimizer steps on ${facts.data}, with ${facts.tokenizer}.`,
    "",
    "## Final metrics",
    "",
    ...(metrics.length ? metrics.map(([k, v]) => `- ${k}: ${v!.toFixed(4)}`) : ["- (none logged)"]),
    "",
    "## Use",
    "",
    "```python",
    "from transformers import AutoModelForCausalLM, AutoTokenizer",
    "model = AutoModelForCausalLM.from_pretrained(\"path/to/this/folder\")",
    "tokenizer = AutoTokenizer.from_pretrained(\"path/to/this/folder\")",
    "```",
    "",
    "or, without Python: `npx gen-trainer sample path/to/this/folder --prompt \"User: Hello!\\nAssistant:\"`.",
    "",
  ].join("\n");
}
