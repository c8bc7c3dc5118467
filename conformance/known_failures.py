"""Exports known not to pass, each with its cause: shown as their own kind of matrix cell.

An entry matches case ids by glob, and names the structural variant that fails (``None``:
the base tiny model). A declared failure that starts passing is reported as a failure
("declared ... but passed") so that this list never outlives its reasons.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFailure:
    pattern: str  # glob over case ids: "library/model_type/exporter-engine/task"
    reason: str
    issue: str | None = None  # upstream issue, where there is one
    variant: str | None = None  # the zoo variant that fails; None for the base tiny model


@functools.cache
def declared() -> tuple[KnownFailure, ...]:
    """Every declaration: the transformers families and the diffusers components declare theirs
    beside their tiny models (conformance/zoo/families/, conformance/zoo/diffusers_zoo.py), which
    import this module, hence read here on first use."""
    from .zoo.diffusers_zoo import KNOWN_FAILURES as DIFFUSERS
    from .zoo.families import KNOWN_FAILURES as FAMILIES

    return (*FAMILIES, *DIFFUSERS)


def __getattr__(name: str):
    if name == "KNOWN_FAILURES":
        return list(declared())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def known_failure(case_id: str, variant: str | None = None) -> KnownFailure | None:
    return next((entry for entry in declared()
                 if entry.variant == variant and fnmatch.fnmatchcase(case_id, entry.pattern)), None)


def stale_declarations(case_ids: list[str], entries: list[KnownFailure] | None = None,
                       pending: Collection[str] = ()) -> list[KnownFailure]:
    """Declarations that match no registered case: their cause belongs with the registration, not
    here. A transformers model type in ``pending`` (mapped by an Auto class, registered in a later
    step) keeps its declarations for the step that registers it."""
    entries = list(declared()) if entries is None else entries
    return [entry for entry in entries
            if not any(fnmatch.fnmatchcase(case_id, entry.pattern) for case_id in case_ids)
            and not any(fnmatch.fnmatchcase(f"transformers/{model_type}/", entry.pattern.split("onnx-")[0])
                        for model_type in pending)]
