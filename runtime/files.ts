/**
 * runtime/files.ts — durable file writes.
 *
 * A file is written to a temporary sibling, flushed to disk (fsync), then renamed over the
 * target, so a reader sees the old file or the new one, never half of one — even if the
 * process is killed mid-write. A temporary file that such a kill left behind is removed by the
 * next write of the same file.
 */
import { readdirSync, rmSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Writes `data` to `path` and flushes it to disk; returns the bytes written. */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<number> {
  const handle = await open(path, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
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
  await writeFileDurable(temporary, data);
  await rename(temporary, path);
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
