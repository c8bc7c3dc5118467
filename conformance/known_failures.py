"""Exports known not to pass, each with its cause: shown as their own kind of matrix cell.

An entry matches case ids by glob, and names the structural variant that fails (``None``:
the base tiny model). A declared failure that starts passing is reported as a failure
("declared ... but passed") so that this list never outlives its reasons.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFailure:
    pattern: str  # glob over case ids: "library/model_type/exporter-engine/task"
    reason: str
    issue: str | None = None  # upstream issue, where there is one
    variant: str | None = None  # the zoo variant that fails; None for the base tiny model


def _declared() -> list[KnownFailure]:
    # the transformers families declare theirs beside their tiny models (conformance/zoo/families/)
    from .zoo.families import KNOWN_FAILURES as FAMILIES

    return [*FAMILIES]


KNOWN_FAILURES: list[KnownFailure] = _declared()


def known_failure(case_id: str, variant: str | None = None) -> KnownFailure | None:
    return next((entry for entry in KNOWN_FAILURES
                 if entry.variant == variant and fnmatch.fnmatchcase(case_id, entry.pattern)), None)


def stale_declarations(case_ids: list[str], entries: list[KnownFailure] | None = None) -> list[KnownFailure]:
    """Declarations that match no registered case: their cause belongs with the registration, not here."""
    entries = KNOWN_FAILURES if entries is None else entries
    return [entry for entry in entries if not any(fnmatch.fnmatchcase(case_id, entry.pattern) for case_id in case_ids)]
