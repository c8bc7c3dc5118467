"""How much of what transformers backs a matrix covers: the (model type, task) pairs of the
Auto classes exportkit's tasks name, with a cell, and certified on at least one ONNX engine.

    python -m reports coverage [MATRIX.json] [--json]

The pairs are read from the installed transformers (its Auto mappings), so the figures hold
for the version the matrix was certified with; a different installed version is said.
A pair is counted by its base task: its ``-with-past`` cells are reported apart, as the model
types whose certified generation has neither a certified cached counterpart nor a declared
failure (xfail) saying why not.
"""

from __future__ import annotations

import collections
from typing import Iterable

from exportkit.tasks import normalize_model_type

WITH_PAST = "-with-past"
CACHED_TASKS = ("text-generation", "text2text-generation")


def _first_line(text: str | None, width: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def coverage(matrix: dict, pairs: Iterable[tuple[str, str]] | None = None) -> dict:
    """Coverage of ``pairs`` (``(model_type, task)``; default: every Auto-backed pair of the installed
    transformers) by the transformers cells of ``matrix``, as a JSON-ready dict."""
    if pairs is None:
        from exportkit.transformers_auto import auto_pairs

        pairs = [(model_type, task) for model_type, task, *_ in auto_pairs()]
    wanted = sorted({(normalize_model_type(model_type), task) for model_type, task in pairs})
    cells = [c for c in matrix["cells"] if c.get("library") == "transformers"]
    by_pair: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for cell in cells:
        by_pair[(normalize_model_type(cell["model_type"]), cell["task"])].append(cell)

    def certified(key) -> bool:
        return any(c["status"] == "certified" for c in by_pair.get(key, ()))

    per_task: dict[str, dict[str, int]] = {}
    for model_type, task in wanted:
        row = per_task.setdefault(task, {"pairs": 0, "with_cell": 0, "certified": 0})
        row["pairs"] += 1
        row["with_cell"] += (model_type, task) in by_pair
        row["certified"] += certified((model_type, task))
    per_engine = {}
    for cell in cells:
        if not cell["task"].endswith(WITH_PAST):
            row = per_engine.setdefault(cell["column"], collections.Counter())
            row[cell["status"]] += 1
    causes = collections.Counter(
        (c.get("stage") or "-", _first_line(c.get("reason") or c.get("error")))
        for c in cells if c["status"] != "certified")
    without_past = sorted(
        f"{model_type}/{task}" for model_type, task in wanted
        if task in CACHED_TASKS and certified((model_type, task))
        and not any(c["status"] in ("certified", "xfail") for c in by_pair.get((model_type, task + WITH_PAST), ())))
    wanted_set = set(wanted)
    outside = sorted({f"{t}/{k}" for t, k in by_pair if not k.endswith(WITH_PAST) and (t, k) not in wanted_set})
    total = len(wanted)
    with_cell = sum(row["with_cell"] for row in per_task.values())
    certified_pairs = sum(row["certified"] for row in per_task.values())
    return {
        "pairs": total,
        "with_cell": with_cell,
        "certified": certified_pairs,
        "with_cell_percent": round(100 * with_cell / total, 1) if total else 0.0,
        "certified_percent": round(100 * certified_pairs / total, 1) if total else 0.0,
        "model_types": len({t for t, _ in wanted}),
        "model_types_with_cell": len({t for t, k in wanted if (t, k) in by_pair}),
        "per_task": dict(sorted(per_task.items())),
        "per_engine": {column: dict(sorted(counts.items())) for column, counts in sorted(per_engine.items())},
        "commonest_causes": [{"stage": stage, "cause": cause, "cells": n} for (stage, cause), n in causes.most_common(10)],
        "certified_without_past": without_past,
        "cells_outside_auto_pairs": outside,
    }


def text_report(report: dict, *, drift: Iterable[str] = ()) -> list[str]:
    """``drift``: the installed packages the matrix saw another version of (``version_drift``)."""
    lines = [f"note: pairs read from {line}" for line in drift if line.startswith("transformers ")]
    lines.append(f"transformers Auto-backed pairs: {report['pairs']} over {report['model_types']} model types")
    lines.append(f"  with a cell:  {report['with_cell']:5d} ({report['with_cell_percent']}%), "
                 f"{report['model_types_with_cell']} model types")
    lines.append(f"  certified:    {report['certified']:5d} ({report['certified_percent']}%) on at least one engine")
    lines.append("")
    lines.append(f"  {'task':34s} {'pairs':>6s} {'cells':>6s} {'certified':>10s}")
    for task, row in report["per_task"].items():
        lines.append(f"  {task:34s} {row['pairs']:6d} {row['with_cell']:6d} {row['certified']:10d}")
    lines.append("")
    lines.append("cells by engine (base tasks):")
    for column, counts in report["per_engine"].items():
        lines.append(f"  {column}: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    if report["commonest_causes"]:
        lines.append("")
        lines.append("commonest causes of cells not certified:")
        for row in report["commonest_causes"]:
            lines.append(f"  {row['cells']:4d}  [{row['stage']}] {row['cause']}")
    if report["certified_without_past"]:
        lines.append("")
        lines.append(f"certified without a certified -with-past cell ({len(report['certified_without_past'])}):")
        lines.extend(f"  {name}" for name in report["certified_without_past"])
    return lines
