"""Render the support matrix as one self-contained HTML page.

Static parts (summary, legend, table) are rendered here with html.escape so
the page is readable without JavaScript; the inline script only adds the
filter and the details panel, reading the embedded matrix JSON and building
DOM nodes with textContent.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape

from reports.matrix import STATUSES, to_json

ABBREVIATIONS = {
    "certified": "ok",
    "failed": "fail",
    "xfail": "xfail",
    "skipped": "skip",
    "crashed": "crash",
    "timeout": "t/o",
}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _script_json(matrix: dict) -> str:
    # Inside <script> the HTML parser ends the element at "</script" and
    # treats "<!--" specially; "<", ">" and "&" only occur inside JSON
    # strings, where \u escapes are equivalent, so escaping them is lossless.
    return (
        to_json(matrix)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def _fmt_generated(stamp: str | None) -> str:
    if not stamp:
        return "unknown date"
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if when.tzinfo is None:  # the matrix stores UTC; treat a naive stamp as such
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _header(matrix: dict) -> str:
    versions = "".join(
        f'<li><span class="v-name">{_e(name)}</span> <span class="v-ver">{_e(ver)}</span></li>'
        for name, ver in sorted((matrix.get("versions") or {}).items())
    )
    profile = matrix.get("hypothesis_profile")
    profile_html = f' · hypothesis profile <code>{_e(profile)}</code>' if profile else ""
    stamp = matrix.get("generated_at") or ""
    partial = matrix.get("partial")
    partial_html = ""
    if isinstance(partial, dict):
        partial_html = (f'<p class="meta partial">A partial run ({_e(partial.get("selection") or "")}): '
                        f'{len(matrix.get("cells") or [])} of {len(partial.get("registry_ids") or [])} registered '
                        'cases. Not the published matrix.</p>')
    return f"""<header class="page-head">
  <div>
    <h1>exportkit support matrix</h1>
    <p class="meta">Generated <time datetime="{_e(stamp)}">{_e(_fmt_generated(stamp))}</time>{profile_html}</p>
    {partial_html}
  </div>
  <ul class="versions" aria-label="Library versions">{versions}</ul>
</header>"""


def _bar(counts: dict) -> str:
    total = counts.get("total") or 0
    if not total:
        return '<div class="bar"></div>'
    parts = "".join(
        f'<span class="s-{s}" style="width:{100 * counts[s] / total:.3f}%" title="{s}: {counts[s]}"></span>'
        for s in STATUSES
        if counts.get(s)
    )
    return f'<div class="bar">{parts}</div>'


def _breakdown(title: str, attr: str, groups: dict) -> str:
    head = "".join(
        f'<th scope="col" title="{s}"><span class="dot s-{s}"></span>{ABBREVIATIONS[s]}</th>' for s in STATUSES
    )
    rows = []
    for name, counts in groups.items():
        tds = "".join(
            f'<td class="num{"" if counts.get(s) else " zero"}" data-{attr}="{_e(name)}" '
            f'data-status="{s}">{counts.get(s, 0)}</td>'
            for s in STATUSES
        )
        rows.append(
            f'<tr><th scope="row">{_e(name)}{_bar(counts)}</th>{tds}'
            f'<td class="num total" data-{attr}="{_e(name)}" data-status="total">{counts.get("total", 0)}</td></tr>'
        )
    return f"""<div class="card breakdown">
  <h2>{_e(title)}</h2>
  <table><thead><tr><th></th>{head}<th scope="col">total</th></tr></thead>
  <tbody>{"".join(rows)}</tbody></table>
</div>"""


def _summary(summary: dict) -> str:
    by_status = summary["by_status"]
    total = summary["total"]
    certified_pct = f"{100 * by_status.get('certified', 0) / total:.0f}%" if total else "–"
    stats = "".join(
        f'<div class="stat"><span class="stat-n" data-count-status="{s}">{by_status.get(s, 0)}</span>'
        f'<span class="stat-label"><span class="dot s-{s}"></span>{s}</span></div>'
        for s in STATUSES
    )
    return f"""<section class="summary" aria-label="Summary">
  <div class="card overall">
    <div class="headline">
      <div><span class="big" data-count-total>{total}</span><span class="stat-label">certificates</span></div>
      <div><span class="big">{certified_pct}</span><span class="stat-label">certified</span></div>
    </div>
    {_bar({**by_status, "total": total})}
    <div class="stats">{stats}</div>
  </div>
  {_breakdown("By library", "count-library", summary["by_library"])}
  {_breakdown("By exporter / engine", "count-column", summary["by_column"])}
