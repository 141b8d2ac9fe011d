/**
 * runtime/sampler.ts — the order in which training examples are drawn.
 *
 * Each epoch visits every training example once, in a permutation that depends only on the seed
 * and the epoch number. Batching only groups consecutive examples of that permutation, so the
 * examples seen never depend on the batch size or the accumulation count: k micro-batches of b
 * examples are exactly the examples of one batch of k·b. The last batch of an epoch may be short
 * (no example is dropped), and an optimizer step never spans two epochs.
 *
 * The position in the permutation is the whole data-order state ({ epoch, position }): a
 * checkpoint stores it, and a resumed run continues from the same example.
 */
import { mixSeed, permutation } from "./rng.ts";

export interface SamplerState {
  epoch: number;
  /** Examples of `epoch` already handed out. */
  position: number;
}

export class EpochSampler {
  private epochValue = 0;
  private positionValue = 0;
  private order: Int32Array;

  constructor(
    readonly size: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`The training set has ${size} examples; it needs at least one.`);
    }
    this.order = permutation(size, mixSeed(seed, 0));
  }

  /** Optimizer steps in one epoch when each step takes up to `accumulation` batches. */
  stepsPerEpoch(accumulation: number): number {
    return Math.ceil(Math.ceil(this.size / this.batchSize) / accumulation);
  }

  /** The example indices of up to `count` batches of the current epoch (fewer at its end). */
  nextBatches(count: number): number[][] {
    if (this.positionValue >= this.size) this.startEpoch(this.epochValue + 1);
    const batches: number[][] = [];
    while (batches.length < count && this.positionValue < this.size) {
      const end = Math.min(this.positionValue + this.batchSize, this.size);
      batches.push(Array.from(this.order.subarray(this.positionValue, end)));
      this.positionValue = end;
    }
    return batches;
  }

  /** The example indices of the next batch. */
  nextBatch(): number[] {
    return this.nextBatches(1)[0]!;
  }

  /** True once every example of the current epoch has been handed out. */
  get epochEnded(): boolean {
    return this.positionValue >= this.size;
  }

  /** True when the next batch is the first of an epoch. */
  get startsEpoch(): boolean {
    return this.positionValue === 0 || this.positionValue >= this.size;
  }

  /** Ends the current epoch now (a callback's shouldEpochStop): the next batch starts the next one. */
  endEpoch(): void {
    this.positionValue = this.size;
  }

  /** Completed epochs as a fraction (HF's `epoch` in logs), e.g. 1.25. */
  get epochProgress(): number {
    return this.epochValue + this.positionValue / this.size;
  }

  get epoch(): number {
    return this.epochValue;
  }

  state(): SamplerState {
    return { epoch: this.epochValue, position: this.positionValue };
  }

  restore(state: SamplerState): void {
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.position) || state.position < 0 || state.position > this.size) {
      throw new Error(`Invalid data-order state ${JSON.stringify(state)} for a training set of ${this.size} examples.`);
    }
    this.startEpoch(state.epoch);
    this.positionValue = state.position;
  }

  private startEpoch(epoch: number): void {
    this.epochValue = epoch;
    this.positionValue = 0;
    this.order = permutation(this.size, mixSeed(this.seed, epoch));
  }
}
