/**
 * generator/watch.ts — `gen-trainer --watch <spec...> [--out-dir DIR]`: generate, then regenerate
 * whenever a spec changes or a file it names does (model/data/callback modules, the text file),
 * until SIGINT or SIGTERM.
 *
 * Generation is the generator's own (renderSpecs); an invalid spec prints its diagnostics and the
 * watch goes on (the previous program stays). A program is written only when its text changed, so
 * a touched spec does not touch its output. The folders of the watched files are watched with
 * node:fs watch (which also sees editors that save by renaming a temporary file), and events are
 * debounced, so one save regenerates once.
 */
import { existsSync, type FSWatcher, mkdirSync, readFileSync, statSync, watch as watchFolder, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { formatDiagnostic, UsageError } from "./diagnostics.ts";
import { renderSpecs } from "./generate.ts";
import { toDisplayPath } from "./load-spec.ts";

export interface WatchOptions {
  outDir: string;
  /** Quiet time after the last change before regenerating (ms). */
  debounceMs?: number;
  /** Stops the watch like SIGINT (for tests and embedding). */
  signal?: AbortSignal;
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Files a spec names, resolved against its folder: model, data and callback modules, the text file. */
function namedFiles(specPath: string, value: unknown): string[] {
  const files: string[] = [];
  const dir = dirname(specPath);
  const add = (p: unknown) => {
    if (typeof p === "string" && p !== "") files.push(resolve(dir, p));
  };
  if (typeof value !== "object" || value === null) return files;
  const spec = value as { model?: { module?: unknown }; data?: { module?: unknown; text?: unknown }; callbacks?: unknown };
  add(spec.model?.module);
  add(spec.data?.module);
  add(spec.data?.text);
  if (Array.isArray(spec.callbacks)) for (const cb of spec.callbacks) if (cb && typeof cb === "object") add((cb as { module?: unknown }).module);
  return files;
}

let importCounter = 0;

/** The spec's default export, imported afresh (null when the import fails: the spec is broken). */
async function importSpec(path: string): Promise<unknown> {
  try {
    const module = (await import(`${pathToFileURL(path).href}?watch=${importCounter++}`)) as { default?: unknown };
    return module.default ?? null;
  } catch {
    return null;
  }
}

export async function watch(specs: readonly string[], options: WatchOptions): Promise<number> {
  const specPaths = [...new Set(specs.map((s) => resolve(s)))];
  for (const path of specPaths) {
    if (!isFile(path)) {
      say(`gen-trainer: ${toDisplayPath(path)}: ${existsSync(path) ? "not a file" : "spec file not found"}. Pass the path of a .spec.ts file to watch, e.g. examples/addition.spec.ts.`);
      return 2;
    }
  }
  const debounceMs = options.debounceMs ?? 150;
  /** Files each spec depends on (the spec itself first), kept when a spec cannot be imported. */
  const dependencies = new Map<string, string[]>(specPaths.map((p) => [p, [p]]));
  const watchers = new Map<string, FSWatcher>();
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let pending = false;
  let stopped = false;

  async function regenerate(): Promise<void> {
    const present = specPaths.filter(isFile);
    for (const path of specPaths) if (!present.includes(path)) say(`${toDisplayPath(path)}: spec file not found; waiting for it to come back.`);
    if (present.length > 0) {
      try {
        const { programs, diagnostics } = await renderSpecs(present, options.outDir);
        for (const d of diagnostics) say(formatDiagnostic(d));
        if (diagnostics.length > 0) say(`${diagnostics.length} problem${diagnostics.length === 1 ? "" : "s"}; ${programs.length > 0 ? "the valid specs were written, the others keep their previous program" : "the previous program is kept"}. Watching for the next change.`);
        for (const program of programs) {
          const current = existsSync(program.outputPath) ? readFileSync(program.outputPath, "utf8") : null;
          if (current === program.code) {
            say(`${program.outputPath} is up to date`);
            continue;
          }
          try {
            mkdirSync(dirname(program.outputPath), { recursive: true });
            writeFileSync(program.outputPath, program.code);
            say(`wrote ${program.outputPath}`);
          } catch (error) {
            const e = error as NodeJS.ErrnoException;
            say(`gen-trainer: cannot write ${program.outputPath}: ${e.code ?? e.message}; --out-dir ${options.outDir} must be a folder you can write. Watching for the next change.`);
          }
        }
      } catch (error) {
        // Never exit while watching: a usage error (e.g. a spec deleted mid-save) or anything else is reported plainly.
        say(`gen-trainer: ${error instanceof UsageError ? "" : "generation failed: "}${(error as Error).message}`);
      }
    }
    for (const path of present) {
      const value = await importSpec(path);
      if (value !== null) dependencies.set(path, [path, ...namedFiles(path, value)]);
    }
    updateWatchers();
  }

  function watchedNames(dir: string): Set<string> {
    const names = new Set<string>();
    for (const files of dependencies.values()) for (const f of files) if (dirname(f) === dir) names.add(basename(f));
    return names;
  }

  function updateWatchers(): void {
    if (stopped) return;
    const dirs = new Set([...dependencies.values()].flat().map((f) => dirname(f)));
    for (const [dir, watcher] of watchers) {
      if (!dirs.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir) || !existsSync(dir)) continue;
      try {
        const watcher = watchFolder(dir, (_event, filename) => {
          const name = filename?.toString();
          if (name === undefined || watchedNames(dir).has(name)) onChange(name === undefined ? dir : resolve(dir, name));
        });
        watcher.on("error", () => {
          watcher.close();
          watchers.delete(dir);
        });
        watchers.set(dir, watcher);
      } catch (error) {
        say(`gen-trainer: cannot watch ${toDisplayPath(dir)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
  }

  function onChange(path: string): void {
    if (stopped) return;
    changed.add(path);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void start();
    }, debounceMs);
  }

  async function start(): Promise<void> {
    if (running) {
      pending = true;
      return;
    }
    const files = [...changed].map((f) => toDisplayPath(f));
    changed.clear();
    say(`changed: ${files.join(", ")}; regenerating`);
    running = regenerate().finally(() => {
      running = null;
      if (pending && !stopped) {
        pending = false;
        void start();
      }
    });
    await running;
  }

  await regenerate();
  const count = new Set([...dependencies.values()].flat()).size;
  say(`watching ${count} file${count === 1 ? "" : "s"} in ${watchers.size} folder${watchers.size === 1 ? "" : "s"}; Ctrl-C stops.`);

  return new Promise<number>((resolveWatch) => {
    const stop = () => {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      options.signal?.removeEventListener("abort", stop);
      void (running ?? Promise.resolve()).then(() => {
        say("stopped watching.");
        resolveWatch(0);
      });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener("abort", stop);
  });
}
