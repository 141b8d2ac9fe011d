/**
 * generator/report/html.ts — the page of `gen-trainer report`: one self-contained HTML file.
 *
 * Pure: data in, a string out; no clock, no absolute path, so the same inputs give the same
 * bytes. The charts are uPlot's (inlined: its JS and CSS are passed in as `assets`); everything
 * else is static HTML rendered here.
 *
 * Untrusted text (sample prompts and texts, folder names) only ever goes through escapeHtml,
 * and the chart data is JSON inside <script type="application/json"> with every "<" written as
 * \u003c, so no value can close the script element or open markup.
 *
 * For tests and for people reading the page, each chart's container carries
 * data-points='{"<series>": <number of points>, ...}', the page sets data-rendered="true" on it
 * once uPlot has drawn it, and window.report.charts holds the uPlot objects by chart id.
 */

export interface ChartSeries {
  /** The metrics.jsonl field: loss, eval_loss, learning_rate, ... */
  key: string;
  /** One value per x of the chart; null where this series has no point at that step. */
  values: (number | null)[];
  /** Draw a marker at each point (sparse series, such as eval_loss). */
  points: boolean;
}

export interface ChartSpec {
  /** loss, eval, learning_rate, grad_norm, loss_scale. */
  id: string;
  title: string;
  /** Steps, ascending, shared by the series. */
  steps: number[];
  series: ChartSeries[];
  /** A base-2 log y axis (the loss scale moves by powers of two). */
  log2: boolean;
}

export interface SampleRow {
  step: number;
  prompt: string;
  text: string;
}

export type CheckpointStatus = "kept" | "deleted" | "incomplete";

export interface CheckpointRow {
  step: number;
  /** The folder's name, checkpoint-<step>. */
  name: string;
  /** kept: on disk and complete; deleted: saved (a "save" event) but no longer on disk; incomplete: on disk, not complete. */
  status: CheckpointStatus;
  /** trainer_state.json's best_model_checkpoint. */
  best: boolean;
  /** Why it is incomplete, or where it came from. */
  note: string;
}

export interface ReportData {
  /** The output folder's name. */
  name: string;
  /** [label, value] lines of the summary, in order. */
  summary: [string, string][];
  charts: ChartSpec[];
  samples: SampleRow[];
  checkpoints: CheckpointRow[];
  /** Things the reader should know (a skipped torn line, a missing trainer_state.json). */
  notes: string[];
}

