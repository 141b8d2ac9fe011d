/**
 * runtime/checkpoint-marker.ts — the completeness marker of a checkpoint, checkpoint.json.
 *
 * It is written last into a checkpoint folder and lists every file with its size in bytes, so
 * anything reading checkpoints (resume, rotation, `gen-trainer report`) can tell a complete one
 * from a torn or foreign one. No TensorFlow.js here, so the report command can use it cheaply.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const MARKER = "checkpoint.json";

/** Why `dir` is not a complete checkpoint, or null if it is. */
export function checkpointProblem(dir: string): string | null {
  const markerPath = join(dir, MARKER);
  if (!existsSync(markerPath)) return `it has no ${MARKER} (the completeness marker), so it was not written completely`;
  let marker: { files?: Record<string, number> };
  try {
    marker = JSON.parse(readFileSync(markerPath, "utf8")) as typeof marker;
  } catch {
    return `its ${MARKER} is not valid JSON`;
  }
  for (const [name, size] of Object.entries(marker.files ?? {})) {
    const path = join(dir, name);
    if (!existsSync(path)) return `${name} is missing`;
    const actual = statSync(path).size;
    if (actual !== size) return `${name} has ${actual} bytes but ${MARKER} records ${size}`;
  }
  return null;
}
