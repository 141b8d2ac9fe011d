/**
 * generator/plan-callbacks.ts — the callbacks part of the plan: for each event of the loop, the
 * statements that run there, in the order the spec lists the callbacks.
 *
 * Built-ins become plain code at their event (generationSample: a sampling call at onStepEnd
 * every N steps; earlyStopping: a check at onEvaluate). A user callback becomes one direct call
 * per hook its class implements. An event no callback implements emits nothing.
 */
import { relative, resolve, sep } from "node:path";
import { CALLBACK_EVENTS } from "../runtime/callbacks.ts";
import { inspectCallbackClass, type CallbackEvent } from "./callback-classes.ts";
import { literal } from "./literals.ts";
import type { CallbackSpec, EarlyStoppingCallback, GenerationSampleCallback, UserCallbackRef } from "./spec-types.ts";

export type EventStatements = Record<CallbackEvent, string[]>;

export interface CallbacksPlan {
  /** A control object exists: callbacks may stop training. */
  control: boolean;
  /** User callbacks may also ask for a log/eval/save or end the epoch: the loop honours the flags. */
  requests: boolean;
  /** A TrainerState mirror exists (user callbacks read it). */
  state: boolean;
  /** Constructors of user callbacks, e.g. `const recorder = new Recorder(RECORDER_OPTIONS);`. */
  instances: string[];
  /** generationSample: its constants' names. */
  sample: null | { topK: boolean };
  /** earlyStopping is on. */
  earlyStopping: boolean;
  events: EventStatements;
  /** Whether each event has any statement (templates test presence only). */
  has: Record<CallbackEvent, boolean>;
}

export interface CallbackPlanInput {
  callbacks: readonly CallbackSpec[];
  specDir: string;
  programDir: string;
  /** Adds a config constant (name, spec path for the author's comment, value, note). */
  constant: (name: string, path: string, value: unknown, note?: string | null) => void;
  runtime: Set<string>;
  moduleImports: { name: string; from: string }[];
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

const CONTEXT: Partial<Record<CallbackEvent, string>> = { onEvaluate: "{ ...callbackContext, metrics }", onLog: "{ ...callbackContext, logs }" };

export function planCallbacks(input: CallbackPlanInput): CallbacksPlan | null {
  const list = input.callbacks.filter((c) => !("callback" in c) || (c.callback !== "progressBar" && c.callback !== "jsonlLogger"));
  if (list.length === 0) return null;
  const events = Object.fromEntries(CALLBACK_EVENTS.map((e) => [e, [] as string[]])) as EventStatements;
  const instances: string[] = [];
  const names = new Set<string>();
  let sample: CallbacksPlan["sample"] = null;
  let early = false;
  let user = false;
  input.callbacks.forEach((cb, i) => {
    const path = `callbacks.${i}`;
    if ("module" in cb) {
      const ref = cb as UserCallbackRef;
      user = true;
      const cls = inspectCallbackClass(resolve(input.specDir, ref.module), ref.export)!;
      let variable = camel(ref.export);
      for (let n = 2; names.has(variable); n++) variable = `${camel(ref.export)}${n}`;
      names.add(variable);
      const from = relative(input.programDir, resolve(input.specDir, ref.module)).split(sep).join("/");
      if (!input.moduleImports.some((m) => m.name === ref.export)) input.moduleImports.push({ name: `{ ${ref.export} }`, from: from.startsWith(".") ? from : `./${from}` });
      let optionsArg = "";
      if (ref.options !== undefined) {
        const constantName = `${upperSnake(variable)}_OPTIONS`;
        input.constant(constantName, `${path}.options`, ref.options);
        optionsArg = constantName;
      }
      instances.push(`const ${variable} = new ${ref.export}(${optionsArg});`);
      let every: string | null = null;
      if (ref.every !== undefined) {
        every = `${upperSnake(variable)}_EVERY`;
        input.constant(every, `${path}.every`, ref.every, "steps between onStepEnd calls");
      }
      for (const hook of cls.hooks) {
        const call = `await runHook(${literal(ref.export)}, "${hook}", () => ${variable}.${hook}(TRAINING_ARGS, state, control, ${CONTEXT[hook] ?? "callbackContext"}));`;
        events[hook].push(hook === "onStepEnd" && every ? `if (step % ${every} === 0) ${call}` : call);
      }
      return;
    }
    if (cb.callback === "generationSample") {
      const g = cb as GenerationSampleCallback;
      input.constant("SAMPLE_PROMPTS", `${path}.prompts`, g.prompts);
      input.constant("SAMPLE_EVERY_STEPS", `${path}.everySteps`, g.everySteps);
      input.constant("SAMPLE_MAX_NEW_TOKENS", `${path}.maxNewTokens`, g.maxNewTokens);
      input.constant("SAMPLE_TEMPERATURE", `${path}.temperature`, g.temperature ?? 0, g.temperature === undefined ? "default: greedy" : null);
      if (g.topK !== undefined) input.constant("SAMPLE_TOP_K", `${path}.topK`, g.topK);
      input.constant("SAMPLE_SEED", `${path}.seed`, g.seed ?? 0, g.seed === undefined ? "default" : null);
      input.runtime.add("sampleText").add("requireGenerate");
      sample = { topK: g.topK !== undefined };
      events.onStepEnd.push("if (step % SAMPLE_EVERY_STEPS === 0) await sampleGenerations(step);");
    } else if (cb.callback === "earlyStopping") {
      const e = cb as EarlyStoppingCallback;
      early = true;
      input.constant("EARLY_STOPPING_PATIENCE", `${path}.patience`, e.patience);
      input.constant("EARLY_STOPPING_THRESHOLD", `${path}.threshold`, e.threshold ?? 0, e.threshold === undefined ? "HF default" : null);
      input.runtime.add("EarlyStopping").add("type EarlyStoppingState");
      events.onEvaluate.push("if (earlyStopping.update(metrics)) control.shouldTrainingStop = true; // patience exhausted");
    }
  });
  const control = user || early;
  if (control) input.runtime.add("newControl");
  if (user) input.runtime.add("runHook").add("type CallbackContext").add("type TrainerCallbackState");
  const has = Object.fromEntries(CALLBACK_EVENTS.map((e) => [e, events[e].length > 0])) as Record<CallbackEvent, boolean>;
  return { control, requests: user, state: user, instances, sample, earlyStopping: early, events, has };
}

