"""Render the support matrix as one self-contained HTML page.

The summary, legend and the table's header are rendered here with html.escape,
so the counts read without JavaScript. The rows come from the embedded matrix
JSON: the page's script (``page.js``, inlined with ``page.css``) builds only the
rows in view, filters, and opens certificates, building DOM nodes with
textContent. The page references nothing outside itself and works from file://.

Rendered with a :class:`~reports.diff.MatrixDiff`, the page opens with a "Changes since"
section (rendered here too, escaped); the diff is part of the page only, never of the
matrix JSON, so the embedded matrix stays exactly what ``load_matrix`` reads.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import cache
from html import escape
from importlib import resources
from urllib.parse import quote

from reports.diff import SECTIONS, Change, MatrixDiff, plural, summary
from reports.matrix import STATUSES, commit_counts, compact, short_commit, to_json

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
        to_json(compact(matrix))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


@cache
def _asset(name: str) -> str:
    """``page.css`` or ``page.js``, shipped beside this module."""
    return resources.files("reports").joinpath(name).read_text(encoding="utf-8")


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
    {_commits(matrix.get("cells") or [])}
    {partial_html}
  </div>
  <ul class="versions" aria-label="Library versions">{versions}</ul>
</header>"""


def _commits(cells: list[dict]) -> str:
    """At which commits of the code the cells were measured: short hashes with their counts."""
    if not cells:
        return ""
    counts = commit_counts(cells)
    unknown = len(cells) - sum(counts.values())
    parts = []
    if counts:
        measured = ", ".join(
            f'<code class="commit" title="{_e(commit)}">{_e(short_commit(commit))}</code> '
            f'<span data-commit-count="{_e(commit)}">({_cells(n)})</span>' for commit, n in counts.items())
        parts.append(f'Cells measured at {"commit" if len(counts) == 1 else "commits"} {measured}')
    if unknown:
        parts.append(f'<span data-commit-count="">{_cells(unknown)}</span> of no recorded commit')
    return f'<p class="meta commits">{"; ".join(parts)}</p>'


def _cells(n: int) -> str:
    return f"{n:,} {'cell' if n == 1 else 'cells'}"


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


def _chip(outcome) -> str:
    if outcome is None:
        return '<span class="muted">\u2014</span>'
    status = _e(outcome.status)
    return f'<span class="chip s-{status}" title="{status}">{_e(ABBREVIATIONS[outcome.status])}</span>'


def _change_row(change: Change, ids: set[str]) -> str:
    # A cell the page holds links to its certificate (page.js opens it on the hash change).
    name = (f'<a class="mono" href="#{_e(quote(change.id, safe=""))}">{_e(change.id)}</a>' if change.id in ids
            else f'<span class="mono">{_e(change.id)}</span>')
    now = change.new or change.old
    cause = _e(now.cause()) if now.status != "certified" else ""
    if change.old and change.new and change.old.status != "certified" and change.old.cause() != change.new.cause():
        cause += f'<div class="muted">was {_e(change.old.cause() or "no stage or reason")}</div>'
    return (f'<tr><td class="wrap">{name}</td><td>{_chip(change.old)}</td><td>{_chip(change.new)}</td>'
            f'<td class="wrap">{cause}</td></tr>')


def _changes(diff: MatrixDiff, cells: list[dict]) -> str:
    """The "Changes since <baseline>" section: a group per kind of change, regressions open."""
    ids = {cell["id"] for cell in cells}
    groups = []
    for name, heading in SECTIONS:
        changes = getattr(diff, name)
        if not changes:
            continue
        rows = "".join(_change_row(change, ids) for change in changes)
        opened = " open" if name in ("regressions", "new") else ""
        groups.append(
            f'<details class="changes-group" data-kind="{name}"{opened}><summary>{_e(heading)} '
            f'<span class="count" data-change-count="{name}">{len(changes)}</span></summary>'
            '<table class="d-table"><thead><tr><th>cell</th><th>before</th><th>now</th><th>stage: reason</th></tr>'
            f'</thead><tbody>{rows}</tbody></table></details>')
    meta = (f'<p class="meta">The baseline was generated {_e(_fmt_generated(diff.baseline_generated_at))}.</p>'
            if diff.baseline_generated_at else "")
    if diff.compared is not None:
        meta += (f'<p class="meta">A partial run speaks for its own cells only: '
                 f'{plural(diff.compared, "cell")} compared.</p>')
    verdict_class = "verdict fail" if diff.blocking else "verdict pass"
    body = "".join(groups) or '<p class="muted">No cell changed.</p>'
    return f"""<section class="card changes" id="changes" aria-labelledby="changes-title">
  <h2 id="changes-title">Changes since <span class="mono">{_e(diff.baseline)}</span></h2>
  {meta}
  <p class="{verdict_class}" data-verdict>{_e(summary(diff))}; {plural(diff.unchanged, 'cell')} unchanged</p>
  {body}
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


def _table(cells: list[dict]) -> str:
    """The table's header (a column per task and engine present); the script adds the rows in view."""
    if not cells:
        return '<p class="card empty-state">No certificates were recorded.</p>'
    tasks = sorted({c["task"] for c in cells})
    present = {(c["task"], c["column"]) for c in cells}
    columns = sorted({c["column"] for c in cells})
    # Only the columns a task actually has, to keep the table narrow.
    task_columns = {t: [col for col in columns if (t, col) in present] for t in tasks}
    labels = {c["column"]: (c["exporter"], c.get("engine")) for c in cells}
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
            sub.append(f'<th scope="col" class="sub{" task-start" if i == 0 else ""}" data-task="{_e(t)}" '
                       f'data-column="{_e(col)}" title="{_e(col)}">{text}</th>')
    return f"""<div class="table-wrap">
<table id="matrix">
  <thead>
    <tr><th rowspan="2" class="corner row-head" scope="col">model</th>{top}</tr>
    <tr>{"".join(sub)}</tr>
  </thead>
  <tbody><tr id="no-match" hidden><td colspan="{width}">No rows match the filter.</td></tr></tbody>
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


def render_html(matrix: dict, diff: MatrixDiff | None = None) -> str:
    """Return the whole page as a string; it references no external resources. With ``diff``
    (this matrix compared with a baseline), the page shows what changed first."""
    abbreviations = _e(json.dumps(ABBREVIATIONS))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>exportkit support matrix</title>
<link rel="icon" href="data:,">
<style>{_asset("page.css")}</style>
</head>
<body>
{_header(matrix)}
<main>
{_changes(diff, matrix["cells"]) if diff is not None else ""}
{_summary(matrix["summary"])}
{_controls()}
<noscript><p class="muted">Enable JavaScript to see the table, filter it and open certificate details.</p></noscript>
{_table(matrix["cells"])}
</main>
{_DETAILS}
<script type="application/json" id="matrix-data" data-abbreviations="{abbreviations}">{_script_json(matrix)}</script>
<script>{_asset("page.js")}</script>
</body>
</html>
"""
