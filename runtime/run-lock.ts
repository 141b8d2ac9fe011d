/**
 * runtime/run-lock.ts — one run per output folder.
 *
 * Two runs writing the same metrics.jsonl and checkpoints corrupt each other's state, so a
 * program takes `<outputDir>/run.lock` before it writes anything there: a file created
 * exclusively (O_EXCL), holding the holder's pid, host and start time. A second run finds it and
 * is refused at once, with a message naming the running one. A lock whose holder is gone (a run
 * killed with kill -9 cannot remove it) is taken over with a note, so `--resume` after a crash
 * just works; a lock from another host cannot be checked and is never taken over. The lock is
 * removed when the program exits (normally, on an error, or on CTRL-C).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { UserError } from "./user-error.ts";

export const LOCK_FILE = "run.lock";

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

export interface RunLock {
  path: string;
  /** A note for the log when a stale lock was taken over, else null. */
  note: string | null;
}

/** Whether a process with this pid runs on this host. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // exists, but not ours to signal
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const holder = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    return typeof holder.pid === "number" && typeof holder.host === "string" ? holder : null;
  } catch {
    return null; // torn or unreadable: written by a run killed mid-write
  }
}

/** Creates the lock file exclusively; false when it exists. */
function create(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new UserError(`cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; the output folder must be writable (or pass --output-dir DIR).`);
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Takes the output folder's lock (creating the folder), or throws a UserError naming the holder. */
export function lockOutputDir(outputDir: string): RunLock {
  const created = mkdirSync(outputDir, { recursive: true }); // the first folder it made, if any
  const path = join(outputDir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  let note: string | null = null;
  for (let attempt = 0; !create(path, me); attempt++) {
    const holder = readHolder(path);
    if (holder && holder.host !== me.host) {
      throw new UserError(
        `${outputDir} is in use by pid ${holder.pid} on host ${holder.host} (since ${holder.started}), which cannot be checked from here. Wait for that run to end, use another --output-dir, or, if it is no longer running, delete ${path}.`,
        75,
      );
    }
    if (holder && holder.pid !== me.pid && running(holder.pid)) {
      throw new UserError(`${outputDir} is in use by another run: pid ${holder.pid} on this host, started ${holder.started}. Wait for it to end, or pass --output-dir DIR to write elsewhere.`, 75);
    }
    if (attempt > 0) throw new UserError(`cannot take the lock ${path}: another run keeps creating it; try again.`, 75);
    note = holder ? `took over the lock of pid ${holder.pid} (started ${holder.started}), which is no longer running` : `replaced the unreadable lock ${path} left by a killed run`;
    rmSync(path, { force: true });
  }
  // Released at exit, whatever the cause (process.exit included); kill -9 leaves it, and the
  // next run takes it over as above.
  // A run that wrote nothing else (e.g. --resume with no checkpoint) leaves no folder behind.
  process.on("exit", () => {
    if (readHolder(path)?.pid !== me.pid) return;
    rmSync(path, { force: true });
    if (created !== undefined && readdirSync(outputDir).length === 0) rmSync(created, { recursive: true, force: true });
  });
  return { path, note };
}
