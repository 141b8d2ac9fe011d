/**
 * generator/plan-callbacks.ts — the callbacks part of the plan: each callback's settings, and for
 * each event of the loop, which callbacks implement it, in the order the spec lists them.
 *
 * Built-ins implement fixed events (generationSample: onStepEnd every N steps; earlyStopping:
 * onEvaluate). A user callback implements the hooks its class declares (read with ts-morph). An
 * event no callback implements has an empty list, so no code is emitted for it. progressBar()
 * and jsonlLogger() are loggers (what reportTo selects), not callbacks of the loop.
 */
import { resolve } from "node:path";
import { CALLBACK_EVENTS } from "../runtime/callbacks.ts";
import { inspectCallbackClass, type CallbackEvent } from "./callback-classes.ts";
import { ARG_DEFAULTS } from "./defaults.ts";
import { commentLines } from "./literals.ts";
import type { Setting } from "./plan.ts";
import type { CallbackSpec, EarlyStoppingCallback, GenerationSampleCallback, JsonValue, TrainingArgs, UserCallbackRef } from "./spec-types.ts";
import { relative, sep } from "node:path";

export type { CallbackEvent };

export type CallbackPlan =
  | {
      kind: "generationSample";
      prompts: Setting<string[]>;
      everySteps: Setting<number>;
      maxNewTokens: Setting<number>;
      temperature: Setting<number>;
      topK: Setting<number> | null;
      seed: Setting<number>;
    }
  | { kind: "earlyStopping"; patience: Setting<number>; threshold: Setting<number> }
  | {
      kind: "user";
      /** The class's module as the spec names it, and relative to the generated program. */
      source: string;
      module: string;
      export: string;
      options: Setting<JsonValue> | null;
      /** onStepEnd only every this many steps (null: every step). */
      every: Setting<number> | null;
      hooks: CallbackEvent[];
    };

export interface CallbacksPlan {
  list: CallbackPlan[];
  /** For each event, the indices into `list` of the callbacks called there, in order. */
  events: Record<CallbackEvent, number[]>;
  /** Callbacks may stop training (a control object exists). */
  control: boolean;
  /** User callbacks may also ask for a log/eval/save or end the epoch: the loop honours the flags. */
  requests: boolean;
  /** User callbacks read HF's TrainerState and the resolved TrainingArguments. */
  state: boolean;
  earlyStopping: boolean;
  /** The resolved TrainingArguments user callbacks receive (null without user callbacks). */
  trainingArgs: Record<string, JsonValue> | null;
}

export function planCallbacks(specs: readonly CallbackSpec[], specDir: string, programDir: string, comments: Map<string, string>, args: TrainingArgs): CallbacksPlan | null {
  const list: CallbackPlan[] = [];
  const events = Object.fromEntries(CALLBACK_EVENTS.map((e) => [e, [] as number[]])) as Record<CallbackEvent, number[]>;
  const set = <T,>(path: string, given: T | undefined, fallback: T, note: string | null): Setting<T> => {
    const authored = comments.get(path);
    return { value: given ?? fallback, from: given !== undefined ? "spec" : "ours", path, comment: authored ? commentLines(authored) : null, note: given !== undefined ? null : note };
  };
  specs.forEach((cb, i) => {
    const path = `callbacks.${i}`;
    if ("module" in cb) {
      const ref = cb as UserCallbackRef;
      const hooks = inspectCallbackClass(resolve(specDir, ref.module), ref.export)!.hooks;
      const module = relative(programDir, resolve(specDir, ref.module)).split(sep).join("/");
      list.push({
        kind: "user",
        source: ref.module,
        module: module.startsWith(".") ? module : `./${module}`,
        export: ref.export,
        options: ref.options !== undefined ? set<JsonValue>(`${path}.options`, ref.options, null, null) : null,
        every: ref.every !== undefined ? { ...set(`${path}.every`, ref.every, 0, null), note: "steps between onStepEnd calls" } : null,
        hooks,
      });
      for (const hook of hooks) events[hook].push(list.length - 1);
    } else if (cb.callback === "generationSample") {
      const g = cb as GenerationSampleCallback;
      list.push({
        kind: "generationSample",
        prompts: set(`${path}.prompts`, g.prompts, [], null),
        everySteps: set(`${path}.everySteps`, g.everySteps, 0, null),
        maxNewTokens: set(`${path}.maxNewTokens`, g.maxNewTokens, 0, null),
        temperature: set(`${path}.temperature`, g.temperature, 0, "default: greedy"),
        topK: g.topK !== undefined ? set(`${path}.topK`, g.topK, 0, null) : null,
        seed: set(`${path}.seed`, g.seed, 0, "default"),
      });
      events.onStepEnd.push(list.length - 1);
    } else if (cb.callback === "earlyStopping") {
      const e = cb as EarlyStoppingCallback;
      list.push({ kind: "earlyStopping", patience: set(`${path}.patience`, e.patience, 0, null), threshold: { ...set(`${path}.threshold`, e.threshold, 0, "HF default"), from: e.threshold !== undefined ? "spec" : "hf" } });
      events.onEvaluate.push(list.length - 1);
    }
  });
  if (list.length === 0) return null;
  const user = list.some((c) => c.kind === "user");
  const earlyStopping = list.some((c) => c.kind === "earlyStopping");
  const trainingArgs = user
    ? Object.fromEntries(Object.keys({ ...ARG_DEFAULTS, ...args }).sort().map((k) => [k, ((args as Record<string, unknown>)[k] ?? (ARG_DEFAULTS as Record<string, unknown>)[k]) as JsonValue]))
    : null;
  return { list, events, control: user || earlyStopping, requests: user, state: user, earlyStopping, trainingArgs };
}
