"""Join the partial files of certifier runs into one matrix.

Sharded runs join into a whole matrix (:func:`merge_partials`): the partial files must belong
together (the same library versions, hypothesis profile, seed and registry), no cell may be
certified twice, and no registered case may be missing from every one of them.

Partial runs join onto the published matrix (:func:`merge_onto`): the cells they re-ran replace
the published ones, the cases the published matrix lacks are added and the cases no longer
registered are dropped, each cell keeping the commit that measured it. They must have run under
the library versions, profile and seed the published matrix was certified with.

Either way only cells measured by committed code (a commit that is neither unknown nor
``+dirty``) are merged: a published cell names code that anyone can check out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reports.matrix import NOT_RUN_REASON, build_matrix, is_published_commit, load_matrix

# What every partial of one merge must agree on, with how to say it.
AGREEMENT = (
    ("versions", "library versions"),
    ("hypothesis_profile", "hypothesis profile"),
    ("seed", "conformance seed"),
    ("registry", "registry"),
)
# What partials merged onto a matrix must share with it (the registry may have changed since).
BASE_AGREEMENT = AGREEMENT[:3]


class MergeError(ValueError):
    """Partial files that cannot be joined into one matrix."""


@dataclass
class OntoMerge:
    """The matrix :func:`merge_onto` made, and which of its cells changed (case ids, sorted)."""

    matrix: dict
    replaced: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _shown(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _load_partials(paths: list[Path]) -> tuple[list[tuple[Path, dict]], list[dict], list[str]]:
    """The partial documents, their cells (each case once) and their registry's case ids, checked."""
    if not paths:
        raise MergeError("no partial files given")
    documents = [(Path(path), load_matrix(path)) for path in paths]
    first_path, first = documents[0]
    for path, document in documents:
        if not isinstance(document.get("partial"), dict):
            raise MergeError(f"{path} is not a partial file (a complete matrix needs no merge)")
    for key, what in AGREEMENT:
        for path, document in documents[1:]:
            if document.get(key) != first.get(key):
                raise MergeError(f"refusing to merge: {path} and {first_path} differ in {what} "
                                 f"({_difference(first.get(key), document.get(key))})")
    seen: dict[str, Path] = {}
    cells = []
    for path, document in documents:
        for cell in document["cells"]:
            if cell["id"] in seen:
                raise MergeError(f"cell {cell['id']} is in both {seen[cell['id']]} and {path}")
            seen[cell["id"]] = path
            cells.append(cell)
    for path, document in documents:
        uncommitted = [cell for cell in document["cells"] if not is_published_commit(cell.get("commit"))]
        if uncommitted:
            commits = sorted({str(cell.get("commit")) for cell in uncommitted})
            raise MergeError(f"refusing to merge: {path} has {len(uncommitted)} cells not measured by committed "
                             f"code (commit {', '.join(commits[:3])}), e.g. {uncommitted[0]['id']}: rerun them "
                             "from a checkout with no uncommitted changes")
    registry_ids = first["partial"].get("registry_ids") or []
    if not isinstance(registry_ids, list) or not all(isinstance(i, str) for i in registry_ids):
        raise MergeError(f"{first_path}: 'partial.registry_ids' must be a list of case ids")
    stale = sorted(set(seen) - set(registry_ids))
    if stale:
        raise MergeError(f"cells that are not registered: {', '.join(stale[:5])}")
    return documents, cells, registry_ids


def _require_every_case(ids, registry_ids: list[str], where: str) -> None:
    missing = sorted(set(registry_ids) - set(ids))
    if missing:
        raise MergeError(f"{len(missing)} registered cases {where}: {_shown(missing)}")


def merge_partials(paths: list[Path]) -> dict:
    """One matrix from the partial files at ``paths`` (raises :class:`MergeError`)."""
    documents, cells, registry_ids = _load_partials(paths)
    _require_every_case((cell["id"] for cell in cells), registry_ids, "are in none of the partial files")
    first = documents[0][1]
    return build_matrix(cells, versions=first.get("versions") or {}, profile=first.get("hypothesis_profile"),
                        seed=first.get("seed"), registry=first.get("registry"))


def merge_onto(base_path: Path, paths: list[Path]) -> OntoMerge:
    """The complete matrix at ``base_path`` with the cells of the partial files at ``paths``:
    theirs replace its cells of the same cases, the cases it lacks are added, and its cells of
    cases no longer in the partials' registry are dropped. The result must have one cell for
    every case of that registry (raises :class:`MergeError`)."""
    documents, cells, registry_ids = _load_partials(paths)
    first_path, first = documents[0]
    base = load_matrix(base_path)
    if "partial" in base:
        raise MergeError(f"--onto {base_path} is a partial file: merge onto a complete matrix")
    for key, what in BASE_AGREEMENT:
        if first.get(key) != base.get(key):
            raise MergeError(f"refusing to merge: --onto {base_path} and {first_path} differ in {what} "
                             f"({_difference(base.get(key), first.get(key))}); a matrix is certified under "
                             "one set of library versions, profile and seed: rerun it whole")
    not_run = [cell["id"] for cell in cells if cell.get("reason") == NOT_RUN_REASON]
    if not_run:
        raise MergeError(f"refusing to merge: {len(not_run)} cells of the partial files were never run (their "
                         f"session ended first), e.g. {not_run[0]}: they would replace measured cells")
    merged = {cell["id"]: cell for cell in base["cells"]}
    rerun = {cell["id"] for cell in cells}
    registered = set(registry_ids)
    result = OntoMerge(matrix={}, replaced=sorted(rerun & set(merged)), added=sorted(rerun - set(merged)),
                       dropped=sorted(set(merged) - registered))
    for case_id in result.dropped:
        del merged[case_id]
    merged.update((cell["id"], cell) for cell in cells)
    _require_every_case(merged, registry_ids, f"have a cell neither in --onto {base_path} nor in the partial files")
    result.matrix = build_matrix(list(merged.values()), versions=first.get("versions") or {},
                                 profile=first.get("hypothesis_profile"), seed=first.get("seed"),
                                 registry=first.get("registry"))
    return result


def _difference(a, b) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return "; ".join(f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in keys[:4])
    return f"{a!r} vs {b!r}"
