/**
 * bench/reference-run.ts — trains a spec with the reference trainer (test/reference-trainer.ts:
 * the same runtime, interpreted plan, a branch on every flag) and prints its training time, for
 * the bench's generated-vs-general comparison.
 *
 *   tsx bench/reference-run.ts <spec.ts> <backend>
 */
import { renderSpecs } from "../generator/generate.ts";
import { selectBackend, type BackendChoice } from "../runtime/index.ts";
import { trainWithReference } from "../test/reference-trainer.ts";

const [spec, backend] = [process.argv[2]!, (process.argv[3] ?? "wasm") as BackendChoice];
const { programs, diagnostics } = await renderSpecs([spec], ".tmp/bench/reference");
if (diagnostics.length > 0) throw new Error(JSON.stringify(diagnostics));
await selectBackend(backend);
const started = performance.now();
await trainWithReference(programs[0]!.plan);
process.stdout.write(`${JSON.stringify({ train_runtime: (performance.now() - started) / 1000 })}\n`);
