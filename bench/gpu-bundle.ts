/**
 * bench/gpu-bundle.ts — `npm run bench:gpu-bundle`: builds a self-contained folder (default
 * .tmp/gpu-bundle/) that measures generated programs on a GPU machine without network access.
 * See bench/README.md for copying and running it.
 *
 * What goes in:
 *   train-d<d>.mjs        generated char-transformer programs (d = 256, 512, 768, 1024; 4 layers,
 *                         d/64 heads, batch 32, context 64, rhymes.txt × 100 as the corpus),
 *                         rendered with generator/generate.ts renderSpecs and bundled by esbuild
 *                         with the runtime, tfjs, tfjs-backend-wasm, tfjs-backend-webgpu and the
 *                         `webgpu` package's JS (platform node, format esm, shared chunks)
 *   bench-gpu.mjs         bench/gpu.ts, which runs them and prints the table
 *   chunk-*.mjs           code the entries share
 *   dawn.node             the `webgpu` package's linux-x64 Dawn binary (loaded from beside the
 *                         bundle: the package's index.js is patched to look here)
 *   libvulkan.so.1        this system's Vulkan loader (the GPU's driver is the machine's own)
 *   *.wasm                tfjs-backend-wasm's binaries
 *   corpus.txt            the training text
 *   node_modules/…        placeholders for the packages the runtime imports by name at run time
 *                         (import(name), require.resolve(name)): each one hands out the copy
 *                         bundled into the .mjs files
 *   run.sh                sets LD_LIBRARY_PATH to the folder and runs `node bench-gpu.mjs "$@"`
 *
 * Options: --out DIR, --sizes 256,512,768,1024, --layers 4, --wasm-only (no WebGPU: builds and
 * runs without the webgpu packages, to check the bundling on a machine without them).
 * Fails with a message naming what is missing: esbuild, the webgpu packages, Dawn's linux-x64
 * binary, the Vulkan loader. The folder must stay under 64 MiB (checked).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { renderSpecs } from "../generator/generate.ts";

const ROOT = join(import.meta.dirname, "..");
const require = createRequire(join(ROOT, "package.json"));
const REGISTRY_KEY = "gen-trainer.gpu-bundle";
const LIMIT_BYTES = 64 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    out: { type: "string", default: join(ROOT, ".tmp", "gpu-bundle") },
    sizes: { type: "string", default: "256,512,768,1024" },
    layers: { type: "string", default: "4" },
    "wasm-only": { type: "boolean", default: false },
  },
});
const OUT = values.out!;
const SRC = join(ROOT, ".tmp", "gpu-bundle-src");
const SIZES = values.sizes!.split(",").map(Number);
const LAYERS = Number(values.layers);
const WEBGPU = !values["wasm-only"];
const BATCH = 32;
const CONTEXT = 64;

function fail(message: string): never {
  console.error(`bench:gpu-bundle: ${message}`);
  process.exit(1);
}

function resolvePackageDir(name: string): string | null {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

// --- what the bundle needs from this machine
const esbuildVersion = (() => {
  try {
    return (JSON.parse(readFileSync(join(dirname(require.resolve("tsx/package.json")), "package.json"), "utf8")) as { dependencies?: Record<string, string> }).dependencies?.esbuild ?? "";
  } catch {
    return "";
  }
})();
let esbuild: typeof import("esbuild");
try {
  esbuild = await import("esbuild");
} catch {
  fail(`esbuild is not installed. Install it as a dev dependency: npm install --save-dev --save-exact esbuild${esbuildVersion ? `@<the version tsx uses, ${esbuildVersion}>` : ""}`);
}
const wasmDir = resolvePackageDir("@tensorflow/tfjs-backend-wasm");
if (!wasmDir) fail("@tensorflow/tfjs-backend-wasm is not installed (npm install)");

let dawnBinary = "";
let vulkanLoader = "";
if (WEBGPU) {
  const missing = ["webgpu", "@tensorflow/tfjs-backend-webgpu"].filter((n) => !resolvePackageDir(n));
  if (missing.length) {
    fail(
      `the WebGPU packages ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not installed. They are optional dependencies: ` +
        `npm install --save-optional --save-exact webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 (or build with --wasm-only to check the bundling without them).`,
    );
  }
  dawnBinary = join(resolvePackageDir("webgpu")!, "dist", "linux-x64", "dawn.node");
  if (!existsSync(dawnBinary)) fail(`the webgpu package has no linux-x64 Dawn binary at ${relative(ROOT, dawnBinary)} (reinstall it: npm install webgpu)`);
  const { BACKEND_CHOICES } = await import("../runtime/backend.ts");
  if (!(BACKEND_CHOICES as readonly string[]).includes("webgpu")) fail("runtime/backend.ts has no webgpu backend yet: the generated programs could not run with --backend webgpu (or build with --wasm-only)");
  vulkanLoader = findVulkanLoader() ?? fail("no Vulkan loader (libvulkan.so.1) on this system: apt-get install libvulkan1, then build again");
}

function findVulkanLoader(): string | null {
  try {
    const line = execFileSync("/sbin/ldconfig", ["-p"], { encoding: "utf8" })
      .split("\n")
      .find((l) => /libvulkan\.so\.1 \(libc6,x86-64\)/.test(l));
    const path = line?.split("=>")[1]?.trim();
    if (path && existsSync(path)) return realpathSync(path);
  } catch {
    // no ldconfig: try the usual places
  }
  for (const dir of ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"]) {
    const p = join(dir, "libvulkan.so.1");
    if (existsSync(p)) return realpathSync(p);
  }
  return null;
}

// --- the generated programs
rmSync(SRC, { recursive: true, force: true });
mkdirSync(SRC, { recursive: true });
const corpusText = readFileSync(join(ROOT, "examples", "data", "rhymes.txt"), "utf8").repeat(100);
const programs: { d: number; layers: number; heads: number; batch: number; context: number; file: string; source: string }[] = [];
for (const d of SIZES) {
  const name = `bench-gpu-d${d}`;
  const heads = Math.max(1, Math.round(d / 64));
  // The corpus beside the program, so its TEXT_FILE is "corpus.txt": the bundle keeps it beside the .mjs files.
  const dir = join(SRC, "programs", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "corpus.txt"), corpusText);
  const spec = join(dir, `${name}.spec.ts`);
  writeFileSync(
    spec,
    `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: { preset: "char-transformer", dModel: ${d}, layers: ${LAYERS}, heads: ${heads}, contextLength: ${CONTEXT} },
  data: { text: "corpus.txt", evalFraction: 0, sequenceLength: ${CONTEXT} },
  args: { perDeviceTrainBatchSize: ${BATCH}, maxSteps: 1000, learningRate: 1e-3, loggingSteps: 1, saveStrategy: "no" },
});
`,
  );
  const { programs: rendered, diagnostics } = await renderSpecs([spec], join(SRC, "programs"));
  if (diagnostics.length) fail(`generating ${name}: ${JSON.stringify(diagnostics)}`);
  const program = rendered[0]!;
  writeFileSync(program.outputPath, program.code);
  if (!/const TEXT_FILE = "(\.\/)?corpus\.txt";/.test(program.code)) fail(`${name}: expected TEXT_FILE = "./corpus.txt" in the generated program`);
  programs.push({ d, layers: LAYERS, heads, batch: BATCH, context: CONTEXT, file: `train-d${d}.mjs`, source: program.outputPath });
}

// --- the registry: lazy loaders of the packages the runtime imports by name (see the placeholders below)
const bundledPackages = ["@tensorflow/tfjs-backend-wasm", ...(WEBGPU ? ["webgpu", "@tensorflow/tfjs-backend-webgpu"] : [])];
const registry = join(SRC, "registry.ts");
writeFileSync(
  registry,
  `// Written by bench/gpu-bundle.ts. Loaders of the packages bundled into this folder's .mjs files,
// for the placeholders in node_modules/ (the runtime imports them by name at run time).
(globalThis as Record<symbol, unknown>)[Symbol.for(${JSON.stringify(REGISTRY_KEY)})] = {
${bundledPackages.map((n) => `  ${JSON.stringify(n)}: () => import(${JSON.stringify(n)}),`).join("\n")}
};
export {};
`,
);
const entries: Record<string, string> = {};
for (const p of programs) {
  const entry = join(SRC, `train-d${p.d}.ts`);
  writeFileSync(entry, `import "./registry.ts";\nimport ${JSON.stringify(`./${relative(SRC, p.source).split("\\").join("/")}`)};\n`);
  entries[`train-d${p.d}`] = entry;
}
const benchEntry = join(SRC, "bench-gpu.ts");
writeFileSync(benchEntry, `import "./registry.ts";\nimport ${JSON.stringify(join(ROOT, "bench", "gpu.ts"))};\n`);
entries["bench-gpu"] = benchEntry;

// --- bundle
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
/** webgpu/index.js loads dist/<platform>-<arch>/dawn.node beside itself; in the bundle, dawn.node sits beside the .mjs files. */
const dawnBesideBundle: import("esbuild").Plugin = {
  name: "dawn-beside-bundle",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]webgpu[\\/]index\.js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const pattern = /const dawnNodePath = join\(__dirname, 'dist', `\$\{process\.platform\}-\$\{arch\}`, 'dawn\.node'\);/;
      if (!pattern.test(text)) throw new Error(`${args.path}: the line that locates dawn.node changed; update the dawn-beside-bundle plugin in bench/gpu-bundle.ts`);
      return { contents: text.replace(pattern, "const dawnNodePath = join(__dirname, 'dawn.node');"), loader: "js" };
    });
  },
};
const result = await esbuild.build({
  entryPoints: entries,
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunk-[hash]",
  // CommonJS code inside (tfjs-backend-wasm's Emscripten glue) uses require and __dirname. They are
  // set on globalThis, not declared: a bundled ES module may declare its own (webgpu's index.js
  // does), and esbuild does not rename around a banner. Every chunk lies in the same folder.
  banner: {
    js: [
      `import { createRequire as __bundleCreateRequire } from "node:module";`,
      `import { fileURLToPath as __bundleFileURLToPath } from "node:url";`,
      `import { dirname as __bundleDirname } from "node:path";`,
      `globalThis.require ??= __bundleCreateRequire(import.meta.url);`,
      `globalThis.__filename ??= __bundleFileURLToPath(import.meta.url);`,
      `globalThis.__dirname ??= __bundleDirname(__bundleFileURLToPath(import.meta.url));`,
    ].join("\n"),
  },
  alias: { "gen-trainer/runtime": join(ROOT, "runtime", "index.ts"), "gen-trainer": join(ROOT, "index.ts") },
  // Imported by name only when installed (runtime/backend.ts); never in this bundle.
  external: ["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"],
  plugins: WEBGPU ? [dawnBesideBundle] : [],
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  logLevel: "error",
  metafile: true,
});
if (result.errors.length) fail(result.errors.map((e) => e.text).join("\n"));

