/**
 * runtime/presets/jsonl.ts — what the "jsonl" data preset is, stated once: the row shapes of a
 * chat/instruction file, how a row is rendered to text (the default "User:/Assistant:" format or
 * the tokenizer's Jinja chat template), which parts of a row are the completion, and what makes a
 * file unusable — checked alike at generation time (checkJsonlFile) and at run time
 * (runtime/data/jsonl.ts, which builds its data from the very same scan and segments).
 *
 * Why here: the generator reports `file:line` problems of a data file without loading
 * TensorFlow.js, so this module imports nothing that loads @tensorflow/tfjs (only node:fs, the
 * Jinja renderer and ./text.ts).
 *
 * A file holds one JSON object per line (blank lines are skipped); each is one of
 *   {"text": "..."}                                      a plain document, every token trained on
 *   {"prompt": "...", "completion": "..."}               one exchange
 *   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}   a chat
 * Other keys of a row or a message (ids, metadata) are ignored.
 *
 * Rendering (renderRowSegments; renderRowText is its concatenation):
 * - text rows: the text, then the end-of-text token — with or without a chat template.
 * - default format (no chat template): turns `System: {content}`, `User: {content}`,
 *   `Assistant: {content}` joined by "\n", the whole row followed by the end-of-text token;
 *   {prompt, completion} is the chat [user: prompt, assistant: completion], i.e.
 *   `User: {prompt}\nAssistant: {completion}<eos>`. The completion of an assistant turn is
 *   " {content}" (the space after "Assistant:" belongs to it, as GPT-2-style tokenizers attach a
 *   space to the next word), so the prompt a program sends at inference, "User: 안녕?\nAssistant:"
 *   (chatPrompt), is exactly the text the model saw before the answer. The "\n" closing an assistant
 *   turn belongs to the next turn; the end-of-text token is a completion token when the last message
 *   is the assistant's (TRL: the eos ending the last assistant turn is trained on).
 * - with a chat template: rendered as Hugging Face's apply_chat_template does (context: messages,
 *   bos_token, eos_token, add_generation_prompt: false; nothing appended — the template writes its
 *   own end tokens). The completion of assistant message i is the text between rendering messages
 *   [0, i) with add_generation_prompt: true and rendering messages [0, i] — the content plus the end
 *   tokens the template writes after it (e.g. "<|im_end|>\n"), what TRL's {% generation %} blocks
 *   mark. This needs a template whose renders of a conversation's beginnings are prefixes of the
 *   whole render; a row where that fails is reported (with completion-only loss only).
 */
import { readFileSync } from "node:fs";
import { Template } from "@huggingface/jinja";
import { UserError } from "../user-error.ts";
import { describeInvalidUtf8, findInvalidUtf8 } from "./text.ts";

/** Defaults of the preset's options. */
export const JSONL_DEFAULTS = { evalFraction: 0.1, maxLength: 256, completionOnlyLoss: true };

/** What evaluation reports for this data. */
export const JSONL_METRICS: string[] = ["eval_loss"];

export const CHAT_ROLES = ["system", "user", "assistant"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** One well-formed row, with only the fields that matter. */
export type JsonlRow = { text: string } | { prompt: string; completion: string } | { messages: ChatMessage[] };

/** A problem of a file: its 1-based line and what is wrong (and how to fix it). */
export interface JsonlProblem {
  line: number;
  message: string;
}

/** Labels of the default format: a turn is `${label}: ${content}`. */
export const DEFAULT_ROLE_LABELS: Record<ChatRole, string> = { system: "System", user: "User", assistant: "Assistant" };

/** The most problems reported by default (the count of all of them is kept). */
export const JSONL_MAX_PROBLEMS = 20;

const EXAMPLE_ROW = `{"messages": [{"role": "user", "content": "안녕?"}, {"role": "assistant", "content": "안녕하세요!"}]}`;
const SHAPES = `{"text": "..."}, {"prompt": "...", "completion": "..."} or {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}`;

/** The JSON type of a value, for messages: "null", "an array", "a number", ... */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return typeof value;
}

/**
 * Parses one non-blank line into a row, or says what is wrong with it and how to fix it. Only the
 * shape is checked here; whether a row has anything to train on depends on the options
 * (rowProblem).
 */
