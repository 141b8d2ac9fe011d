/**
 * generator/literals.ts — spec values as TypeScript source text.
 *
 * Strings from a spec are data: they are emitted as JSON string literals (quotes, backslashes,
 * newlines escaped; U+2028/U+2029 escaped too), never spliced into code. Comments from a spec
 * are emitted as `//` lines, so nothing in them can close a comment or start code.
 */
export function literal(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
  if (typeof value === "number") {
    if (Number.isNaN(value) || !Number.isFinite(value)) throw new Error(`cannot emit ${value} as a literal`);
    return Object.is(value, -0) ? "0" : String(value);
  }
  if (typeof value === "boolean") return String(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  if (typeof value === "object") {
    return `{ ${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : literal(k)}: ${literal(v)}`)
      .join(", ")} }`;
  }
  throw new Error(`cannot emit ${typeof value} as a literal`);
}

/** Comment text safe inside `//` lines: one entry per line, no line terminators. */
export function commentLines(text: string): string[] {
  return text.split(/\r\n|[\n\r\u2028\u2029]/).map((line) => line.trimEnd());
}