</section>"""


def _controls() -> str:
    legend = "".join(
        f'<label class="legend-item" title="show {s}"><input type="checkbox" value="{s}" checked>'
        f'<span class="chip s-{s}">{ABBREVIATIONS[s]}</span>{s}</label>'
        for s in STATUSES
    )
    return f"""<section class="controls">
  <input id="filter" type="search" placeholder="Filter by library, model, task or exporter…  (press /)"
         autocomplete="off" spellcheck="false" aria-label="Filter rows">
  <fieldset class="legend" id="legend"><legend class="sr-only">Status legend and filter</legend>{legend}</fieldset>
  <span id="visible-count" class="muted"></span>
</section>"""


def _what_ran(cell: dict) -> str:
    """One line of what a certificate tried: models, examples, masks, thresholds, memory."""
    parts = []
    variants = [v for v in cell.get("variants") or [] if isinstance(v, dict)]
    if variants:
        ran = sum(1 for v in variants if v.get("status") != "not run")
        parts.append(f"{ran} of {len(variants)} models (base + variants)")
    if cell.get("examples"):
        parts.append(f"{cell['examples']} examples")
    masks = cell.get("masks") or {}
    if isinstance(masks, dict) and masks:
        parts.append("masks " + ", ".join(str(kind) for kind in masks))
    thresholds = [t for t in cell.get("thresholds") or [] if isinstance(t, dict)]
    if thresholds:
        crossed = sum(1 for t in thresholds if t.get("below") and t.get("above"))
        parts.append(f"{crossed} of {len(thresholds)} thresholds crossed")
    peak = cell.get("peak_memory_bytes")
    if isinstance(peak, (int, float)):
        parts.append(f"peak {peak / 2**30:.1f} GiB")
    return "; ".join(parts)


def _cell(cell: dict, first: bool) -> str:
    status = cell["status"]
    tip = f"{cell['id']}\n{status}"
    if cell.get("stage"):
        tip += f" at {cell['stage']}"
    if cell.get("reason"):
        tip += f": {cell['reason']}"
    ran = _what_ran(cell)
    if ran:
        tip += f"\n{ran}"
    search = " ".join(str(cell[k]) for k in ("library", "model_type", "task", "column")).lower()
    return (
        f'<td class="cell{" task-start" if first else ""}" data-id="{_e(cell["id"])}" data-status="{status}" '
        f'data-search="{_e(search)}" title="{_e(tip)}" tabindex="0" role="button">'
        f'<span class="chip s-{status}">{ABBREVIATIONS[status]}</span></td>'
    )


def _table(cells: list[dict]) -> str:
    if not cells:
        return '<p class="card empty-state">No certificates were recorded.</p>'
    tasks = sorted({c["task"] for c in cells})
    present = {(c["task"], c["column"]) for c in cells}
    columns = sorted({c["column"] for c in cells})
    # Only the columns a task actually has, to keep the table narrow.
    task_columns = {t: [col for col in columns if (t, col) in present] for t in tasks}
    labels = {c["column"]: (c["exporter"], c.get("engine")) for c in cells}
    index = {(c["library"], c["model_type"], c["task"], c["column"]): c for c in cells}
    width = 1 + sum(len(cols) for cols in task_columns.values())

    top = "".join(
        f'<th scope="colgroup" colspan="{len(cols)}" class="task task-start">{_e(t)}</th>'
        for t, cols in task_columns.items()
    )
    sub = []
    for t, cols in task_columns.items():
        for i, col in enumerate(cols):
            exporter, engine = labels[col]
            text = (f'<span class="exp">{_e(exporter)}</span><span class="eng">{_e(engine)}</span>'
                    if engine else f'<span class="exp">{_e(col)}</span>')
            sub.append(f'<th scope="col" class="sub{" task-start" if i == 0 else ""}" '
                       f'data-column="{_e(col)}" title="{_e(col)}">{text}</th>')

    body = []
    models: dict[str, set[str]] = {}
    for c in cells:
        models.setdefault(c["library"], set()).add(c["model_type"])
    for library in sorted(models):
        body.append(f'<tr class="group" data-library="{_e(library)}">'
                    f'<th colspan="{width}" scope="rowgroup"><span>{_e(library)}</span></th></tr>')
        for model in sorted(models[library]):
            tds = []
            for t, cols in task_columns.items():
                for i, col in enumerate(cols):
                    cell = index.get((library, model, t, col))
                    tds.append(_cell(cell, i == 0) if cell else
                               f'<td class="blank{" task-start" if i == 0 else ""}"></td>')
            body.append(f'<tr class="model" data-library="{_e(library)}" data-model-type="{_e(model)}">'
                        f'<th scope="row" class="row-head">{_e(model)}</th>{"".join(tds)}</tr>')
    body.append(f'<tr id="no-match" hidden><td colspan="{width}">No rows match the filter.</td></tr>')
    return f"""<div class="table-wrap">
