/**
 * runtime/logging.ts — what a run reports, and where.
 *
 * Every event (train, eval, sample, save) becomes one entry of the log history (HF's
 * log_history, kept for trainer_state.json) and, per the spec's reportTo:
 *   - "jsonl":   one JSON object per line in <outputDir>/metrics.jsonl, with a "type" field;
 *   - "console": on a terminal, one live progress bar redrawn in place as steps go by
 *                (step/total, the latest loss, lr and tokens/s, ETA) with the other events
 *                scrolling above it; when stdout is not a TTY, one plain line per event.
 * Each line of metrics.jsonl is appended whole, in one write (cut back if it fails part-way), so
 * the file never ends in a torn line; a log opened to append drops a torn tail that a kill or an
 * older program left. A failed write (a full disk) stops the run with a UserError (exit code 74)
 * naming the file and the last complete checkpoint.
 * With GEN_TRAINER_TRACE_TENSORS=1 in the environment, each train entry also records
 * num_tensors (tf.memory().numTensors), rss_mb and open_fds (Linux): the leak checks of the tests
 * and the bench.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { appendWhole, dropTornTail, removeQuietly, writeFailure } from "./files.ts";

export type LogValue = number | string;
export type LogEntry = Record<string, LogValue>;

export interface TrainingLogConfig {
  outputDir: string;
  console: boolean;
  jsonl: boolean;
  maxSteps: number;
  /** Keep an existing metrics.jsonl (a resumed run) instead of starting a new one. */
  append: boolean;
}

