/**
 * runtime/files.ts — durable file writes, whole-line appends, and write errors in words.
 *
 * A file is written to a temporary sibling, flushed to disk (fsync), then renamed over the
 * target, so a reader sees the old file or the new one, never half of one — even if the
 * process is killed mid-write. A temporary file that such a kill left behind is removed by the
 * next write of the same file; one that a failed write (a full disk) left is removed at once.
 *
 * A write the system refuses (disk full, quota, read-only, permissions, I/O error, too many open
 * files) becomes a UserError with exit code 74 (EX_IOERR) that names the file, the cause in
 * words, and how to continue — from the last complete checkpoint, named — instead of a stack trace.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { checkpointProblem } from "./checkpoint-marker.ts";
import { UserError } from "./user-error.ts";

/** The exit code of a program stopped by a failed write: EX_IOERR of sysexits.h. */
export const WRITE_ERROR_EXIT_CODE = 74;

/** Write errors by errno code: the cause in words, and what to do about it. */
const WRITE_ERRORS: Record<string, { cause: string; remedy: string }> = {
  ENOSPC: { cause: "the disk is full", remedy: "Free some space on that disk (or pass --output-dir on another disk)" },
  EDQUOT: { cause: "the disk quota is exceeded", remedy: "Free some space within your quota (or pass --output-dir on another disk)" },
  EFBIG: { cause: "the file is larger than the file system allows", remedy: "Pass --output-dir on another file system" },
  EIO: { cause: "the disk reported an input/output error", remedy: "Check the disk (or pass --output-dir on another disk)" },
  EROFS: { cause: "the file system is read-only", remedy: "Pass --output-dir on a writable disk" },
  EACCES: { cause: "permission is denied", remedy: "Make the folder writable (or pass --output-dir to a writable one)" },
  EPERM: { cause: "the operation is not permitted", remedy: "Make the folder writable (or pass --output-dir to a writable one)" },
  EMFILE: { cause: "this process has too many open files", remedy: "Raise the open-file limit (ulimit -n)" },
  ENFILE: { cause: "the system has too many open files", remedy: "Close other programs or raise the system's open-file limit" },
  ENOENT: { cause: "its folder no longer exists", remedy: "Check that nothing removes the output folder during the run" },
  ENOTDIR: { cause: "a part of the path is not a folder", remedy: "Check the output folder (or pass --output-dir to another one)" },
  ESTALE: { cause: "the network file handle went stale", remedy: "Check the network file system (or pass --output-dir on a local disk)" },
};

/** Whether `error` is an error of a system call (it has an errno code such as "ENOSPC"). */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && /^E[A-Z0-9]+$/.test((error as NodeJS.ErrnoException).code!);
}

/** The newest complete checkpoint-<step> folder in `outputDir` (by step), or null. */
export function latestCompleteCheckpoint(outputDir: string): string | null {
  let names: string[];
  try {
    names = readdirSync(outputDir);
  } catch {
    return null;
  }
  let best: { step: number; dir: string } | null = null;
  for (const name of names) {
    const match = /^checkpoint-(\d+)$/.exec(name);
    if (!match || (best && Number(match[1]) <= best.step)) continue;
    const dir = join(outputDir, name);
    try {
      if (checkpointProblem(dir) === null) best = { step: Number(match[1]), dir };
    } catch {
      // unreadable: not a checkpoint to resume from
    }
  }
  return best?.dir ?? null;
}

/**
 * The UserError for a failed write of `path` in a run whose output folder is `outputDir`, or
 * `error` itself when it is not a system error (a bug keeps its stack). `failed` says what failed
 * when that is more than writing `path` ("cannot save checkpoint out/checkpoint-20: writing
 * out/.checkpoint-20.tmp-7/model.safetensors failed").
 */
export function writeFailure(path: string, error: unknown, outputDir: string, failed = `cannot write ${path}`): unknown {
  if (error instanceof UserError || !isSystemError(error)) return error;
  const known = WRITE_ERRORS[error.code];
  const cause = known ? `${known.cause} (${error.code})` : `the system refused it (${error.message})`;
  const remedy = known?.remedy ?? "Fix the cause (or pass --output-dir on another disk)";
  const latest = latestCompleteCheckpoint(outputDir);
  const next = latest
    ? `then continue with --resume ${latest}, the last complete checkpoint`
    : "then run it again (there is no complete checkpoint to resume from yet)";
  return new UserError(`${failed}: ${cause}. ${remedy}, ${next}.`, WRITE_ERROR_EXIT_CODE);
}

/** Removes a file or folder that a failed write left, if it can; never throws. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // the next write or resume removes it (temporaries are never taken for results)
  }
}

/** Writes `data` to `path` and flushes it to disk; returns the bytes written. A failed write removes the partial file. */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<number> {
  const handle = await open(path, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    removeQuietly(path);
    throw error;
  }
  await handle.close();
  return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
}

/**
 * Appends `text` (one or more whole lines) to `path` with a single write call; if the write
 * fails part-way (a full disk), the file is cut back to its previous length, so it never ends in
 * a torn line. Throws the system error.
 */
export function appendWhole(path: string, text: string): void {
  const bytes = Buffer.from(text);
  const fd = openSync(path, "a");
  let before = -1;
  try {
    before = fstatSync(fd).size;
    let written = writeSync(fd, bytes);
    while (written < bytes.length) written += writeSync(fd, bytes, written); // a short write: the rest, or the error
  } catch (error) {
    if (before >= 0) {
      try {
        ftruncateSync(fd, before);
      } catch {
        // the torn tail is dropped when the log is next opened to append (see dropTornTail)
      }
    }
    try {
      closeSync(fd);
    } catch {
      // the write's error is the one to report
    }
    throw error;
  }
  closeSync(fd);
}

/**
 * Cuts a JSON-lines file back to its last whole line: a last line without its newline (a write
 * torn by a kill or a full disk) or that is not JSON is dropped, as are NUL bytes a crash left.
 * Only shrinks the file, so it works on a full disk. Returns the bytes dropped.
 */
export function dropTornTail(path: string): number {
  if (!existsSync(path)) return 0;
  const bytes = readFileSync(path);
  let end = bytes.length;
  for (;;) {
    if (end === 0) break;
    const newline = bytes.lastIndexOf(0x0a, end - 1);
    if (newline === end - 1) {
      // a whole line: keep it if it is JSON (an empty line is harmless)
      const start = end >= 2 ? bytes.lastIndexOf(0x0a, end - 2) + 1 : 0;
      const line = bytes.subarray(start, end - 1).toString("utf8");
      if (line.trim() === "" || parsesAsJson(line)) break;
      end = start;
    } else {
      end = newline + 1; // no newline at the end: torn
    }
  }
  if (end < bytes.length) truncateSync(path, end);
  return bytes.length - end;
}

function parsesAsJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** Removes `<path>.tmp-<pid>` files that a killed writer of `path` left behind. */
export function removeStaleTemporaries(path: string): void {
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) rmSync(join(dirname(path), name), { force: true });
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  removeStaleTemporaries(path);
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    await writeFileDurable(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    removeQuietly(temporary);
    throw error;
  }
}

/** JSON with sorted keys and 2-space indent, as HF writes trainer_state.json. */
export function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
        : v;
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}