// --- placeholders: node_modules/<name> whose module hands out the bundled copy
for (const name of bundledPackages) {
  const keys = JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m))); process.exit(0);`], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!,
  ) as string[];
  const named = keys.filter((k) => k !== "default" && /^[A-Za-z_$][\w$]*$/.test(k));
  const dir = join(OUT, "node_modules", ...name.split("/"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name, private: true, type: "module", main: "index.js", exports: { ".": "./index.js" } }, null, 2)}\n`);
  writeFileSync(
    join(dir, "index.js"),
    `// Placeholder written by bench/gpu-bundle.ts: ${name} is bundled into the .mjs files of this folder.
// The runtime imports it by name at run time (import(name), require.resolve(name)); this module
// hands out that bundled copy (one instance, registered with the bundled tfjs).
const loaders = globalThis[Symbol.for(${JSON.stringify(REGISTRY_KEY)})];
if (!loaders) throw new Error(${JSON.stringify(`${name}: this placeholder works only inside the bundle (node train-d*.mjs / bench-gpu.mjs)`)});
const m = await loaders[${JSON.stringify(name)}]();
export default m.default ?? m;
export const { ${named.join(", ")} } = m;
`,
  );
}

// --- the files beside the bundle
for (const f of readdirSync(join(wasmDir, "dist")).filter((f) => f.endsWith(".wasm"))) copyFileSync(join(wasmDir, "dist", f), join(OUT, f));
writeFileSync(join(OUT, "corpus.txt"), corpusText);
if (WEBGPU) {
  copyFileSync(dawnBinary, join(OUT, "dawn.node"));
  copyFileSync(vulkanLoader, join(OUT, "libvulkan.so.1"));
}
writeFileSync(
  join(OUT, "bench-gpu.json"),
  `${JSON.stringify({ built: new Date().toISOString(), webgpu: WEBGPU, vulkanLoader: vulkanLoader || null, programs: programs.map(({ source: _source, ...p }) => p) }, null, 2)}\n`,
);
writeFileSync(
  join(OUT, "run.sh"),
  `#!/bin/sh
# The GPU bench (bench/gpu.ts, built by npm run bench:gpu-bundle): ./run.sh [--backend webgpu|wasm] [--sizes 256,512] [--steps 30] ...
# Needs Node.js 20 or newer. Uses the Vulkan loader shipped here; the GPU's Vulkan driver is the machine's own
# (NVIDIA: the driver's Vulkan ICD; in containers NVIDIA_DRIVER_CAPABILITIES must include graphics).
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Where the usual manifests are missing, the NVIDIA container toolkit puts the ICD here.
if [ -z "\${VK_DRIVER_FILES:-}\${VK_ICD_FILENAMES:-}" ] && [ ! -e /usr/share/vulkan/icd.d/nvidia_icd.json ] && [ ! -e /etc/vulkan/icd.d/nvidia_icd.json ] && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
command -v node >/dev/null 2>&1 || { echo "run.sh: node (Node.js 20 or newer) is not on PATH" >&2; exit 127; }
cd "$here" && exec node bench-gpu.mjs "$@"
`,
);
chmodSync(join(OUT, "run.sh"), 0o755);

