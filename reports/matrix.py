"""Build, validate, write and load the support-matrix document."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

SCHEMA_VERSION = 4  # 2: examples interned, what every cell shares stored once (compact / expand); 3: error lines;
# 4: the commit of the code that measured each cell (older files load with commit None), counted in ``commits``

# Order matters: it is the display order of summaries and the legend.
STATUSES = ("certified", "failed", "xfail", "skipped", "crashed", "timeout")
STAGES = (
    "build", "capture", "translate", "check", "run",
    "compare", "io", "dynamic-axes", "shapes", "memory",
)
REQUIRED_KEYS = ("id", "library", "model_type", "exporter", "column", "task", "status")


# The reason of a cell a session selected and ended before running (Ctrl-C, -x): nothing was measured.
NOT_RUN_REASON = "not run: the session ended before this case ran"

# Fields a reader prints or renders beside the identifying ones: a string (or null) each.
TEXT_KEYS = ("stage", "reason", "error", "engine", "reproduce", "registered_at", "commit")

# A cell's ``commit``: the git commit of the conformance code that measured it, ``+dirty`` when that
# checkout had uncommitted changes to tracked files; None when it is not known.
COMMIT = re.compile(r"[0-9a-f]{40}(\+dirty)?")
_COMMITTED = re.compile(r"[0-9a-f]{40}")


def is_published_commit(commit: Any) -> bool:
    """Whether ``commit`` names committed code: 40 hex digits, not ``+dirty``, not None."""
    return isinstance(commit, str) and _COMMITTED.fullmatch(commit) is not None


def short_commit(commit: str) -> str:
    """``commit`` as people read it: its first 7 hex digits (and ``+dirty``)."""
    return commit[:7] + ("+dirty" if commit.endswith("+dirty") else "")


def printable(text: str) -> str:
    """``text`` safe to print to a terminal: control characters (escape codes, bells, line
    breaks) from a matrix become visible ``\\x..`` escapes instead of acting on the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


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
    for key in TEXT_KEYS:
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ValueError(f"record {rid}: {key!r} must be a string or null, got {type(record[key]).__name__}")
    stage = record.get("stage")
    if stage is not None and stage not in STAGES:
        raise ValueError(f"record {rid}: unknown stage {stage!r} (expected one of {', '.join(STAGES)})")
    commit = record.get("commit")
    if commit is not None and not COMMIT.fullmatch(commit):
        raise ValueError(f"record {rid}: 'commit' must be 40 hex digits (and '+dirty') or null, got {commit!r}")


def _counts(statuses: Iterable[str]) -> dict[str, int]:
    tally = Counter(statuses)
    # Always emit every status so consumers never need .get(status, 0).
    counts = {s: tally[s] for s in STATUSES}
    counts["total"] = sum(tally.values())
    return counts


def commit_counts(cells: Iterable[dict]) -> dict[str, int]:
    """How many cells each commit measured, the most first; cells of no known commit are not counted."""
    tally = Counter(cell.get("commit") for cell in cells if cell.get("commit") is not None)
    return dict(sorted(tally.items(), key=lambda item: (-item[1], item[0])))


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
    filtered or sharded run, which only ``python -m reports merge`` turns into a matrix. Every
    cell has a ``commit`` (None when its record named none); ``commits`` counts the cells of each.

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

    cells = sorted(({"commit": None, **r} for r in records), key=lambda r: r["id"])
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
        "commits": commit_counts(cells),
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
    separators = None if indent is not None else (",", ":")
    return json.dumps(_finite(matrix), indent=indent, ensure_ascii=False, allow_nan=False, separators=separators)


# ---- compact storage: every certificate kept, each distinct value stored once --------------------
#
# A stored matrix holds its cells as rows of one list of ``fields``. Each distinct example a cell
# tried is stored once in ``examples`` and referred to by index; so is each distinct value of a
# field listed in ``interned`` (strings, lists and objects: library and task names, versions,
# variant and threshold records...), in ``values``. A cell's ``reproduce`` command that follows the
# document's ``reproduce_template`` is left out. :func:`expand` gives every cell back whole.

NOT_INTERNED = frozenset({"id", "reason", "error"})  # unique per cell: an index would only add
# A failing cell's error text is stored to its last characters (the raising frames and the error
# itself); its reproduce command gives the whole traceback back. Its lines are stored once each
# in ``error_lines`` (tracebacks share most of their frames) and the error as their indices.
ERROR_TEXT_LIMIT = 1500