export function parseJsonlLine(line: string): { row: JsonlRow } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { error: `not valid JSON (${(error as Error).message}); write each row as one JSON object on one line, e.g. ${EXAMPLE_ROW}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: `the row is ${jsonType(value)}, not a JSON object; write it as ${SHAPES}` };
  }
  const object = value as Record<string, unknown>;
  const kinds = (["text", "prompt", "messages"] as const).filter((k) => k in object || (k === "prompt" && "completion" in object));
  if (kinds.length === 0) {
    const keys = Object.keys(object);
    const has = keys.length === 0 ? "it is {}" : `it has ${keys.map((k) => JSON.stringify(k)).join(", ")}`;
    return { error: `the row has none of "text", "prompt"/"completion" or "messages" (${has}); write it as ${SHAPES}` };
  }
  if (kinds.length > 1) {
    const names = kinds.map((k) => (k === "prompt" ? `"prompt"/"completion"` : `"${k}"`));
    return { error: `the row has both ${names.join(" and ")}; a row is one kind: ${SHAPES} — split it into separate rows or drop one` };
  }
  const notString = (key: string, v: unknown) => `"${key}" is ${jsonType(v)}, not a string; write it as text, e.g. "${key}": "..."`;
  if (kinds[0] === "text") {
    const text = object.text;
    if (typeof text !== "string") return { error: notString("text", text) };
    if (text.length === 0) return { error: `"text" is empty; put the document in it or remove the line` };
    return { row: { text } };
  }
  if (kinds[0] === "prompt") {
    if (!("prompt" in object)) return { error: `the row has "completion" but no "prompt"; add "prompt": "<the question>" (or use "messages")` };
    if (!("completion" in object)) return { error: `the row has "prompt" but no "completion"; add "completion": "<the answer>" (or use "messages")` };
    const { prompt, completion } = object;
    if (typeof prompt !== "string") return { error: notString("prompt", prompt) };
    if (typeof completion !== "string") return { error: notString("completion", completion) };
    return { row: { prompt, completion } };
  }
  const messages = object.messages;
  if (!Array.isArray(messages)) {
    return { error: `"messages" is ${jsonType(messages)}, not an array; write it as "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]` };
  }
  if (messages.length === 0) return { error: `"messages" is empty; give it at least one message, e.g. a user turn and the assistant's answer, or remove the line` };
  const out: ChatMessage[] = [];
  for (const [i, message] of messages.entries()) {
    const at = `messages[${i}]`;
    if (message === null || typeof message !== "object" || Array.isArray(message)) {
      return { error: `${at} is ${jsonType(message)}, not an object; write each message as {"role": "user", "content": "..."}` };
    }
    const { role, content } = message as Record<string, unknown>;
    if (role === undefined) return { error: `${at} has no "role"; add "role": "user", "assistant" or "system"` };
    if (typeof role !== "string") return { error: `${at}.role is ${jsonType(role)}, not a string; use "system", "user" or "assistant"` };
    if (!(CHAT_ROLES as readonly string[]).includes(role)) {
      return { error: `${at}.role is ${JSON.stringify(role)}, which is not a known role; use "system", "user" or "assistant"` };
    }
    if (content === undefined) return { error: `${at} has no "content"; add "content": "<the text of the message>"` };
    if (typeof content !== "string") return { error: `${at}.content is ${jsonType(content)}, not a string; write the message's text as a string` };
    out.push({ role: role as ChatRole, content });
  }
  return { row: { messages: out } };
}

/** The messages of a row: {prompt, completion} is [user, assistant]; text rows have none. */
export function rowMessages(row: JsonlRow): ChatMessage[] | null {
  if ("messages" in row) return row.messages;
  if ("prompt" in row) {
    return [
      { role: "user", content: row.prompt },
      { role: "assistant", content: row.completion },
    ];
  }
  return null;
}

/**
 * What makes a well-formed row unusable under the options, or null. With completion-only loss a
 * row without an assistant turn (a completion) has nothing to train on.
 */
export function rowProblem(row: JsonlRow, options: { completionOnlyLoss: boolean }): string | null {
  if (options.completionOnlyLoss && "messages" in row && !row.messages.some((m) => m.role === "assistant")) {
    return `the chat has no "assistant" message, so with completionOnlyLoss nothing in it is trained on; add the assistant's answer, remove the row, or set completionOnlyLoss: false`;
  }
  return null;
}

