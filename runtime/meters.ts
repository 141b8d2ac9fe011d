/**
 * runtime/meters.ts — running values between two log lines, kept on the device.
 *
 * The loss of each step is added on the device and read back only when a log line is written,
 * so a step never waits for a read-back (which would stall a GPU backend's queue).
 */
import * as tf from "@tensorflow/tfjs";

/** Mean of scalars added since the last read (HF logs the mean loss over the logging interval). */
export class RunningMean {
  private sum: tf.Scalar | null = null;
  private count = 0;

  /** Adds `value` and disposes it. */
  add(value: tf.Scalar): void {
    const sum = this.sum ? (tf.add(this.sum, value) as tf.Scalar) : value.clone();
    this.sum?.dispose();
    value.dispose();
    this.sum = sum;
    this.count++;
  }

  /** The running sum (float32, exact in JSON) and count, for a checkpoint's resume state. */
  async state(): Promise<{ sum: number; count: number }> {
    return { sum: this.sum ? (await this.sum.data())[0]! : 0, count: this.count };
  }

  /** Continues a running mean saved by state(), so a resumed run logs the same means. */
  restore(state: { sum: number; count: number }): void {
    this.sum?.dispose();
    this.sum = state.count > 0 ? tf.scalar(state.sum, "float32") : null;
    this.count = state.count;
  }

  /** The mean since the last call (NaN if nothing was added), then starts over. */
  async take(): Promise<number> {
    if (!this.sum) return Number.NaN;
    const mean = (await this.sum.data())[0]! / this.count;
    this.sum.dispose();
    this.sum = null;
    this.count = 0;
    return mean;
  }
}

/** Holds the latest scalar (e.g. grad_norm of the last step), disposing the previous one. */
export class LatestValue {
  private value: tf.Scalar | null = null;

  set(value: tf.Scalar): void {
    this.value?.dispose();
    this.value = value;
  }

  async read(): Promise<number> {
    return this.value ? (await this.value.data())[0]! : Number.NaN;
  }
}

/** Tokens per second since the last call. */
export class Throughput {
  private tokens = 0;
  private since = performance.now();

  add(tokens: number): void {
    this.tokens += tokens;
  }

  take(): number {
    const now = performance.now();
    const rate = this.tokens / Math.max(1e-9, (now - this.since) / 1000);
    this.tokens = 0;
    this.since = now;
    return Math.round(rate);
  }
}