<table id="matrix">
  <thead>
    <tr><th rowspan="2" class="corner row-head" scope="col">model</th>{top}</tr>
    <tr>{"".join(sub)}</tr>
  </thead>
  <tbody>{"".join(body)}</tbody>
</table>
</div>"""


_DETAILS = """<aside id="details" hidden aria-labelledby="details-title">
  <div class="details-head">
    <span id="details-badge" class="chip"></span>
    <h2 id="details-title"></h2>
    <button type="button" id="details-close" aria-label="Close details">×</button>
  </div>
  <div id="details-body"></div>
</aside>"""


def render_html(matrix: dict) -> str:
    """Return the whole page as a string; it references no external resources."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>exportkit support matrix</title>
<link rel="icon" href="data:,">
<style>{_CSS}</style>
</head>
<body>
{_header(matrix)}
<main>
{_summary(matrix["summary"])}
{_controls()}
<noscript><p class="muted">Enable JavaScript to filter rows and open certificate details.</p></noscript>
{_table(matrix["cells"])}
</main>
{_DETAILS}
<script type="application/json" id="matrix-data">{_script_json(matrix)}</script>
<script>{_JS}</script>
</body>
</html>
"""


_CSS = """
:root {
  --bg: #f6f8fa; --card: #fff; --fg: #1f2328; --muted: #656d76; --line: #d8dee4; --soft: #eef1f4;
  --accent: #0969da;
  --certified: #1f883d; --failed: #cf222e; --xfail: #e3b341; --skipped: #afb8c1;
  --crashed: #6f2da8; --timeout: #e16f24;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
h1 { font-size: 22px; margin: 0; letter-spacing: -.01em; }
h2 { font-size: 13px; margin: 0 0 10px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.muted { color: var(--muted); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }

.s-certified { background: var(--certified); color: #fff; }
.s-failed    { background: var(--failed); color: #fff; }
.s-xfail     { background: var(--xfail); color: #3b2300; }
.s-skipped   { background: var(--skipped); color: #24292f; }
.s-crashed   { background: var(--crashed); color: #fff; }
.s-timeout   { background: var(--timeout); color: #fff; }

.page-head { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-end; justify-content: space-between;
  padding: 20px 28px 16px; background: var(--card); border-bottom: 1px solid var(--line); }
.meta { margin: 4px 0 0; color: var(--muted); }
.meta.partial { color: var(--failed); font-weight: 600; }
.meta code { background: var(--soft); padding: 1px 5px; border-radius: 4px; }
.versions { display: flex; flex-wrap: wrap; gap: 6px; list-style: none; margin: 0; padding: 0; }
.versions li { border: 1px solid var(--line); border-radius: 999px; padding: 2px 10px; font-size: 12px; background: var(--bg); }
.v-name { color: var(--muted); }
.v-ver { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, monospace; }

main { padding: 20px 28px 40px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; }
.summary { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
/* breakdown cards wrap onto their own line rather than squeezing their columns */
.summary > * { flex: 1 1 560px; min-width: 0; }
.summary > :first-child { flex: 0 0 300px; }
.breakdown { overflow-x: auto; }
.headline { display: flex; gap: 32px; margin-bottom: 12px; }
.headline > div { display: flex; flex-direction: column; }
.big { font-size: 30px; font-weight: 650; line-height: 1.1; font-variant-numeric: tabular-nums; }
.stats { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px 12px; margin-top: 14px; }
.stat { display: flex; flex-direction: column; }
.stat-n { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.stat-label { color: var(--muted); font-size: 12px; display: inline-flex; align-items: center; gap: 6px; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; flex: none; }
.bar { display: flex; height: 8px; border-radius: 4px; overflow: hidden; background: var(--soft); min-width: 80px; }
.bar > span { display: block; height: 100%; }
.breakdown table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
.breakdown th, .breakdown td { padding: 5px 6px; border-bottom: 1px solid var(--soft); white-space: nowrap; }
.breakdown thead th { font-weight: 500; font-size: 11px; color: var(--muted); text-align: right; }
.breakdown thead th .dot { margin-right: 4px; width: 7px; height: 7px; }
.breakdown tbody th { text-align: left; font-weight: 600; width: 40%; }
.breakdown tbody th .bar { margin-top: 4px; height: 5px; }
.breakdown tr:last-child > * { border-bottom: 0; }
.num { text-align: right; }
.nowrap { white-space: nowrap; }
.wrap { overflow-wrap: anywhere; }
.num.zero { color: #b4bcc5; }
.num.total { font-weight: 600; }

.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 18px; margin: 22px 0 12px; }
#filter { flex: 0 1 420px; min-width: 240px; padding: 8px 12px; border: 1px solid var(--line); border-radius: 8px;
  font: inherit; background: var(--card); }
#filter:focus { outline: 2px solid var(--accent); outline-offset: -1px; border-color: transparent; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; border: 0; margin: 0; padding: 0; }
.legend-item { display: inline-flex; align-items: center; gap: 6px; cursor: pointer; user-select: none; font-size: 13px; }
.legend-item input { margin: 0; accent-color: var(--accent); }
.legend-item:has(input:not(:checked)) { opacity: .45; }

.chip { display: inline-block; min-width: 44px; padding: 3px 6px; border-radius: 5px; text-align: center;
  font: 600 11px/1.2 ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, monospace; letter-spacing: .02em; }
.table-wrap { overflow: auto; max-height: calc(100vh - 40px); background: var(--card);
  border: 1px solid var(--line); border-radius: 10px; }
#matrix { border-collapse: separate; border-spacing: 0; min-width: 100%; }
#matrix th, #matrix td { border-bottom: 1px solid var(--soft); padding: 4px 5px; }
#matrix thead { position: sticky; top: 0; z-index: 3; }
#matrix thead th { background: #fafbfc; font-weight: 600; border-bottom: 1px solid var(--line); }
#matrix th.task { font-size: 12px; text-align: center; padding: 8px 8px 4px; border-bottom: 0; max-width: 180px; }
#matrix th.sub { font-size: 10.5px; font-weight: 500; color: var(--muted); text-align: center; line-height: 1.25;
  padding: 2px 6px 6px; }
#matrix th.sub span { display: block; }
#matrix th.sub .eng { color: var(--fg); }
#matrix .task-start { border-left: 1px solid var(--line); }
#matrix .row-head { position: sticky; left: 0; z-index: 2; background: var(--card); text-align: left;
  font-weight: 500; white-space: nowrap; padding: 4px 16px 4px 14px; border-right: 1px solid var(--line); }
#matrix thead .row-head { z-index: 4; background: #fafbfc; vertical-align: bottom; color: var(--muted);
  font-size: 11px; text-transform: uppercase; letter-spacing: .06em; }
#matrix tr.group th { background: var(--bg); text-align: left; font-size: 12px; font-weight: 650;
  text-transform: uppercase; letter-spacing: .06em; color: var(--muted); padding: 10px 14px 5px; }
/* a full-width colspan cell cannot stick, so its label does */
#matrix tr.group th span { position: sticky; left: 14px; }
#matrix td { text-align: center; }
#matrix td.cell { cursor: pointer; }
#matrix td.cell:hover .chip, #matrix td.cell:focus-visible .chip { box-shadow: 0 0 0 2px var(--fg); }
#matrix td.cell:focus { outline: none; }
#matrix td.cell.selected .chip { box-shadow: 0 0 0 2px var(--card), 0 0 0 4px var(--accent); }
#matrix td.cell.off .chip { opacity: .15; }
#matrix tbody tr.model:hover > * { background: #f6f8fa; }
#no-match td { padding: 24px; color: var(--muted); }
.empty-state { color: var(--muted); }

#details { position: fixed; top: 0; right: 0; bottom: 0; width: min(560px, 100vw); z-index: 10;
  background: var(--card); border-left: 1px solid var(--line); box-shadow: -12px 0 32px rgba(31, 35, 40, .14);
  overflow-y: auto; padding: 0 22px 28px; }
.details-head { position: sticky; top: 0; background: var(--card); display: flex; align-items: center; gap: 10px;
  padding: 16px 0 12px; border-bottom: 1px solid var(--line); z-index: 1; }
.details-head h2 { flex: 1; margin: 0; font: 600 13px/1.35 ui-monospace, SFMono-Regular, "DejaVu Sans Mono", monospace;
  color: var(--fg); text-transform: none; letter-spacing: 0; word-break: break-all; }
#details-close { border: 0; background: none; font-size: 22px; line-height: 1; cursor: pointer; color: var(--muted);
  padding: 4px 8px; border-radius: 6px; }
#details-close:hover { background: var(--soft); color: var(--fg); }
.d-section { margin-top: 18px; }
.d-section h3 { margin: 0 0 6px; font-size: 11px; text-transform: uppercase; letter-spacing: .07em; color: var(--muted); }
.kv { display: grid; grid-template-columns: 150px 1fr; gap: 4px 12px; margin: 0; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; overflow-wrap: anywhere; }
#details pre { margin: 0; padding: 10px 12px; background: #f6f8fa; border: 1px solid var(--soft); border-radius: 6px;
  font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto; }
#details pre.error { background: #fff5f5; border-color: #ffd8d8; }
.d-table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.d-table th, .d-table td { padding: 4px 8px; border-bottom: 1px solid var(--soft); text-align: right; }
.d-table th:first-child, .d-table td:first-child { text-align: left; }
.d-table thead th { font-weight: 500; color: var(--muted); font-size: 12px; }
.pass { color: var(--certified); font-weight: 600; }
.fail { color: var(--failed); font-weight: 600; }
.shapes { margin: 0; padding-left: 18px; }
.shapes li.minimal { color: var(--failed); font-weight: 600; }
.repro { position: relative; }
.repro pre { padding-right: 70px !important; }
.copy { position: absolute; top: 6px; right: 6px; font: inherit; font-size: 12px; padding: 3px 10px; cursor: pointer;
  border: 1px solid var(--line); border-radius: 6px; background: var(--card); }
.copy:hover { border-color: var(--accent); color: var(--accent); }
"""

_JS = r"""
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('matrix-data').textContent);
  const byId = new Map(data.cells.map((c) => [c.id, c]));
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  const DASH = '\u2014';

  // Every string goes in via append()/textContent, so record data is never parsed as HTML.
  function el(tag, cls, ...children) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  const show = (v) => (v === null || v === undefined || v === '' ? DASH : String(v));
  const fmtNum = (v) => {
    if (typeof v !== 'number') return show(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(+v.toPrecision(4));
  };
  const fmtSeconds = (v) => (typeof v === 'number' ? v.toFixed(2) + ' s' : DASH);
  const fmtBytes = (b) => {
    if (typeof b !== 'number') return DASH;
    const units = ['bytes', 'KiB', 'MiB', 'GiB'];
    let n = b, i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return i ? `${n.toFixed(1)} ${units[i]} (${b.toLocaleString('en')} bytes)` : `${b} bytes`;
  };
  const fmtShape = (s) => (s && typeof s === 'object'
    ? Object.entries(s).map(([k, v]) => `${k}=${v}`).join(', ') : DASH);
  const sameShape = (a, b) => !!a && !!b && JSON.stringify(a) === JSON.stringify(b);

  function kv(rows) {
    const dl = el('dl', 'kv');
    for (const [key, value] of rows) dl.append(el('dt', null, key), el('dd', null, value instanceof Node ? value : show(value)));
    return dl;
  }
  const section = (title, ...content) => el('section', 'd-section', el('h3', null, title), ...content);

  function outputsTable(outputs) {
    const names = Object.keys(outputs || {});
    if (!names.length) return el('p', 'muted', 'No outputs were compared.');
    const head = el('tr', null, ...['output', 'max |diff|', 'atol', ''].map((h) => el('th', null, h)));
    const body = el('tbody');
    for (const name of names) {
      const o = outputs[name] || {};
      const ok = typeof o.max_abs_diff === 'number' && typeof o.atol === 'number' ? o.max_abs_diff <= o.atol : null;
      const label = o.skipped_positions
        ? el('td', 'mono wrap', name, el('div', 'muted', `${o.skipped_positions.toLocaleString('en')} undefined padded values not compared`))
        : el('td', 'mono wrap', name);
      body.append(el('tr', null, label, el('td', 'num nowrap', fmtNum(o.max_abs_diff)),
        el('td', 'num nowrap', fmtNum(o.atol)),
        el('td', ok === null ? 'muted' : ok ? 'pass' : 'fail', ok === null ? DASH : ok ? '\u2713' : '\u2717')));
    }
    return el('table', 'd-table', el('thead', null, head), body);
  }

  function variantsTable(variants) {
    if (!variants || !variants.length) return el('p', 'muted', 'No variants were recorded.');
    const head = el('tr', null, ...['model', 'status', 'stage', 'examples'].map((h) => el('th', null, h)));
    const body = el('tbody');
    for (const v of variants) {
      const row = el('tr', null, el('td', 'mono wrap', show(v.name)),
        el('td', v.status === 'certified' ? 'pass' : (v.status === 'not run' ? 'muted' : 'fail'), show(v.status)),
        el('td', 'mono', show(v.stage)), el('td', 'num', show(v.examples)));
      body.append(row);
      if (v.reason) body.append(el('tr', null, Object.assign(el('td', 'muted wrap', v.reason), { colSpan: 4 })));
    }
    return el('table', 'd-table', el('thead', null, head), body);
  }

  function thresholdsList(thresholds) {
    if (!thresholds || !thresholds.length) return DASH;
    return el('ul', 'shapes', ...thresholds.map((t) => {
      const crossed = t.below && t.above;
      const sides = crossed ? 'crossed' : (t.below ? 'only sizes at or below tried' : 'only sizes above tried');
      return el('li', crossed ? 'mono' : 'mono fail', `${t.field}=${t.value} on ${(t.axes || []).join(', ')}: ${sides}`);
    }));
  }

  const fmtCounts = (counts) => (counts && Object.keys(counts).length
    ? Object.entries(counts).map(([k, v]) => `${k} \u00d7${v}`).join(', ') : DASH);

  function paddingPolicy(p) {
    if (!p) return DASH;
    const skipped = (p.not_compared_after || []).length
      ? `; outputs at padded positions not compared after ${p.not_compared_after.join(', ')} padding` : '';
    return `padded on the ${(p.sides || []).join(' or ')}${skipped}`;
  }

  function shapesList(c) {
    const tried = c.shapes_tried || [];
    if (!tried.length) return DASH;
    return el('ol', 'shapes', ...tried.map((s) =>
      el('li', sameShape(s, c.minimal_failing_shape) ? 'minimal mono' : 'mono', fmtShape(s))));
  }

  function reproduce(cmd) {
    if (!cmd) return el('p', 'muted', DASH);
    const code = el('code', null, cmd);
    const button = el('button', 'copy', 'Copy');
    button.type = 'button';
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(cmd);
        button.textContent = 'Copied';
      } catch (_) {
        // Clipboard API can be unavailable (permissions, old browsers):
        // select the text so Ctrl+C works instead.
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        button.textContent = 'Ctrl+C';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    });
    return el('div', 'repro', el('pre', null, code), button);
  }

  const panel = $('#details');
  function openDetails(id, updateHash = true) {
    const c = byId.get(id);
    if (!c) return;
    const badge = $('#details-badge');
    badge.className = 'chip s-' + c.status;
    badge.textContent = c.status;
    $('#details-title').textContent = c.id;
    $('#details-body').replaceChildren(...[
      section('Result', kv([['Status', c.status], ['Failing stage', c.stage], ['Reason', c.reason]])),
      c.error ? section('Error', el('pre', 'error', c.error)) : null,
      section('Outputs', outputsTable(c.outputs)),
      section('Variants', variantsTable(c.variants)),
      section('Inputs', kv([['Examples', c.examples], ['Masks', fmtCounts(c.masks)],
        ['Padding', paddingPolicy(c.padding)], ['Thresholds', thresholdsList(c.thresholds)],
        ['Largest input', c.largest_input
          ? el('span', 'mono', `${fmtShape(c.largest_input.example)} (${c.largest_input.elements.toLocaleString('en')} elements)`)
          : DASH],
        ['Example budget', typeof c.example_budget === 'number'
          ? `${c.example_budget.toLocaleString('en')} input elements` : DASH],
        ['Minimal failing', c.minimal_failing_shape ? el('span', 'mono', fmtShape(c.minimal_failing_shape)) : DASH],
        ['Tried (base model)', shapesList(c)]])),
      section('Memory', kv([['Peak resident', fmtBytes(c.peak_memory_bytes)],
        ['Growth during the case', fmtBytes(c.memory_growth_bytes)], ['Budget', fmtBytes(c.memory_budget_bytes)]])),
      section('Export', kv([['Library', c.library], ['Model type', c.model_type], ['Task', c.task],
        ['Exporter', c.exporter], ['Engine', c.engine], ['Opset', c.opset],
        ['Export time', fmtSeconds(c.export_seconds)], ['Artefact size', fmtBytes(c.artefact_bytes)],
        ['Test duration', fmtSeconds(c.duration_seconds)]])),
      section('Reproduce', reproduce(c.reproduce), kv([['Seed', c.seed], ['Hypothesis profile', c.hypothesis_profile],
        ['Registered at', c.registered_at ? el('span', 'mono', c.registered_at) : DASH]])),
      section('Versions', kv(Object.entries(c.versions || {}).map(([k, v]) => [k, el('span', 'mono', show(v))]))),
    ].filter(Boolean));
    $$('td.cell.selected').forEach((td) => td.classList.remove('selected'));
    $$('td.cell').filter((td) => td.dataset.id === id).forEach((td) => td.classList.add('selected'));
    panel.hidden = false;
    panel.scrollTop = 0;
    if (updateHash) {
      try { history.replaceState(null, '', '#' + encodeURIComponent(id)); } catch (_) { /* e.g. sandboxed file:// */ }
    }
  }
  function closeDetails() {
    panel.hidden = true;
    $$('td.cell.selected').forEach((td) => td.classList.remove('selected'));
    try { history.replaceState(null, '', location.pathname + location.search); } catch (_) { /* ignore */ }
  }

  const table = $('#matrix');
  if (table) {
    table.addEventListener('click', (ev) => {
      const td = ev.target.closest('td.cell');
      if (td) openDetails(td.dataset.id);
    });
    table.addEventListener('keydown', (ev) => {
      const td = ev.target.closest('td.cell');
      if (td && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); openDetails(td.dataset.id); }
    });
  }
  $('#details-close').addEventListener('click', closeDetails);

  // Filtering works per cell: a cell matches when every search term occurs in its
  // library/model/task/column text and its status is ticked; rows without a
  // matching cell are hidden, and non-matching cells in visible rows are dimmed.
  const filter = $('#filter');
  const rows = $$('#matrix tr.model');
  function applyFilters() {
    const terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const statuses = new Set($$('#legend input:checked').map((i) => i.value));
    let visible = 0;
    for (const row of rows) {
      let any = false;
      for (const td of row.querySelectorAll('td.cell')) {
        const on = statuses.has(td.dataset.status) && terms.every((t) => td.dataset.search.includes(t));
        td.classList.toggle('off', !on);
        any = any || on;
      }
      row.hidden = !any;
      if (any) visible += 1;
    }
    for (const group of $$('#matrix tr.group')) {
      group.hidden = !rows.some((r) => !r.hidden && r.dataset.library === group.dataset.library);
    }
    const noMatch = $('#no-match');
    if (noMatch) noMatch.hidden = visible > 0;
    $('#visible-count').textContent = `${visible} of ${rows.length} models`;
  }
  filter.addEventListener('input', applyFilters);
  $$('#legend input').forEach((i) => i.addEventListener('change', applyFilters));

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !panel.hidden) closeDetails();
    else if (ev.key === '/' && document.activeElement !== filter) { ev.preventDefault(); filter.focus(); }
  });

  applyFilters();
  try {
    const initial = decodeURIComponent(location.hash.slice(1));  // deep link to a certificate
    if (byId.has(initial)) openDetails(initial, false);
  } catch (_) { /* malformed hash: ignore */ }
  window.__matrixReady = true;
})();
"""
