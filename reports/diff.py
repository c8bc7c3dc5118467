"""What changed between two support matrices, cell by cell.

A cell is compared by its id. Certified in the old matrix and anything else in the new one is
a *regression*; the reverse a *fix*. Cells of one matrix only are *new* or *removed*. Between
two non-certified outcomes, the same status with another stage or reason is a *changed
cause*, another status a *status change*. What gates a CI (``blocking``) is every regression
and every new cell that failed (failed, crashed or timed out): a new cell has no baseline to
regress from, but a new export that does not work must not pass unnoticed. A new ``xfail``
(its failure declared) or ``skipped`` cell does not block. A partial matrix (of a filtered
or sharded run) speaks for its own cells only: the others are not compared (:func:`scope`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from reports.matrix import printable

FAILING = frozenset({"failed", "crashed", "timeout"})

# (attribute, heading), in the order a report lists them.
SECTIONS = (
    ("regressions", "regressions"),
    ("new", "new cells"),
    ("fixes", "fixes"),
    ("changed_causes", "changed causes"),
    ("changed_status", "other status changes"),
    ("removed", "removed cells"),
)


@dataclass(frozen=True)
class Outcome:
    """What a matrix says of one cell."""

    status: str
    stage: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, cell: dict) -> Outcome:
        return cls(cell["status"], cell.get("stage"), cell.get("reason"))

    def cause(self) -> str:
        """``stage: reason`` (either part may be missing); empty for a certified cell."""
        return ": ".join(part for part in (self.stage, self.reason) if part)

    def to_json(self) -> dict:
        return {"status": self.status, "stage": self.stage, "reason": self.reason}


@dataclass(frozen=True)
class Change:
    id: str
    old: Outcome | None  # None: a new cell
    new: Outcome | None  # None: a removed cell

    def to_json(self) -> dict:
        return {"id": self.id, "old": self.old and self.old.to_json(), "new": self.new and self.new.to_json()}


@dataclass(frozen=True)
class MatrixDiff:
    baseline: str  # what the old matrix is called in a report (its file, usually)
    current: str
    baseline_generated_at: str | None = None
    current_generated_at: str | None = None
    compared: int | None = None  # how many cells were compared when not all were (see ``only``)
    regressions: tuple[Change, ...] = ()
    new: tuple[Change, ...] = ()
    fixes: tuple[Change, ...] = ()
    changed_causes: tuple[Change, ...] = ()
    changed_status: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    unchanged: int = 0

    @property
    def new_failing(self) -> tuple[Change, ...]:
        return tuple(change for change in self.new if change.new.status in FAILING)

    @property
    def blocking(self) -> tuple[Change, ...]:
        """The changes that make a gate fail: regressions and new cells that failed."""
        return self.regressions + self.new_failing

    @property
    def changes(self) -> int:
        return sum(len(getattr(self, name)) for name, _ in SECTIONS)

    def to_json(self) -> dict:
        counts = {name: len(getattr(self, name)) for name, _ in SECTIONS}
        counts.update(new_failing=len(self.new_failing), unchanged=self.unchanged)
        return {
            "baseline": {"name": self.baseline, "generated_at": self.baseline_generated_at},
            "current": {"name": self.current, "generated_at": self.current_generated_at},
            "compared": self.compared,
            "counts": counts,
            "blocking": [change.id for change in self.blocking],
            **{name: [change.to_json() for change in getattr(self, name)] for name, _ in SECTIONS},
        }


def diff_matrices(old: dict, new: dict, *, baseline: str = "baseline", current: str = "current",
                  only: Collection[str] | None = None) -> MatrixDiff:
    """Compare two loaded matrices (see the module doc). With ``only``, cells of either matrix
    whose id is not in it are left out: a run that took some cases is compared on those alone."""
    before = _outcomes(old["cells"], only)
    after = _outcomes(new["cells"], only)
    sections: dict[str, list[Change]] = {name: [] for name, _ in SECTIONS}
    unchanged = 0
    for case_id in sorted(before.keys() | after.keys()):
        was, now = before.get(case_id), after.get(case_id)
        change = Change(case_id, was, now)
        if was is None:
            sections["new"].append(change)
        elif now is None:
            sections["removed"].append(change)
        elif was == now or (was.status == now.status == "certified"):
            unchanged += 1
        elif was.status == "certified":
            sections["regressions"].append(change)
        elif now.status == "certified":
            sections["fixes"].append(change)
        elif was.status == now.status:
            sections["changed_causes"].append(change)
        else:
            sections["changed_status"].append(change)
    return MatrixDiff(baseline=baseline, current=current, baseline_generated_at=old.get("generated_at"),
                      current_generated_at=new.get("generated_at"), unchanged=unchanged,
                      compared=None if only is None else len(before.keys() | after.keys()),
                      **{name: tuple(changes) for name, changes in sections.items()})


def scope(*matrices: dict) -> set[str] | None:
    """The cells a comparison of ``matrices`` can speak for: those of every partial one (a
    filtered run's file says nothing of the cells it did not select); None when all are complete."""
    partial = [{cell["id"] for cell in m["cells"]} for m in matrices if isinstance(m.get("partial"), dict)]
    return set.intersection(*partial) if partial else None


def _outcomes(cells: Iterable[dict], only: Collection[str] | None) -> dict[str, Outcome]:
    wanted = None if only is None else set(only)
    return {cell["id"]: Outcome.of(cell) for cell in cells if wanted is None or cell["id"] in wanted}


def describe(change: Change) -> str:
    """One line: ``id: old -> new at stage: reason`` (the new cause; the old one too when it changed).
    A new cell's old status reads ``new``, a removed cell's new one ``removed``."""
    was, now = change.old, change.new
    text = f"{change.id}: {was.status if was else 'new'} -> {now.status if now else 'removed'}"
    if now is not None and now.cause():
        text += f" at {now.cause()}"
    if was is not None and now is not None and was.status != "certified" and was.cause() != now.cause():
        text += f" (was {was.cause() or 'no stage or reason'})"
    return printable(text)


def summary(diff: MatrixDiff) -> str:
    """The verdict, as a gate gives it."""
    if not diff.blocking:
        return "no regression"
    parts = []
    if diff.regressions:
        parts.append(plural(len(diff.regressions), "regression"))
    if diff.new_failing:
        parts.append(f"{plural(len(diff.new_failing), 'new cell')} failing")
    return " and ".join(parts)


def text_report(diff: MatrixDiff) -> list[str]:
    """The lines ``python -m reports diff`` prints: a heading per kind of change, with its count,
    then one line per cell."""
    lines = [printable(f"changes since {diff.baseline}"
                       + (f" (generated {diff.baseline_generated_at})" if diff.baseline_generated_at else "")
                       + f" in {diff.current}")]
    if diff.compared is not None:
        lines.append(f"compared: {plural(diff.compared, 'selected cell')} "
                     "(a partial run speaks for its own cells only)")
    for name, heading in SECTIONS:
        changes = getattr(diff, name)
        extra = f" ({len(diff.new_failing)} failing)" if name == "new" and diff.new_failing else ""
        lines.append(f"{heading}: {len(changes)}{extra}")
        lines.extend(f"  {describe(change)}" for change in changes)
    lines.append(f"unchanged: {diff.unchanged}")
    lines.append(f"result: {summary(diff)}")
    return lines


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