def stored_error_text(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_LIMIT else "...\n" + text[-ERROR_TEXT_LIMIT:]


def _example_paths(cell: dict):
    """Yield (container, key) of every example a cell holds (the shapes it tried, its minimal failing one...)."""
    if isinstance(cell.get("shapes_tried"), list):
        for index in range(len(cell["shapes_tried"])):
            yield cell["shapes_tried"], index
    yield cell, "minimal_failing_shape"
    if isinstance(cell.get("largest_input"), dict):
        yield cell["largest_input"], "example"
    for run in cell.get("variants") or []:
        if isinstance(run, dict):
            yield run, "minimal_failing_shape"


class _Table:
    """Distinct JSON values, each stored once, by first appearance."""

    def __init__(self):
        self.values: list = []
        self._index: dict[str, int] = {}

    def add(self, value) -> int:
        key = json.dumps(value, sort_keys=True)
        if key not in self._index:
            self._index[key] = len(self.values)
            self.values.append(value)
        return self._index[key]


def _reproduce_template(cells: list[dict]) -> str | None:
    for cell in cells:
        command = cell.get("reproduce")
        if isinstance(command, str) and cell["id"] in command:
            return command.replace(cell["id"], "{id}", 1)
    return None


def compact(matrix: dict) -> dict:
    """The matrix as stored (see above)."""
    document = {key: value for key, value in matrix.items() if key != "cells"}
    examples, values, error_lines = _Table(), _Table(), _Table()
    template = _reproduce_template(matrix["cells"])
    cells = []
    for cell in matrix["cells"]:
        cell = json.loads(json.dumps(cell))  # a deep copy the interning may change
        for container, key in _example_paths(cell):
            value = container[key] if isinstance(container, list) else container.get(key)
            if isinstance(value, dict):
                container[key] = examples.add(value)
        if isinstance(cell.get("error"), str):
            cell["error"] = [error_lines.add(line) for line in stored_error_text(cell["error"]).split("\n")]
        if template is not None and cell.get("reproduce") == template.replace("{id}", cell["id"], 1):
            del cell["reproduce"]
        cells.append(cell)
    fields = sorted({key for cell in cells for key in cell}, key=lambda k: (k != "id", k))
    interned = [field for field in fields if field not in NOT_INTERNED and any(
        isinstance(cell.get(field), (str, list, dict)) for cell in cells)]
    rows = []
    for cell in cells:
        row = []
        for field in fields:
            value = cell.get(field, _MISSING)
            if value is _MISSING:
                row.append(_MISSING_MARK)
            elif field in interned:
                row.append(values.add(value))
            else:
                row.append(value)
        rows.append(row)
    document.update(examples=examples.values, values=values.values, interned=interned, fields=fields,
                    reproduce_template=template, error_lines=error_lines.values, rows=rows)
    return document


_MISSING = object()
_MISSING_MARK = {"missing": True}  # a field this cell does not have (rows are positional)


def expand(document: dict) -> dict:
    """The inverse of :func:`compact`: every cell whole again."""
    try:
        examples, values = document["examples"], document["values"]
        fields, interned, rows = document["fields"], set(document["interned"]), document["rows"]
    except KeyError as missing:
        raise ValueError(f"not a compact support matrix: no {missing}") from None
    template = document.get("reproduce_template")
    error_lines = document.get("error_lines", [])
    matrix = {key: value for key, value in document.items()
              if key not in ("examples", "values", "interned", "fields", "reproduce_template", "error_lines", "rows")}
    cells = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(fields):
            raise ValueError(f"a row of {len(row) if isinstance(row, list) else '?'} values for {len(fields)} fields")
        cell = {}
        for field, value in zip(fields, row):
            if value == _MISSING_MARK:
                continue
            if field in interned:
                if not isinstance(value, int) or not 0 <= value < len(values):
                    raise ValueError(f"field {field!r} refers to value {value!r}, which is not stored")
                value = json.loads(json.dumps(values[value]))  # every cell its own copy
            cell[field] = value
        if isinstance(cell.get("error"), list):
            if not all(isinstance(i, int) and 0 <= i < len(error_lines) for i in cell["error"]):
                raise ValueError(f"cell {cell.get('id')!r} refers to error lines that are not stored")
            cell["error"] = "\n".join(error_lines[i] for i in cell["error"])
        for container, key in _example_paths(cell):
            value = container[key] if isinstance(container, list) else container.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                if not 0 <= value < len(examples):
                    raise ValueError(f"cell {cell.get('id')!r} refers to example {value}, which is not stored")
                container[key] = examples[value]
        if "reproduce" not in cell and template is not None and "id" in cell:
            cell["reproduce"] = template.replace("{id}", cell["id"], 1)
        cells.append(cell)
    matrix["cells"] = cells
    return matrix


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


def write_matrix(matrix: dict, out_dir: Path, *, basename: str = "support-matrix",
                 diff=None) -> tuple[Path, Path]:
    """Write ``<basename>.json`` and ``<basename>.html`` into out_dir atomically. A
    :class:`~reports.diff.MatrixDiff` shows on the page only; the JSON is the matrix alone."""
    from reports.html import render_html  # local import: html imports this module

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / f"{basename}.json", out_dir / f"{basename}.html"
    # Render both before writing either, so a rendering bug cannot leave a
    # fresh JSON next to a stale HTML.
    json_text = to_json(compact(matrix)) + "\n"
    html_text = render_html(matrix) if diff is None else render_html(matrix, diff=diff)
    _atomic_write(json_path, json_text)
    _atomic_write(html_path, html_text)
    return json_path, html_path


def read_json_file(path: str | os.PathLike) -> Any:
    """The JSON document in a regular file; ValueError (naming the file) for anything else.
    A FIFO or a directory is refused before it is opened: reading a FIFO would block."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file" if path.exists() else f"{path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read it: {error.strerror or error}") from None


def load_matrix(path: str | os.PathLike) -> dict:
    """Read a matrix written by write_matrix, checking it is one, with every cell whole and
    every field a reader prints of the type it expects."""
    matrix = read_json_file(path)
    if not isinstance(matrix, dict) or not isinstance(matrix.get("rows", matrix.get("cells")), list):
        raise ValueError(f"{path}: not a support matrix (no 'rows' or 'cells' list)")
    version = matrix.get("schema_version")
    if version not in (1, 2, 3, SCHEMA_VERSION):
        raise ValueError(f"{path}: unsupported schema_version {version!r} (expected {SCHEMA_VERSION})")
    if "rows" in matrix:  # stored compact
        try:
            matrix = expand(matrix)
        except (TypeError, KeyError, IndexError, AttributeError) as error:
            raise ValueError(f"{path}: malformed compact matrix ({type(error).__name__}: {error})") from None
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    for key in ("versions",):
        if matrix.get(key) is not None and not isinstance(matrix[key], dict):
            raise ValueError(f"{path}: {key!r} must be an object")
    for index, cell in enumerate(matrix["cells"]):
        try:
            _validate(cell, index)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        cell.setdefault("commit", None)  # written before cells named their commit (schema 3 and older)
    if "commits" not in matrix:
        matrix["commits"] = commit_counts(matrix["cells"])
    return matrix


# ---- what `python -m reports` and the certifier's --baseline are given ---------------------------------

def _read_records_jsonl(path: Path) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
    return records


def _matrix_from_records(records: list[dict]) -> dict:
    # A JSONL of records carries no run-level metadata: derive it from the
    # records (first value wins; the profile only when all records agree).
    versions: dict = {}
    for record in records:
        if isinstance(record, dict):
            for name, version in (record.get("versions") or {}).items():
                versions.setdefault(name, version)
    profiles = {r.get("hypothesis_profile") for r in records if isinstance(r, dict)}
    return build_matrix(records, versions=versions, profile=profiles.pop() if len(profiles) == 1 else None)


def load_input(path: Path) -> dict:
    """Build a validated matrix from a JSONL of records, a JSON list of records or a matrix JSON.
    A ValueError names the file: a command may read two."""
    try:
        return _load_input(Path(path))
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def _load_input(path: Path) -> dict:
    if not path.is_file():  # a directory, or a FIFO that would block the reader
        raise ValueError(f"{path}: not a regular file" if path.exists() else f"{path}: no such file")
    if path.suffix in (".jsonl", ".ndjson"):
        return _matrix_from_records(_read_records_jsonl(path))
    doc = read_json_file(path)
    if isinstance(doc, list):
        return _matrix_from_records(doc)
    if isinstance(doc, dict) and isinstance(doc.get("rows"), list):
        doc = load_matrix(path)  # a stored (compact) matrix, checked as it is expanded
    if isinstance(doc, dict) and isinstance(doc.get("cells"), list):
        # Rebuild rather than trust the stored summary, so a hand-edited matrix is re-checked.
        return build_matrix(
            doc["cells"],
            versions=doc.get("versions") or {},
            generated_at=doc.get("generated_at"),
            profile=doc.get("hypothesis_profile"),
            seed=doc.get("seed"),
            registry=doc.get("registry"),
            partial=doc.get("partial"),
        )
    raise ValueError(f"{path}: expected a support matrix (object with 'cells') or a list of records")
