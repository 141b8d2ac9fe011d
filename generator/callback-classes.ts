/**
 * generator/callback-classes.ts — which hooks a user callback class implements.
 *
 * The generator emits a call only for the hooks a class has, so it reads the class from its
 * source with ts-morph (parsing only, no type-check): its methods and function-valued
 * properties. A member named like a hook but not one (onStepEnded) is an error with a
 * did-you-mean, pointing at the member in the module.
 */
import { Node, Project, type ClassDeclaration } from "ts-morph";
import { CALLBACK_EVENTS } from "../runtime/callbacks.ts";
import { didYouMean, type Diagnostic } from "./diagnostics.ts";
import { toDisplayPath } from "./load-spec.ts";

export type CallbackEvent = (typeof CALLBACK_EVENTS)[number];

export interface CallbackClass {
  hooks: CallbackEvent[];
  problems: Diagnostic[];
}

const project = new Project({ skipAddingFilesFromTsConfig: true, skipFileDependencyResolution: true, compilerOptions: { noEmit: true } });

function findClass(path: string, exportName: string): ClassDeclaration | undefined {
  const file = project.getSourceFile(path) ?? project.addSourceFileAtPath(path);
  for (const declaration of file.getExportedDeclarations().get(exportName) ?? []) {
    if (Node.isClassDeclaration(declaration)) return declaration;
  }
  return undefined;
}

/** null when the module has no exported class of that name. */
export function inspectCallbackClass(path: string, exportName: string): CallbackClass | null {
  const cls = findClass(path, exportName);
  if (!cls) return null;
  const hooks: CallbackEvent[] = [];
  const problems: Diagnostic[] = [];
  const members = [...cls.getMethods(), ...cls.getProperties().filter((p) => {
    const init = p.getInitializer();
    return init !== undefined && (Node.isArrowFunction(init) || Node.isFunctionExpression(init));
  })];
  for (const member of members) {
    const name = member.getName();
    if ((CALLBACK_EVENTS as readonly string[]).includes(name)) {
      if (!hooks.includes(name as CallbackEvent)) hooks.push(name as CallbackEvent);
    } else if (/^on[A-Z]/.test(name)) {
      const guess = didYouMean(name, CALLBACK_EVENTS);
      const start = cls.getSourceFile().getLineAndColumnAtPos(member.getNameNode().getStart());
      problems.push({
        file: toDisplayPath(path),
        line: start.line,
        column: start.column,
        code: "E_CALLBACK_HOOK",
        message: `${exportName}.${name} is not a callback event${guess ? `; did you mean "${guess}"?` : `; events are ${CALLBACK_EVENTS.join(", ")}.`}`,
      });
    }
  }
  // Calls are emitted in the fixed event order, whatever the order in the class.
  hooks.sort((a, b) => CALLBACK_EVENTS.indexOf(a) - CALLBACK_EVENTS.indexOf(b));
  return { hooks, problems };
}

/**
 * Whether a user model module defines a `generate` member anywhere (a method, a property, a
 * shorthand property): generationSample needs one. A module that builds it some other way
 * still gets the program's start-up check (requireGenerate).
 */
export function moduleDefinesGenerate(path: string): boolean {
  const file = project.getSourceFile(path) ?? project.addSourceFileAtPath(path);
  return file.getDescendants().some(
    (n) =>
      (Node.isMethodDeclaration(n) || Node.isPropertyAssignment(n) || Node.isShorthandPropertyAssignment(n) || Node.isPropertyDeclaration(n)) &&
      n.getName() === "generate",
  );
}
