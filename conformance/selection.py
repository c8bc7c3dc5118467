"""Which cases one certifier run takes: the command line's filters and shard, applied once.

A run is *complete* when it takes every registered case (no filter, no shard): only such a
run, or a merge of shards that together are one, may replace the published matrix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from .shards import Shard

if TYPE_CHECKING:
    from .cases import Case

FILTERS = ("library", "model_type", "exporter", "engine", "task")


@dataclass(frozen=True)
class Selection:
    library: str | None = None
    model_type: str | None = None
    exporter: str | None = None
    engine: str | None = None
    task: str | None = None
    sample: bool = False
    shard: Shard | None = None

    @classmethod
    def from_options(cls, getoption) -> Selection:
        shard = getoption("shard")
        return cls(**{name: getoption(name) or None for name in FILTERS}, sample=bool(getoption("sample")),
                   shard=Shard.parse(shard) if shard else None)

    @property
    def filtered(self) -> bool:
        return self.sample or any(getattr(self, name) for name in FILTERS)

    @property
    def complete(self) -> bool:
        return not self.filtered and self.shard is None

    def describe(self) -> str:
        """The options that made this selection, as typed (empty for a complete run)."""
        parts = []
        for field in fields(self):
            value = getattr(self, field.name)
            if value:
                flag = f"--{field.name.replace('_', '-')}"
                parts.append(flag if value is True else f"{flag} {value!s}")
        return " ".join(parts)

    def cases(self, registry: list[Case] | None = None, costs_from: Path | None = None) -> list[Case]:
        from .cases import all_cases, select_cases  # the registry: only when cases are wanted
        from .shards import case_costs, recorded_costs, select_shard

        cases = select_cases(registry if registry is not None else all_cases(),
                             **{name: getattr(self, name) for name in FILTERS})
        recorded = recorded_costs(costs_from) if costs_from else []
        costs = case_costs(cases, recorded)
        if self.sample:
            certified = {cell.get("id") for cell in recorded if cell.get("status") == "certified"}
            cases = sample(cases, costs, certified)
        if self.shard is not None:
            cases = select_shard(cases, self.shard, costs)
        return cases


def sample(cases: list[Case], costs: dict[str, float], certified: set[str] = frozenset()) -> list[Case]:
    """The cheapest case of every registered config class on every engine, with and without a
    KV cache: each declaration and each exporter path runs at least once, at a fraction of the
    whole registry's cost. Of a derived path's many cases it takes one the published matrix
    certified (``certified``) where there is one, so that the sample checks what is promised
    rather than a declared failure."""
    cheapest: dict[tuple[str, str | None, bool], Case] = {}
    for case in sorted(cases, key=lambda c: (c.id not in certified, costs.get(c.id, 0.0), c.id)):
        cheapest.setdefault((case.origin, case.engine, case.task.endswith("-with-past")), case)
    return sorted(cheapest.values(), key=lambda c: c.id)


def registry_fingerprint(cases: list[Case]) -> str:
    """One hash of every registered case id: runs of different registries must not be merged."""
    return hashlib.sha256("\n".join(sorted(case.id for case in cases)).encode()).hexdigest()[:16]