export interface ReportAssets {
  /** uPlot's IIFE build (defines the global uPlot). */
  uplotJs: string;
  uplotCss: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text as HTML text or attribute value: never markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** JSON that can sit inside a <script> element: no "<" (so no "</script" or "<!--"), no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Inline script text, refused if it could end its <script> element early. */
function inlineScript(js: string): string {
  if (/<\/script|<!--/i.test(js)) throw new Error("inlined script contains </script or <!--; it cannot be inlined as is");
  return js;
}

function inlineStyle(css: string): string {
  if (/<\/style/i.test(css)) throw new Error("inlined stylesheet contains </style; it cannot be inlined as is");
  return css;
}

/** Numbers as the tables show them: integers as they are, others with 4 significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e7) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? Number(value.toPrecision(4)).toExponential() : String(Number(value.toPrecision(4)));
}

/** Drawn in the page: one uPlot per chart spec in #report-data. */
const CLIENT = `(function () {
  "use strict";
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
  var STEP_INCRS = [];
  for (var e = 1; e <= 1e9; e *= 10) STEP_INCRS.push(e, 2 * e, 5 * e); // whole steps only
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var charts = {};
  window.report = { charts: charts };
  function fmt(v) {
    if (v == null || !isFinite(v)) return "";
    var a = Math.abs(v);
    if (Number.isInteger(v) && a < 1e7) return String(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? Number(v.toPrecision(3)).toExponential() : String(Number(v.toPrecision(4)));
  }
  function width(el) {
    return Math.max(320, Math.floor(el.clientWidth));
  }
  data.charts.forEach(function (c) {
    var el = document.getElementById("chart-" + c.id);
    var series = [{ label: "step" }].concat(c.series.map(function (s, i) {
      return {
        label: s.key,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        spanGaps: true,
        paths: c.log2 ? uPlot.paths.stepped({ align: 1 }) : undefined,
        points: s.points ? { show: true, size: 6 } : { show: false },
        value: function (u, v) { return fmt(v); }
      };
    }));
    var opts = {
      width: width(el),
      height: 260,
      scales: { x: { time: false }, y: c.log2 ? { distr: 3, log: 2 } : {} },
      axes: [
        { label: "step", incrs: STEP_INCRS },
        { size: 70, values: function (u, splits) { return splits.map(fmt); } }
      ],
      series: series
    };
    charts[c.id] = new uPlot(opts, [c.steps].concat(c.series.map(function (s) { return s.values; })), el);
    el.setAttribute("data-rendered", "true");
  });
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      var el = document.getElementById("chart-" + id);
      charts[id].setSize({ width: width(el), height: 260 });
    });
  });
})();`;

const STYLE = `body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 1100px; color: #222; }
h1 { font-size: 1.4rem; margin: 0.5rem 0; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.5rem; border-bottom: 1px solid #ddd; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; margin: 0.5rem 0; }
dl.summary dt { color: #555; }
dl.summary dd { margin: 0; }
.notes li { color: #8a5a00; }
figure.chart-box { margin: 1rem 0; }
figure.chart-box figcaption { font-weight: 600; margin-bottom: 0.25rem; }
.chart { width: 100%; }
table.data { border-collapse: collapse; width: 100%; }
table.data th, table.data td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
table.data th { background: #f4f4f4; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code.sample { white-space: pre-wrap; word-break: break-all; }
code.prompt { color: #666; }
tr.status-deleted td { color: #888; }
tr.status-deleted td.status { text-decoration: line-through; }
tr.status-incomplete td.status { color: #b00; }
tr.best td { font-weight: 600; }
.empty { color: #777; font-style: italic; }`;

function summaryHtml(summary: [string, string][]): string {
  if (summary.length === 0) return "";
  const rows = summary.map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`).join("\n");
  return `<dl class="summary">\n${rows}\n</dl>`;
}

function notesHtml(notes: string[]): string {
  if (notes.length === 0) return "";
  return `<ul class="notes" id="notes">\n${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("\n")}\n</ul>`;
}

function chartsHtml(charts: ChartSpec[]): string {
  if (charts.length === 0) return `<p class="empty">No training or evaluation metrics were logged yet.</p>`;
  return charts
    .map((c) => {
      const points: Record<string, number> = {};
      for (const s of c.series) points[s.key] = s.values.filter((v) => v !== null).length;
      const id = escapeHtml(c.id);
      return `<figure class="chart-box"><figcaption>${escapeHtml(c.title)}</figcaption><div class="chart" id="chart-${id}" data-chart="${id}" data-points="${escapeHtml(JSON.stringify(points))}"></div></figure>`;
    })
    .join("\n");
}

function samplesHtml(samples: SampleRow[]): string {
  if (samples.length === 0) return `<p class="empty">No generation samples were logged.</p>`;
  const rows = samples
    .map(
      (s) =>
        `<tr class="sample" data-step="${s.step}"><td class="num">${s.step}</td><td><code class="sample prompt">${escapeHtml(s.prompt)}</code></td><td><code class="sample text">${escapeHtml(s.text)}</code></td></tr>`,
    )
    .join("\n");
  return `<table class="data" id="samples">\n<thead><tr><th>Step</th><th>Prompt</th><th>Generated text</th></tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table>`;
}

function checkpointsHtml(checkpoints: CheckpointRow[]): string {
  if (checkpoints.length === 0) return `<p class="empty">No checkpoints were saved.</p>`;
  const rows = checkpoints
    .map((c) => {
      const classes = [`checkpoint`, `status-${c.status}`, ...(c.best ? ["best"] : [])].join(" ");
      return `<tr class="${classes}" data-step="${c.step}" data-status="${c.status}" data-best="${c.best}"><td class="num">${c.step}</td><td><code>${escapeHtml(c.name)}</code></td><td class="status">${c.status}</td><td>${c.best ? "best" : ""}</td><td>${escapeHtml(c.note)}</td></tr>`;
    })
    .join("\n");
  return `<table class="data" id="checkpoints">\n<thead><tr><th>Step</th><th>Folder</th><th>Status</th><th>Best</th><th>Note</th></tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table>`;
}

/** The whole page. */
export function buildReportHtml(data: ReportData, assets: ReportAssets): string {
  const title = `Training report: ${data.name}`;
  const chartData = { charts: data.charts.map((c) => ({ id: c.id, steps: c.steps, log2: c.log2, series: c.series })) };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="gen-trainer report">
<title>${escapeHtml(title)}</title>
<style>
${inlineStyle(assets.uplotCss.trim())}
</style>
<style>
${STYLE}
</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
${summaryHtml(data.summary)}
${notesHtml(data.notes)}
</header>
<section id="curves">
<h2>Curves</h2>
${chartsHtml(data.charts)}
</section>
<section id="samples-section">
<h2>Generation samples</h2>
${samplesHtml(data.samples)}
</section>
<section id="checkpoints-section">
<h2>Checkpoints</h2>
${checkpointsHtml(data.checkpoints)}
</section>
<script type="application/json" id="report-data">${scriptJson(chartData)}</script>
<script>
${inlineScript(assets.uplotJs.trim())}
</script>
<script>
${CLIENT}
</script>
</body>
</html>
`;
}
