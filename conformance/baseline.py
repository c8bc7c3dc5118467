"""The certifier's ``--baseline`` gate: the run's cells compared with a baseline matrix, and the
session's exit status decided by what regressed rather than by which tests failed.

Only the cases the run took are compared: a filtered or sharded run says nothing of the
others, so cells it did not select are neither removed nor unchanged; removed cells (in the
baseline, no longer registered) are reported by a complete run only, and a partial baseline
speaks for its own cells only. The run fails when a cell certified in the baseline is
anything else now, or when a cell new to the baseline failed, crashed or timed out
(:attr:`reports.diff.MatrixDiff.blocking`). A cell that was already not certified in the
baseline does not fail it, whatever it does now (an xfail that stays xfail, a failure with
another cause); a new xfail or skipped cell does not either. Fixes are reported.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from reports.diff import SECTIONS, MatrixDiff, describe, diff_matrices, plural, scope, summary
from reports.matrix import load_input

# (section, what each of its lines is called in the terminal summary)
LABELS = {"regressions": "regressed", "new": "new cell", "fixes": "fixed", "changed_causes": "changed cause",
          "changed_status": "changed status", "removed": "removed"}


def load_baseline(path: str | Path) -> dict:
    """The baseline matrix, validated as ``python -m reports`` validates its input (ValueError)."""
    return load_input(Path(path))


def compare(baseline: dict, matrix: dict, *, name: str, selected: Collection[str], complete: bool) -> MatrixDiff:
    only = None if complete else set(selected)
    partial_baseline = scope(baseline)  # a partial baseline speaks for its own cells only
    if partial_baseline is not None:
        only = partial_baseline if only is None else only & partial_baseline
    return diff_matrices(baseline, matrix, baseline=name, current="this run", only=only)


def exit_status(current: int, diff: MatrixDiff, *, other_failures: int = 0) -> int:
    """The session's exit status under the gate. Only a run that finished with passing or failing
    tests is judged: an interruption, an internal or a usage error keeps its own status, and so
    does a failing test that is not a case (``other_failures``)."""
    if current not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return current
    if diff.blocking or other_failures:
        return pytest.ExitCode.TESTS_FAILED
    return pytest.ExitCode.OK


def summary_lines(diff: MatrixDiff) -> list[str]:
    """The gate's part of the terminal summary: a line per changed cell, then the verdict."""
    lines = [f"{LABELS[name]}: {describe(change)}" for name, _ in SECTIONS for change in getattr(diff, name)]
    verdict = summary(diff)
    if diff.blocking:
        lines.append(f"baseline gate: FAILED: {verdict}")
    else:
        fixed = f", {len(diff.fixes)} fixed" if diff.fixes else ""
        lines.append(f"baseline gate: passed: {verdict}{fixed} ({plural(diff.unchanged, 'cell')} as in the baseline)")
    return lines
