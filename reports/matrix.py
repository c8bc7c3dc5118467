"""Build, validate, write and load the support-matrix document."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

SCHEMA_VERSION = 1

# Order matters: it is the display order of summaries and the legend.
STATUSES = ("certified", "failed", "xfail", "skipped", "crashed", "timeout")
STAGES = (
    "build", "capture", "translate", "check", "run",
    "compare", "io", "dynamic-axes", "shapes", "memory",
)
REQUIRED_KEYS = ("id", "library", "model_type", "exporter", "column", "task", "status")


def _validate(record: Any, index: int) -> None:
    if not isinstance(record, dict):
        raise ValueError(f"record #{index}: expected a dict, got {type(record).__name__}")
    rid = record.get("id") if isinstance(record.get("id"), str) else f"#{index}"
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(f"record {rid}: missing required key(s): {', '.join(missing)}")
    for key in REQUIRED_KEYS:  # all identify the cell, so all must be non-empty strings
        if not isinstance(record[key], str) or not record[key]:
            raise ValueError(f"record {rid}: {key!r} must be a non-empty string, got {record[key]!r}")
    if record["status"] not in STATUSES:
        raise ValueError(
            f"record {rid}: unknown status {record['status']!r} (expected one of {', '.join(STATUSES)})"
        )
    stage = record.get("stage")
    if stage is not None and stage not in STAGES:
        raise ValueError(f"record {rid}: unknown stage {stage!r} (expected one of {', '.join(STAGES)})")


def _counts(statuses: Iterable[str]) -> dict[str, int]:
    tally = Counter(statuses)
    # Always emit every status so consumers never need .get(status, 0).
    counts = {s: tally[s] for s in STATUSES}
    counts["total"] = sum(tally.values())
    return counts


def _grouped(cells: list[dict], key: str) -> dict[str, dict[str, int]]:
    groups: dict[str, list[str]] = {}
    for cell in cells:
        groups.setdefault(cell[key], []).append(cell["status"])
    return {name: _counts(groups[name]) for name in sorted(groups)}


def build_matrix(
    records: list[dict],
    *,
    versions: dict,
    generated_at: str | None = None,
    profile: str | None = None,
    seed: int | None = None,
    registry: dict | None = None,
    partial: dict | None = None,
) -> dict:
    """Validate certificate records and assemble the matrix document.

    ``registry`` (``{"fingerprint", "size"}``) names the registry the records were certified
    against; ``partial`` (``{"selection", "shard", "registry_ids"}``) marks the document of a
    filtered or sharded run, which only ``python -m reports merge`` turns into a matrix.

    Raises ValueError naming the offending record on a missing key, an
    unknown status/stage or a duplicate id.
    """
    seen: set[str] = set()
    slots: dict[tuple, str] = {}
    for index, record in enumerate(records):
        _validate(record, index)
        if record["id"] in seen:
            raise ValueError(f"record {record['id']}: duplicate id")
        seen.add(record["id"])
        # Two records in one table cell would silently hide one of them.
        slot = tuple(record[k] for k in ("library", "model_type", "column", "task"))
        if slot in slots:
            raise ValueError(f"record {record['id']}: same library/model_type/column/task as {slots[slot]}")
        slots[slot] = record["id"]

    cells = sorted((dict(r) for r in records), key=lambda r: r["id"])
    by_status = _counts(c["status"] for c in cells)
    by_status.pop("total")
    document = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at
        or datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "versions": dict(versions),
        "hypothesis_profile": profile,
        "seed": seed,
        "registry": dict(registry) if registry else None,
        **({"partial": dict(partial)} if partial is not None else {}),
        "summary": {
            "total": len(cells),
            "by_status": by_status,
            "by_library": _grouped(cells, "library"),
            "by_column": _grouped(cells, "column"),
        },
        "cells": cells,
    }
    return document


def _finite(obj: Any) -> Any:
    # NaN/Infinity are not JSON: a NaN max_abs_diff would make the file
    # unreadable for strict parsers and break JSON.parse in the page.
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def to_json(matrix: dict, *, indent: int | None = None) -> str:
    """Serialise strictly (non-finite floats become strings)."""
    return json.dumps(_finite(matrix), indent=indent, ensure_ascii=False, allow_nan=False)


def _atomic_write(path: Path, text: str) -> None:
    # Temp file in the same directory so os.replace is an atomic rename:
    # readers (and a web server) see either the old file or the new one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; published files must be world-readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_matrix(matrix: dict, out_dir: Path, *, basename: str = "support-matrix") -> tuple[Path, Path]:
    """Write ``<basename>.json`` and ``<basename>.html`` into out_dir atomically."""
    from reports.html import render_html  # local import: html imports this module

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / f"{basename}.json", out_dir / f"{basename}.html"
    # Render both before writing either, so a rendering bug cannot leave a
    # fresh JSON next to a stale HTML.
    json_text = to_json(matrix, indent=2) + "\n"
    html_text = render_html(matrix)
    _atomic_write(json_path, json_text)
    _atomic_write(html_path, html_text)
    return json_path, html_path


def load_matrix(path: str | os.PathLike) -> dict:
    """Read a matrix written by write_matrix, checking it is one."""
    with open(path, encoding="utf-8") as fh:
        matrix = json.load(fh)
    if not isinstance(matrix, dict) or "cells" not in matrix:
        raise ValueError(f"{path}: not a support matrix (no 'cells' key)")
    if matrix.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"{path}: unsupported schema_version {matrix.get('schema_version')!r} (expected {SCHEMA_VERSION})"
        )
    return matrix