/** One piece of a rendered row. */
export interface RowSegment {
  text: string;
  /** Part of a completion (assistant turn, or all of a text row): a loss target under completion-only loss. */
  completion: boolean;
  /** The end-of-text token: tokenized as the tokenizer's eos id, not by encoding `text`. */
  eos?: true;
}

/** What a chat template sees besides the messages (as apply_chat_template passes them). */
export interface TemplateTokens {
  /** The end-of-text token's text (eos_token); null = none (nothing is appended to rows then). */
  eosToken: string | null;
  /** bos_token for templates that write it; "" when the tokenizer has none. */
  bosToken?: string | null;
}

/** A row a chat template cannot render (it raised, or cannot be split into prompt and completion). */
export class ChatTemplateError extends Error {
  override name = "ChatTemplateError";
}

const compiled = new Map<string, Template>();

/** The compiled template (cached by its text); a template that does not parse throws ChatTemplateError. */
function compile(chatTemplate: string): Template {
  let template = compiled.get(chatTemplate);
  if (!template) {
    try {
      template = new Template(chatTemplate);
    } catch (error) {
      throw new ChatTemplateError(`the tokenizer's chat template does not parse: ${(error as Error).message}`);
    }
    compiled.set(chatTemplate, template);
  }
  return template;
}

/** Renders messages as Hugging Face's apply_chat_template(messages, tokenize=False) does. */
export function renderChatTemplate(chatTemplate: string, messages: readonly ChatMessage[], tokens: TemplateTokens, addGenerationPrompt: boolean): string {
  const template = compile(chatTemplate);
  try {
    return template.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      bos_token: tokens.bosToken ?? "",
      eos_token: tokens.eosToken ?? "",
      add_generation_prompt: addGenerationPrompt,
    });
  } catch (error) {
    throw new ChatTemplateError(`the tokenizer's chat template failed on this row: ${(error as Error).message}`);
  }
}

/**
 * The row as segments of text; their concatenation is the row's text (renderRowText). Segments
 * are tokenized separately and concatenated (runtime/data/jsonl.ts), so a prompt/completion
 * boundary is always a token boundary and a prompt tokenizes at inference exactly as in training.
 *
 * With a chat template and `locateCompletions` false, the messages are one segment (marked
 * completion: false) — nothing is split, so any template that renders works.
 */
export function renderRowSegments(row: JsonlRow, chatTemplate: string | null, tokens: TemplateTokens, options: { locateCompletions?: boolean } = {}): RowSegment[] {
  const { eosToken } = tokens;
  const eos: RowSegment[] = eosToken === null ? [] : [{ text: eosToken, completion: true, eos: true }];
  const messages = rowMessages(row);
  if (messages === null) return [{ text: (row as { text: string }).text, completion: true }, ...eos];
  if (chatTemplate === null) {
    const segments: RowSegment[] = [];
    let prompt = "";
    messages.forEach((m, i) => {
      const separator = i === 0 ? "" : "\n";
      if (m.role === "assistant") {
        segments.push({ text: `${prompt}${separator}${DEFAULT_ROLE_LABELS.assistant}:`, completion: false });
        segments.push({ text: ` ${m.content}`, completion: true });
        prompt = "";
      } else {
        prompt += `${separator}${DEFAULT_ROLE_LABELS[m.role]}: ${m.content}`;
      }
    });
    if (prompt !== "") segments.push({ text: prompt, completion: false });
    const lastIsAssistant = messages[messages.length - 1]!.role === "assistant";
    return [...segments, ...eos.map((s) => ({ ...s, completion: lastIsAssistant }))].filter((s) => s.text !== "");
  }
  const full = renderChatTemplate(chatTemplate, messages, tokens, false);
  if (options.locateCompletions === false) return [{ text: full, completion: false }];
  const segments: RowSegment[] = [];
  let at = 0;
  messages.forEach((m, i) => {
    if (m.role !== "assistant") return;
    const before = renderChatTemplate(chatTemplate, messages.slice(0, i), tokens, true);
    const through = renderChatTemplate(chatTemplate, messages.slice(0, i + 1), tokens, false);
    if (before.length < at || !through.startsWith(before) || !full.startsWith(through)) {
      throw new ChatTemplateError(
        `the chat template does not render this chat incrementally (rendering messages[0..${i}) with add_generation_prompt, then messages[0..${i}], does not give prefixes of the whole render), so the tokens of assistant message ${i} cannot be located; set completionOnlyLoss: false, or use a template whose renders of a chat's beginnings are prefixes of the whole`,
      );
    }
    segments.push({ text: full.slice(at, before.length), completion: false });
    segments.push({ text: full.slice(before.length, through.length), completion: true });
    at = through.length;
  });
  segments.push({ text: full.slice(at), completion: false });
  return segments.filter((s) => s.text !== "");
}

