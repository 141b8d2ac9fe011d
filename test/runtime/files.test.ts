// Durable writes: atomic replacement, and cleanup of what a killed writer left.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sortedJson, writeFileAtomic } from "../../runtime/files.ts";

describe("writeFileAtomic", () => {
  it("replaces the file whole and removes temporaries a killed writer left", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gen-trainer-files-"));
    const path = join(dir, "trainer_state.json");
    writeFileSync(path, "old");
    writeFileSync(`${path}.tmp-99999`, "torn");
    writeFileSync(join(dir, "other.json.tmp-99999"), "someone else's");
    await writeFileAtomic(path, "new");
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(existsSync(`${path}.tmp-99999`)).toBe(false);
    expect(existsSync(`${path}.tmp-${process.pid}`)).toBe(false);
    expect(existsSync(join(dir, "other.json.tmp-99999"))).toBe(true);
  });

  it("sortedJson sorts keys at every depth, as HF writes trainer_state.json", () => {
    expect(sortedJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe('{\n  "a": {\n    "c": null,\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n');
  });
});
