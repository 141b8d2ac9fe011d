/**
 * generator/imports.ts — a program's imports, derived from what its rendered code uses.
 *
 * As protobuf-es does, nobody keeps a list of imports by hand: after the body of a program is
 * rendered, its identifiers are read back with the TypeScript parser (references only: not
 * property names, not declarations, not comments or strings), and each one that a known module
 * exports becomes an import. The known modules are the runtime (gen-trainer/runtime, whose
 * exports are read from runtime/index.ts, type-only ones imported with `type`), TensorFlow.js as
 * `tf`, the few node: functions programs use, and the user modules the lowering names.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ts } from "ts-morph";
import { literal } from "./literals.ts";
import type { External } from "./lower-typescript.ts";

const RUNTIME = join(dirname(fileURLToPath(import.meta.url)), "..", "runtime");

/** Node functions a program may call, by module. */
const NODE_EXPORTS: Record<string, string[]> = { "node:path": ["dirname", "resolve"], "node:url": ["fileURLToPath"] };

function parse(path: string, text = readFileSync(path, "utf8")): ts.SourceFile {
  return ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** Names a module exports as types only (interfaces, type aliases) and as values. */
function declaredExports(file: ts.SourceFile): Map<string, "type" | "value"> {
  const names = new Map<string, "type" | "value">();
  const exported = (node: ts.Node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of file.statements) {
    if (!exported(statement)) continue;
    if ((ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) && statement.name) names.set(statement.name.text, "type");
    else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) names.set(statement.name.text, "value");
    else if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.set(d.name.text, "value");
  }
  return names;
}

let runtimeCache: Map<string, "type" | "value"> | null = null;

/** What a module exports: its own declarations and, recursively, what it re-exports. */
function moduleExports(path: string): Map<string, "type" | "value"> {
  const file = parse(path);
  const names = declaredExports(file);
  for (const statement of file.statements) {
    if (!ts.isExportDeclaration(statement) || !statement.moduleSpecifier) continue;
    const from = join(dirname(path), (statement.moduleSpecifier as ts.StringLiteral).text);
    if (!statement.exportClause) {
      for (const [name, kind] of moduleExports(from)) names.set(name, kind);
    } else if (ts.isNamedExports(statement.exportClause)) {
      const inner = statement.isTypeOnly ? null : moduleExports(from);
      for (const e of statement.exportClause.elements) {
        const original = (e.propertyName ?? e.name).text;
        names.set(e.name.text, statement.isTypeOnly || e.isTypeOnly ? "type" : (inner?.get(original) ?? "value"));
      }
    }
  }
  return names;
}

/** Every export of gen-trainer/runtime, from runtime/index.ts and what it re-exports. */
export function runtimeExports(): Map<string, "type" | "value"> {
  return (runtimeCache ??= moduleExports(join(RUNTIME, "index.ts")));
}

/** Whether an identifier names something (a reference), rather than a property or a declaration. */
export function isReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent)) && parent.name === node) return false;
  if ((ts.isVariableDeclaration(parent) || ts.isFunctionDeclaration(parent) || ts.isParameter(parent) || ts.isClassDeclaration(parent) || ts.isBindingElement(parent)) && parent.name === node) return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  return true;
}

/** The identifiers a program's code refers to (free or not). */
export function referencedNames(code: string): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && isReference(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(parse("program.ts", code));
  return names;
}

/** The import statements `code` needs, in a fixed order: node, tf, the runtime, user modules. */
export function importsFor(code: string, externals: readonly External[]): string {
  const used = referencedNames(code);
  const lines: string[] = [];
  for (const [from, names] of Object.entries(NODE_EXPORTS)) {
    const wanted = names.filter((n) => used.has(n));
    if (wanted.length) lines.push(`import { ${wanted.join(", ")} } from "${from}";`);
  }
  if (used.has("tf")) lines.push(`import * as tf from "@tensorflow/tfjs";`);
  const runtime = [...runtimeExports()]
    .filter(([name]) => used.has(name))
    .map(([name, kind]) => ({ name, text: kind === "type" ? `type ${name}` : name }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (runtime.length) lines.push(`import { ${runtime.map((r) => r.text).join(", ")} } from "gen-trainer/runtime";`);
  for (const e of externals) {
    if (!used.has(e.name)) continue;
    lines.push(e.kind === "default" ? `import ${e.name} from ${literal(e.from)};` : `import { ${e.name} } from ${literal(e.from)};`);
  }
  return lines.join("\n");
}

// --- Python (train.py): the same idea over python/gen_trainer/ and a few standard modules.

const PYTHON_RUNTIME = join(dirname(fileURLToPath(import.meta.url)), "..", "python", "gen_trainer");

/** Standard-library and torch imports a program may need, as `import X` lines, by the name used. */
const PYTHON_MODULES = ["json", "math", "torch"];

/** Top-level public names of python/gen_trainer/*.py (def, class, CONSTANT =), by module. */
export function pythonRuntimeExports(): Map<string, string> {
  const names = new Map<string, string>();
  for (const file of readdirSync(PYTHON_RUNTIME).filter((f) => f.endsWith(".py") && f !== "__init__.py").sort()) {
    const module = file.slice(0, -3);
    for (const m of readFileSync(join(PYTHON_RUNTIME, file), "utf8").matchAll(/^(?:def|class)\s+([A-Za-z]\w*)|^([A-Z][A-Z0-9_]*)\s*[:=]/gm)) {
      const name = (m[1] ?? m[2])!;
      if (!names.has(name)) names.set(name, module);
    }
  }
  return names;
}

/** The identifiers a Python program refers to: names not after a ".", outside comments and plain strings. */
function pythonNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const line of code.split("\n")) {
    // drop a comment and the text of plain (non-f) string literals; f-strings keep their {expressions}
    const text = line.replace(/(?<![fF])(["'])(?:\\.|(?!\1).)*\1/g, '""').replace(/#.*$/, "");
    for (const m of text.matchAll(/(?<![.\w])([A-Za-z_]\w*)/g)) names.add(m[1]!);
  }
  return names;
}

/** The import lines a train.py needs: standard modules, then `from gen_trainer.<module> import ...`. */
export function pythonImportsFor(code: string): { standard: string; runtime: string } {
  const used = pythonNames(code);
  const standard = PYTHON_MODULES.filter((m) => used.has(m)).map((m) => `import ${m}`);
  const byModule = new Map<string, string[]>();
  for (const [name, module] of pythonRuntimeExports()) if (used.has(name)) byModule.set(module, [...(byModule.get(module) ?? []), name]);
  const runtime = [...byModule].sort(([a], [b]) => a.localeCompare(b)).map(([module, list]) => `from gen_trainer.${module} import ${list.sort((a, b) => a.localeCompare(b)).join(", ")}`);
  return { standard: standard.join("\n"), runtime: runtime.join("\n") };
}