/**
 * The row's text as the model sees it (pure string rendering; see the header for the rules), e.g.
 * renderRowText({ prompt: "안녕?", completion: "안녕하세요!" }, null, "<|endoftext|>") is
 * "User: 안녕?\nAssistant: 안녕하세요!<|endoftext|>".
 */
export function renderRowText(row: JsonlRow, chatTemplate: string | null, eosToken: string | null, bosToken: string | null = null): string {
  return renderRowSegments(row, chatTemplate, { eosToken, bosToken }, { locateCompletions: false })
    .map((s) => s.text)
    .join("");
}

/**
 * The prompt to continue at inference for a conversation so far (usually ending with a user
 * turn): in the default format its turns joined by "\n" then "\nAssistant:" (e.g.
 * "User: 안녕?\nAssistant:"); with a chat template, its render with add_generation_prompt: true.
 */
export function chatPrompt(messages: readonly ChatMessage[], chatTemplate: string | null, tokens: TemplateTokens = { eosToken: null }): string {
  if (chatTemplate !== null) return renderChatTemplate(chatTemplate, messages, tokens, true);
  return [...messages.map((m) => `${DEFAULT_ROLE_LABELS[m.role]}: ${m.content}`), `${DEFAULT_ROLE_LABELS.assistant}:`].join("\n");
}

/** The split of a file of `rows` rows: the last ⌊rows · evalFraction⌋ rows are held out. */
export function jsonlSplits(rows: number, evalFraction: number): { trainRows: number; evalRows: number } {
  const evalRows = Math.floor(rows * evalFraction);
  return { trainRows: rows - evalRows, evalRows };
}

/** The fewest rows a file needs: one training row, and one held-out row when evalFraction > 0. */
export function jsonlMinimumRows(evalFraction: number): number {
  if (evalFraction <= 0) return 1;
  if (evalFraction >= 1) return Infinity;
  for (let n = 1; ; n++) {
    const { trainRows, evalRows } = jsonlSplits(n, evalFraction);
    if (trainRows >= 1 && evalRows >= 1) return n;
    if (n > 1e9) return Infinity;
  }
}

export interface JsonlScanOptions {
  /** Rows without an assistant turn are problems when true. */
  completionOnlyLoss?: boolean;
  /** When given, too few rows for one training (and one held-out) row is a problem. */
  evalFraction?: number;
  /** When given (with its tokens), every chat row is rendered and template failures are problems. */
  chatTemplate?: string | null;
  eosToken?: string | null;
  bosToken?: string | null;
  /** Keep at most this many problems (default JSONL_MAX_PROBLEMS); problemCount counts them all. */
  maxProblems?: number;
}

export interface JsonlScan {
  /** Non-blank lines: each is a row, well-formed or not. */
  rows: number;
  /** The well-formed rows, in file order, with their 1-based line. Complete only when problemCount is 0. */
  parsed: { line: number; row: JsonlRow }[];
  /** The first maxProblems problems, in line order. */
  problems: JsonlProblem[];
  problemCount: number;
}

