// runtime/loss-scaler.ts against hand-computed sequences of torch's _amp_update_scale_.
import { describe, expect, it } from "vitest";
import { LossScaler, type LossScalerConfig } from "../../runtime/loss-scaler.ts";
import { UserError } from "../../runtime/user-error.ts";

const base: LossScalerConfig = { initScale: 1024, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3, minScale: null };

/** Scale and tracker after each update of `steps` (true = overflow found). */
function run(scaler: LossScaler, steps: boolean[]): [number, number][] {
  return steps.map((foundInf) => {
    scaler.update(foundInf);
    return [scaler.scale, scaler.growthTracker];
  });
}

describe("LossScaler.update", () => {
  it("grows exactly after growthInterval good steps in a row", () => {
    const s = new LossScaler(base);
    expect(run(s, Array(7).fill(false))).toEqual([
      [1024, 1], [1024, 2], [2048, 0], [2048, 1], [2048, 2], [4096, 0], [4096, 1],
    ]);
  });

  it("backs off on overflow and resets the tracker", () => {
    const s = new LossScaler(base);
    expect(run(s, [false, false, true, false, false, false, true, true])).toEqual([
      [1024, 1], [1024, 2], [512, 0], [512, 1], [512, 2], [1024, 0], [512, 0], [256, 0],
    ]);
  });

  it("never grows into Infinity, but still resets the tracker (as torch)", () => {
    const s = new LossScaler({ ...base, initScale: 2 ** 127, growthInterval: 2 });
    expect(run(s, [false, false, false, false])).toEqual([[2 ** 127, 1], [2 ** 127, 0], [2 ** 127, 1], [2 ** 127, 0]]);
    const near = new LossScaler({ ...base, initScale: 3e38, growthInterval: 1 });
    near.update(false);
    expect(near.scale).toBe(Math.fround(3e38));
  });

  it("keeps the scale a float32 value, like torch's scale tensor", () => {
    const s = new LossScaler({ ...base, initScale: 1, growthFactor: 1.1, backoffFactor: 0.3, growthInterval: 1 });
    s.update(false);
    expect(s.scale).toBe(Math.fround(1.1));
    s.update(false);
    expect(s.scale).toBe(Math.fround(Math.fround(1.1) * 1.1));
    const before = s.scale;
    s.update(true);
    expect(s.scale).toBe(Math.fround(before * 0.3));
  });

  it("floors at minScale after repeated overflows", () => {
    const s = new LossScaler({ ...base, initScale: 8, minScale: 1.5 });
    expect(run(s, [true, true, true, true, false, false, false]).map(([scale]) => scale)).toEqual([4, 2, 1.5, 1.5, 1.5, 1.5, 3]);
    const torch = new LossScaler({ ...base, initScale: 8 }); // no floor: halves forever
    expect(run(torch, [true, true, true, true, true]).map(([scale]) => scale)).toEqual([4, 2, 1, 0.5, 0.25]);
  });

  it("with torch's defaults (2^16, 2, 0.5, 2000)", () => {
    const s = new LossScaler({ initScale: 2 ** 16, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000, minScale: null });
    expect(s.unscaleFactor()).toBe(2 ** -16);
    for (let i = 0; i < 1999; i++) s.update(false);
    expect(s.state()).toEqual({ scale: 65536, growthTracker: 1999 });
    s.update(false);
    expect(s.state()).toEqual({ scale: 131072, growthTracker: 0 });
    s.update(true);
    expect(s.state()).toEqual({ scale: 65536, growthTracker: 0 });
  });

  it("unscaleFactor is 1/scale rounded to float32", () => {
    expect(new LossScaler({ ...base, initScale: 3 }).unscaleFactor()).toBe(Math.fround(1 / 3));
  });
});

describe("LossScaler state", () => {
  it("round-trips through state() / fromState() / restore()", () => {
    const s = new LossScaler(base);
    run(s, [false, false, false, false, true, false]);
    const state = s.state();
    expect(state).toEqual({ scale: 1024, growthTracker: 1 });
    const copy = LossScaler.fromState(base, JSON.parse(JSON.stringify(state)));
    expect(copy.state()).toEqual(state);
    expect(run(copy, [false, false])).toEqual(run(s, [false, false]));
    const other = new LossScaler(base);
    other.restore(state);
    expect(other.state()).toEqual(state);
  });

  it("rejects invalid states with a UserError naming the problem", () => {
    const s = new LossScaler(base);
    const bad: [unknown, RegExp][] = [
      [{ scale: -1, growthTracker: 0 }, /loss scale -1 is not a finite positive/],
      [{ scale: Number.NaN, growthTracker: 0 }, /loss scale null is not/],
      [{ scale: 1e39, growthTracker: 0 }, /loss scale 1e\+39 is not a finite positive float32/],
      [{ scale: "8", growthTracker: 0 }, /loss scale "8"/],
      [{ scale: 8, growthTracker: -1 }, /growthTracker -1 is not a non-negative integer/],
      [{ scale: 8, growthTracker: 1.5 }, /growthTracker 1.5/],
      [{ scale: 8 }, /growthTracker undefined/],
      [{ scale: 8, growthTracker: 3 }, /growthTracker 3 is not below growthInterval 3/],
      [null, /must be an object/],
    ];
    for (const [state, message] of bad) {
      expect(() => s.restore(state as never, "ckpt/resume_state.json")).toThrow(UserError);
      expect(() => s.restore(state as never, "ckpt/resume_state.json")).toThrow(message);
      expect(s.stateProblem(state, "ckpt/resume_state.json")).toMatch(/^ckpt\/resume_state\.json: /);
    }
    expect(s.state()).toEqual({ scale: 1024, growthTracker: 0 }); // unchanged by the failed restores
  });

  it("rejects invalid configurations", () => {
    expect(() => new LossScaler({ ...base, growthFactor: 1 })).toThrow(/growthFactor must be > 1/);
    expect(() => new LossScaler({ ...base, backoffFactor: 1 })).toThrow(/backoffFactor/);
    expect(() => new LossScaler({ ...base, growthInterval: 0 })).toThrow(/growthInterval/);
    expect(() => new LossScaler({ ...base, initScale: 0 })).toThrow(/initScale/);
    expect(() => new LossScaler({ ...base, initScale: 1, minScale: 2 })).toThrow(/below minScale/);
  });
});
