"""Join the partial files of sharded certifier runs into one matrix.

Partial files join only when they belong together: the same library versions, hypothesis
profile, seed and registry; no cell certified twice; and, before the published matrix may be
replaced, no registered case missing from every one of them.
"""

from __future__ import annotations

from pathlib import Path

from reports.matrix import build_matrix, load_matrix

# What every partial of one merge must agree on, with how to say it.
AGREEMENT = (
    ("versions", "library versions"),
    ("hypothesis_profile", "hypothesis profile"),
    ("seed", "conformance seed"),
    ("registry", "registry"),
)


class MergeError(ValueError):
    """Partial files that cannot be joined into one matrix."""


def merge_partials(paths: list[Path]) -> dict:
    """One matrix from the partial files at ``paths`` (raises :class:`MergeError`)."""
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
    registry_ids = first["partial"].get("registry_ids") or []
    if not isinstance(registry_ids, list) or not all(isinstance(i, str) for i in registry_ids):
        raise MergeError(f"{first_path}: 'partial.registry_ids' must be a list of case ids")
    missing = sorted(set(registry_ids) - set(seen))
    stale = sorted(set(seen) - set(registry_ids))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise MergeError(f"{len(missing)} registered cases are in none of the partial files: {shown}")
    if stale:
        raise MergeError(f"cells that are not registered: {', '.join(stale[:5])}")
    return build_matrix(cells, versions=first.get("versions") or {}, profile=first.get("hypothesis_profile"),
                        seed=first.get("seed"), registry=first.get("registry"))


def _difference(a, b) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return "; ".join(f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in keys[:4])
    return f"{a!r} vs {b!r}"
