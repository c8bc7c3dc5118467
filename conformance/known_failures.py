"""Exports known not to pass, each with its cause: shown as their own kind of matrix cell.

An entry matches case ids by glob. A declared failure that starts passing is reported as a
failure ("unexpectedly passed") so that this list never outlives its reasons.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFailure:
    pattern: str  # glob over case ids: "library/model_type/exporter-engine/task"
    reason: str
    issue: str | None = None  # upstream issue, where there is one


KNOWN_FAILURES: list[KnownFailure] = []


def known_failure(case_id: str) -> KnownFailure | None:
    return next((entry for entry in KNOWN_FAILURES if fnmatch.fnmatchcase(case_id, entry.pattern)), None)
