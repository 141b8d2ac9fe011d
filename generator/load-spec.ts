/**
 * generator/load-spec.ts — reads a spec file three ways:
 *   1. type-checks it against TrainerSpec with the TypeScript compiler (ts-morph), so a typo is
 *      reported as the type error it is;
 *   2. walks its AST for the source position and the author's comment of every property, so
 *      later diagnostics point at the offending line and the generated config keeps the comments;
 *   3. imports it for its values (the default export).
 */
import { existsSync, statSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { Node, Project, ts, type SourceFile } from "ts-morph";
import { type Diagnostic, type Position, UsageError } from "./diagnostics.ts";

export interface SpecSource {
  /** Position of each property by dotted path ("args.learningRate", "args.reportTo.0"). */
  positions: Map<string, Position>;
  /** The author's comment on each property, by dotted path. */
  comments: Map<string, string>;
  /** Position of the default export (fallback for diagnostics). */
  root: Position;
}

export interface LoadedSpec {
  /** Absolute path of the spec file. */
  path: string;
  /** The path as reported and written into generated code: relative to the cwd, with "/". */
  displayPath: string;
  value: unknown;
  source: SpecSource;
}

export interface LoadResult {
  spec: LoadedSpec | null;
  diagnostics: Diagnostic[];
}

/** Diagnostic codes the validator reports better itself (unknown keys, with did-you-mean). */
const CODES_LEFT_TO_VALIDATOR = new Set([2353, 2561]);

export function toDisplayPath(absolute: string): string {
  return relative(process.cwd(), absolute).split(sep).join("/");
}

export function createSpecProject(): Project {
  return new Project({
    skipAddingFilesFromTsConfig: true,
    compilerOptions: {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      lib: ["lib.es2022.d.ts"],
    },
  });
}

function commentText(raw: string): string {
  return raw
    .replace(/^\/\*\*?|\*\/$/g, "")
    .split(/\r?\n/)
    .map((line) => line.replace(/^\s*(\/\/+|\*)?\s?/, "").trimEnd())
    .filter((line, i, all) => line !== "" || (i > 0 && i < all.length - 1))
    .join("\n")
    .trim();
}

function walk(node: Node, path: string, source: SpecSource, file: SourceFile): void {
  if (Node.isObjectLiteralExpression(node)) {
    for (const property of node.getProperties()) {
      if (!Node.isPropertyAssignment(property) && !Node.isShorthandPropertyAssignment(property)) continue;
      const name = property.getName().replace(/^["']|["']$/g, "");
      const key = path ? `${path}.${name}` : name;
      const start = file.getLineAndColumnAtPos(property.getNameNode().getStart());
      source.positions.set(key, { line: start.line, column: start.column });
      const comments = property.getLeadingCommentRanges().map((c) => commentText(c.getText()));
      // A trailing `// comment` on the property's last line counts too (nanoGPT style).
      const rest = file.getFullText().slice(property.getEnd()).split(/\r?\n/)[0] ?? "";
      const trailing = /^\s*,?\s*\/\/(.*)$/.exec(rest);
      if (trailing) comments.push(trailing[1]!.trim());
      const text = comments.filter(Boolean).join("\n");
      if (text) source.comments.set(key, text);
      if (Node.isPropertyAssignment(property)) walk(property.getInitializerOrThrow(), key, source, file);
    }
  } else if (Node.isArrayLiteralExpression(node)) {
    node.getElements().forEach((element, i) => {
      const start = file.getLineAndColumnAtPos(element.getStart());
      source.positions.set(`${path}.${i}`, { line: start.line, column: start.column });
      walk(element, `${path}.${i}`, source, file);
    });
  } else if (Node.isAsExpression(node) || Node.isSatisfiesExpression(node) || Node.isParenthesizedExpression(node)) {
    walk(node.getExpression(), path, source, file);
  }
}

function readSource(file: SourceFile): SpecSource {
  const source: SpecSource = { positions: new Map(), comments: new Map(), root: { line: 1, column: 1 } };
  const assignment = file.getExportAssignment((e) => !e.isExportEquals());
  if (!assignment) return source;
  const root = file.getLineAndColumnAtPos(assignment.getStart());
  source.root = { line: root.line, column: root.column };
  let expression: Node = assignment.getExpression();
  if (Node.isCallExpression(expression) && expression.getArguments()[0]) expression = expression.getArguments()[0]!;
  if (Node.isIdentifier(expression)) {
    const declaration = expression.getSymbol()?.getDeclarations()[0];
    if (declaration && Node.isVariableDeclaration(declaration) && declaration.getInitializer()) expression = declaration.getInitializerOrThrow();
    if (Node.isCallExpression(expression) && expression.getArguments()[0]) expression = expression.getArguments()[0]!;
  }
  walk(expression, "", source, file);
  return source;
}

let importCounter = 0;

/**
 * Loads specs. All files join one TypeScript program before any is checked, so the compiler
 * builds the program once (the costly part) rather than once per spec.
 */
export async function loadSpecs(specPaths: readonly string[], project: Project): Promise<LoadResult[]> {
  const files = specPaths.map((specPath) => {
    const path = resolve(specPath);
    if (!existsSync(path)) throw new UsageError(`${toDisplayPath(path)}: spec file not found. Pass the path of a .spec.ts file, e.g. examples/addition.spec.ts.`);
    if (!statSync(path).isFile()) throw new UsageError(`${toDisplayPath(path)} is a ${statSync(path).isDirectory() ? "directory" : "special file"}, not a spec file. Pass the path of a .spec.ts file, e.g. examples/addition.spec.ts.`);
    return project.addSourceFileAtPath(path);
  });
  const results: LoadResult[] = [];
  for (const file of files) results.push(await loadSpecFile(file));
  return results;
}

async function loadSpecFile(file: SourceFile): Promise<LoadResult> {
  const path = file.getFilePath();
  const displayPath = toDisplayPath(path);
  const diagnostics: Diagnostic[] = [];
  let syntaxBroken = false;
  for (const d of file.getPreEmitDiagnostics()) {
    if (CODES_LEFT_TO_VALIDATOR.has(d.getCode())) continue;
    const start = file.getLineAndColumnAtPos(d.getStart() ?? 0);
    if (d.getCode() < 2000) syntaxBroken = true;
    diagnostics.push({
      file: displayPath,
      line: start.line,
      column: start.column,
      code: `TS${d.getCode()}`,
      message: ts.flattenDiagnosticMessageText(d.compilerObject.messageText, " "),
    });
  }
  const source = readSource(file);
  if (!file.getExportAssignment((e) => !e.isExportEquals()) && !syntaxBroken) {
    diagnostics.push({ file: displayPath, line: 1, column: 1, code: "E_NO_DEFAULT_EXPORT", message: "the spec has no default export. End it with `export default defineTrainer({ name, model, data, args });`." });
    return { spec: null, diagnostics };
  }
  if (syntaxBroken) return { spec: null, diagnostics };
  let value: unknown;
  try {
    const module = (await import(`${pathToFileURL(path).href}?load=${importCounter++}`)) as { default?: unknown };
    value = module.default;
  } catch (error) {
    diagnostics.push({ file: displayPath, ...source.root, code: "E_SPEC_IMPORT", message: `importing the spec failed: ${(error as Error).message}` });
    return { spec: null, diagnostics };
  }
  return { spec: { path, displayPath, value, source }, diagnostics };
}
