"""Cost-balanced shards of the certifier's cases.

``pytest conformance --shard I/N`` runs the I-th of N shares of the selected cases. Shares
are balanced by what each case cost in the last published matrix (its ``duration_seconds``),
falling back to the mean cost of its family there (same library, model type and engine),
then of its engine, then to one second. The split is a pure function of the cases and
those costs, so every xdist worker and every CI job computes the same shares, and the
shares of one split are disjoint and together hold every case.
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cases import Case

DEFAULT_COST_SECONDS = 1.0


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __post_init__(self):
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(f"a shard is I/N with 1 <= I <= N, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard takes I/N (for example 2/4), got {text!r}") from None
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def stem(self) -> str:
        return f"shard-{self.index}-of-{self.count}"


def recorded_costs(matrix_path: Path) -> list[dict]:
    """The cells of a published matrix (stored compact or not), for their durations; none when
    it cannot be read."""
    from reports import load_matrix

    try:
        return load_matrix(matrix_path)["cells"]
    except (OSError, ValueError):
        return []


def case_costs(cases: Iterable[Case], cells: Iterable[Mapping]) -> dict[str, float]:
    """Seconds each case is expected to take, from the recorded cells (see the module doc)."""
    by_id: dict[str, float] = {}
    by_family: dict[tuple, list[float]] = {}
    by_engine: dict[str | None, list[float]] = {}
    for cell in cells:
        seconds = cell.get("duration_seconds")
        if not isinstance(seconds, (int, float)) or seconds < 0:
            continue
        by_id[str(cell.get("id"))] = float(seconds)
        by_family.setdefault((cell.get("library"), cell.get("model_type"), cell.get("engine")), []).append(seconds)
        by_engine.setdefault(cell.get("engine"), []).append(seconds)
    costs = {}
    for case in cases:
        family = by_family.get((case.library, case.model_type, case.engine))
        engine = by_engine.get(case.engine)
        costs[case.id] = by_id.get(case.id) or (statistics.mean(family) if family else None) or (
            statistics.mean(engine) if engine else DEFAULT_COST_SECONDS)
    return costs


def split(cases: list[Case], count: int, costs: Mapping[str, float]) -> list[list[Case]]:
    """``count`` shares of ``cases``: the costliest case first into the least loaded share."""
    if count < 1:
        raise ValueError(f"cannot split into {count} shares")
    loads = [(0.0, index) for index in range(count)]  # (seconds, share): ties go to the lower share
    shares: list[list[Case]] = [[] for _ in range(count)]
    for case in sorted(cases, key=lambda c: (-costs.get(c.id, DEFAULT_COST_SECONDS), c.id)):
        seconds, index = heapq.heappop(loads)
        shares[index].append(case)
        heapq.heappush(loads, (seconds + costs.get(case.id, DEFAULT_COST_SECONDS), index))
    return [sorted(share, key=lambda c: c.id) for share in shares]


def select_shard(cases: list[Case], shard: Shard, costs: Mapping[str, float]) -> list[Case]:
    return split(cases, shard.count, costs)[shard.index - 1]


def main(argv: list[str] | None = None) -> int:
    """``python -m conformance.shards N [--workers W]``: the expected wall time of each of N shards."""
    import argparse

    from .cases import all_cases

    parser = argparse.ArgumentParser(prog="python -m conformance.shards", description=main.__doc__)
    parser.add_argument("count", type=int, help="number of shards")
    parser.add_argument("--workers", type=int, default=2, help="xdist workers per shard (default 2)")
    parser.add_argument("--matrix", type=Path, default=Path("reports") / "support-matrix.json",
                        help="matrix whose durations are the costs (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.workers < 1:
        parser.error("count and --workers must be positive")
    cases = all_cases()
    costs = case_costs(cases, recorded_costs(args.matrix))
    for index, share in enumerate(split(cases, args.count, costs), 1):
        seconds = sum(costs[case.id] for case in share)
        print(f"shard {index}/{args.count}: {len(share):5d} cases, ~{seconds / args.workers / 60:6.1f} min "
              f"on {args.workers} workers ({seconds / 60:.1f} case-minutes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