/** Parses and checks the bytes of a JSONL file; runtime/data/jsonl.ts and checkJsonlFile share it. */
export function scanJsonl(bytes: Uint8Array, options: JsonlScanOptions = {}): JsonlScan {
  const maxProblems = options.maxProblems ?? JSONL_MAX_PROBLEMS;
  const scan: JsonlScan = { rows: 0, parsed: [], problems: [], problemCount: 0 };
  const problem = (line: number, message: string) => {
    scan.problemCount++;
    if (scan.problems.length < maxProblems) scan.problems.push({ line, message });
  };
  const invalid = findInvalidUtf8(bytes);
  if (invalid) {
    problem(invalid.line, `the file is not valid UTF-8: ${describeInvalidUtf8(invalid)}; save it as UTF-8 (e.g. iconv -f <its encoding> -t UTF-8) or fix that line`);
    return scan;
  }
  const text = new TextDecoder("utf-8").decode(bytes); // drops a leading byte-order mark
  const lines = text.split("\n");
  const template = options.chatTemplate ?? null;
  let lastRowLine = 1;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (content.trim() === "") return;
    scan.rows++;
    lastRowLine = line;
    const result = parseJsonlLine(content);
    if ("error" in result) return problem(line, result.error);
    const unusable = rowProblem(result.row, { completionOnlyLoss: options.completionOnlyLoss ?? false });
    if (unusable) return problem(line, unusable);
    if (template !== null && !("text" in result.row)) {
      try {
        renderRowSegments(result.row, template, { eosToken: options.eosToken ?? null, bosToken: options.bosToken ?? null }, { locateCompletions: options.completionOnlyLoss ?? false });
      } catch (error) {
        if (!(error instanceof ChatTemplateError)) throw error;
        return problem(line, error.message);
      }
    }
    scan.parsed.push({ line, row: result.row });
  });
  if (scan.rows === 0) {
    problem(1, `the file has no rows (it is empty or blank); put one JSON object per line, e.g. ${EXAMPLE_ROW}`);
  } else if (options.evalFraction !== undefined) {
    const { trainRows, evalRows } = jsonlSplits(scan.rows, options.evalFraction);
    const least = jsonlMinimumRows(options.evalFraction);
    if (trainRows < 1 || (options.evalFraction > 0 && evalRows < 1)) {
      const need = Number.isFinite(least) ? `at least ${least} rows` : "evalFraction below 1";
      problem(
        lastRowLine,
        `the file has ${scan.rows} row${scan.rows === 1 ? "" : "s"}: ${trainRows} for training and ${evalRows} held out with evalFraction ${options.evalFraction}; it needs ${need} (one training row${options.evalFraction > 0 ? " and one held-out row" : ""}) — add rows${options.evalFraction > 0 ? " or change evalFraction (0 = no held-out split)" : ""}`,
      );
    }
  }
  return scan;
}

/**
 * Parses and shape-checks every row of a JSONL file (without loading TensorFlow.js), for the
 * generator's `file:line` reports. `rows` counts the non-blank lines; `problems` holds the first
 * maxProblems (default 20), each with its 1-based line. An unreadable file is one problem at line 1.
 * The options add the checks that depend on the spec (see JsonlScanOptions); runtime/data/jsonl.ts
 * runs the same scan, so a file that passes here with the same options passes there (but for rows
 * left with no loss tokens after truncation to maxLength, which needs the tokenizer).
 */
export function checkJsonlFile(path: string, options: JsonlScanOptions = {}): { rows: number; problems: JsonlProblem[] } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return { rows: 0, problems: [{ line: 1, message: `cannot read the file: ${(error as Error).message}` }] };
  }
  const { rows, problems } = scanJsonl(bytes, options);
  return { rows, problems };
}

/** A problem as an editor-clickable line: `path:line: message`. */
export function formatJsonlProblem(path: string, problem: JsonlProblem): string {
  return `${path}:${problem.line}: ${problem.message}`;
}

/**
 * The rows of a JSONL file rendered as text, as the default format writes them with
 * "<|endoftext|>" ending each row: `all` rows (a character tokenizer's alphabet) and the `train`
 * rows (what a tokenizer is trained on: never the held-out tail). A malformed file throws the
 * same problems as jsonlData, as a UserError.
 */
export function jsonlTexts(path: string, options: { evalFraction: number; eosToken?: string }): { all: string[]; train: string[] } {
  const scan = scanJsonl(readFileSync(path), { evalFraction: options.evalFraction });
  if (scan.problemCount > 0) throw new UserError(`jsonl data: ${scan.problems.map((p) => formatJsonlProblem(path, p)).join("\n")}`);
  const all = scan.parsed.map(({ row }) => renderRowText(row, null, options.eosToken ?? "<|endoftext|>"));
  return { all, train: all.slice(0, jsonlSplits(all.length, options.evalFraction).trainRows) };
}