function format(value: LogValue): string {
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(3) : value.toFixed(4);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

export class TrainingLog {
  /** Every train/eval entry, as HF's state.log_history. */
  readonly history: LogEntry[] = [];
  private readonly jsonlPath: string;
  private readonly tty = Boolean(process.stdout.isTTY);
  private readonly startedAt = performance.now();
  private startStep = 0;
  private progressShown = false;
  private progressFields = "";
  private lastDraw = 0;
  private readonly traceTensors = process.env.GEN_TRAINER_TRACE_TENSORS === "1";

  constructor(private readonly config: TrainingLogConfig) {
    this.jsonlPath = join(config.outputDir, "metrics.jsonl");
    try {
      mkdirSync(config.outputDir, { recursive: true });
      if (config.jsonl && !config.append) writeFileSync(this.jsonlPath, "");
      // A resumed run appends: first drop a last line torn by a kill or a full disk.
      else if (config.jsonl) dropTornTail(this.jsonlPath);
    } catch (error) {
      throw writeFailure(this.jsonlPath, error, config.outputDir);
    }
  }

  /**
   * Continues the log of a run resumed at `step`: the history saved with its checkpoint, and
   * metrics.jsonl cut back to the events up to that step (later ones were of the lost work).
   */
  resumeFrom(step: number, history: LogEntry[]): void {
    this.history.splice(0, this.history.length, ...history);
    this.startStep = step;
    if (!this.config.jsonl || !existsSync(this.jsonlPath)) return;
    const text = readFileSync(this.jsonlPath, "utf8");
    const kept = text
      .split("\n")
      .filter((line) => {
        if (!line) return false;
        try {
          return (JSON.parse(line) as { step?: number }).step! <= step;
        } catch {
          return false; // a line torn by the kill
        }
      })
      .map((line) => `${line}\n`)
      .join("");
    const temporary = `${this.jsonlPath}.tmp-${process.pid}`;
    try {
      // Usually the kept lines are the file's beginning: cutting needs no space (a full disk).
      if (text.startsWith(kept)) truncateSync(this.jsonlPath, Buffer.byteLength(kept));
      else {
        writeFileSync(temporary, kept);
        renameSync(temporary, this.jsonlPath);
      }
    } catch (error) {
      removeQuietly(temporary);
      throw writeFailure(this.jsonlPath, error, this.config.outputDir);
    }
  }

  /** Tells the ETA where this process started (a resumed run starts mid-way). */
  startAt(step: number): void {
    this.startStep = step;
  }

  /** A training log line: loss (mean since the last one), learning_rate, grad_norm, ... */
  train(step: number, values: LogEntry): LogEntry {
    const entry: LogEntry = { ...values, step };
    if (this.traceTensors) {
      entry.num_tensors = tf.memory().numTensors;
      entry.rss_mb = Math.round(process.memoryUsage().rss / 1e6);
      if (existsSync("/proc/self/fd")) entry.open_fds = readdirSync("/proc/self/fd").length;
    }
    this.history.push(entry);
    this.write("train", entry);
    if (!this.config.console) return entry;
    const elapsed = (performance.now() - this.startedAt) / 1000;
    const eta = ((this.config.maxSteps - step) * elapsed) / Math.max(1, step - this.startStep);
    const fields = Object.entries(values)
      .filter(([k]) => k !== "epoch")
      .map(([k, v]) => `${k} ${format(v)}`)
      .join(" | ");
    this.progressFields = fields;
    this.print(`${this.tty ? this.bar(step) : ""}step ${step}/${this.config.maxSteps} | ${fields} | eta ${duration(eta)}`, true);
    return entry;
  }

  /**
   * Called after every step: on a terminal, redraws the progress bar (at most 5 times a second)
   * with the step count and ETA; elsewhere it does nothing.
   */
  tick(step: number): void {
    if (!this.tty || !this.config.console) return;
    const now = performance.now();
    if (now - this.lastDraw < 200 && step < this.config.maxSteps) return;
    this.lastDraw = now;
    const elapsed = (now - this.startedAt) / 1000;
    const eta = ((this.config.maxSteps - step) * elapsed) / Math.max(1, step - this.startStep);
    this.print(`${this.bar(step)}step ${step}/${this.config.maxSteps}${this.progressFields ? ` | ${this.progressFields}` : ""} | eta ${duration(eta)}`, true);
  }

  private bar(step: number): string {
    const width = 20;
    const done = Math.min(width, Math.round((width * step) / Math.max(1, this.config.maxSteps)));
    return `[${"#".repeat(done)}${"-".repeat(width - done)}] `;
  }

  /** Evaluation metrics (eval_loss, eval_exact_match, ...). */
  eval(step: number, metrics: LogEntry): LogEntry {
    const entry = { ...metrics, step };
    this.history.push(entry);
    this.write("eval", entry);
    if (this.config.console) {
      const fields = Object.entries(metrics)
        .filter(([k]) => k !== "epoch")
        .map(([k, v]) => `${k} ${format(v)}`)
        .join(" | ");
      this.print(`[step ${step}] eval: ${fields}`, false);
    }
    return entry;
  }

  /** Any other event (sample, save): metrics.jsonl only, plus an optional console line. */
  event(type: string, step: number, fields: Record<string, unknown>, consoleLine?: string): void {
    if (this.config.jsonl) this.append(`${JSON.stringify({ type, step, ...fields })}\n`);
    if (consoleLine !== undefined && this.config.console) this.print(consoleLine, false);
  }

  /**
   * The end of training: HF's train_runtime (seconds since this log started, i.e. the loop and
   * the final evaluation and save), as a "summary" event and a console line.
   */
  summary(step: number): void {
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.event("summary", step, { train_runtime: Number(seconds.toFixed(3)) }, `trained to step ${step} in ${duration(seconds)}`);
  }

  /** A plain message (start, end, where files went). */
  message(text: string): void {
    if (this.config.console) this.print(text, false);
  }

  private write(type: string, entry: LogEntry): void {
    if (this.config.jsonl) this.append(`${JSON.stringify({ type, ...entry })}\n`);
  }

  /** Appends one whole line to metrics.jsonl (nothing of it if the write fails). */
  private append(line: string): void {
    try {
      appendWhole(this.jsonlPath, line);
    } catch (error) {
      this.close();
      throw writeFailure(this.jsonlPath, error, this.config.outputDir);
    }
  }

  private print(line: string, progress: boolean): void {
    if (!this.tty) {
      process.stdout.write(`${line}\n`);
      return;
    }
    // On a terminal the progress line is rewritten in place; other lines scroll above it.
    process.stdout.write(`\r\x1b[2K${line}${progress ? "" : "\n"}`);
    this.progressShown = progress;
  }

  /** Ends a pending progress line so the next output starts on a fresh line. */
  close(): void {
    if (this.tty && this.progressShown) process.stdout.write("\n");
    this.progressShown = false;
  }
}