// --- sizes
function walk(dir: string): { path: string; bytes: number }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [{ path: join(dir, e.name), bytes: statSync(join(dir, e.name)).size }]));
}
const files = walk(OUT).sort((a, b) => b.bytes - a.bytes);
const total = files.reduce((n, f) => n + f.bytes, 0);
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
console.log(`built ${relative(process.cwd(), OUT) || OUT}/ (${WEBGPU ? "webgpu + wasm" : "wasm only"}; programs d=${SIZES.join(", ")}, ${LAYERS} layers)`);
for (const f of files.filter((f) => f.bytes > 100 * 1024)) console.log(`  ${mib(f.bytes).padStart(11)}  ${relative(OUT, f.path)}`);
console.log(`  ${mib(files.filter((f) => f.bytes <= 100 * 1024).reduce((n, f) => n + f.bytes, 0)).padStart(11)}  ${files.filter((f) => f.bytes <= 100 * 1024).length} smaller files`);
console.log(`  ${mib(total).padStart(11)}  total (limit ${mib(LIMIT_BYTES)})`);
const tarball = spawnSync("tar", ["-czf", "-", "-C", dirname(OUT), relative(dirname(OUT), OUT)], { maxBuffer: 256 * 1024 * 1024 });
if (tarball.status === 0) console.log(`  ${mib(tarball.stdout.length).padStart(11)}  as a .tar.gz`);
if (total >= LIMIT_BYTES) fail(`the folder is ${mib(total)}, over the ${mib(LIMIT_BYTES)} limit`);
console.log(`run it: ${relative(process.cwd(), join(OUT, "run.sh"))}${WEBGPU ? "" : " --backend wasm"}   (see bench/README.md)`);
