/**
 * generator/unified-diff.ts — a unified diff of two texts, for `--check` (LCS over lines, 3 lines of context).
 */
interface Op {
  kind: " " | "-" | "+";
  line: string;
  /** Lines of each side before this one. */
  aBefore: number;
  bBefore: number;
}

export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  const a = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const b = after === "" ? [] : after.replace(/\n$/, "").split("\n");
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: longest common subsequence of a[i..] and b[j..].
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: " ", line: a[i]!, aBefore: i++, bBefore: j++ });
    else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) ops.push({ kind: "+", line: b[j]!, aBefore: i, bBefore: j++ });
    else ops.push({ kind: "-", line: a[i]!, aBefore: i++, bBefore: j });
  }
  const changed = ops.map((o, k) => (o.kind !== " " ? k : -1)).filter((k) => k >= 0);
  const out = [`--- ${path} (committed)`, `+++ ${path} (generated now)`];
  let k = 0;
  while (k < changed.length) {
    let end = k;
    while (end + 1 < changed.length && changed[end + 1]! - changed[end]! <= 2 * context) end++;
    const from = Math.max(0, changed[k]! - context);
    const to = Math.min(ops.length, changed[end]! + context + 1);
    const hunk = ops.slice(from, to);
    const aCount = hunk.filter((o) => o.kind !== "+").length;
    const bCount = hunk.filter((o) => o.kind !== "-").length;
    out.push(`@@ -${hunk[0]!.aBefore + (aCount ? 1 : 0)},${aCount} +${hunk[0]!.bBefore + (bCount ? 1 : 0)},${bCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    k = end + 1;
  }
  return `${out.join("\n")}\n`;
}
