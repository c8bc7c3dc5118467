"""Hypothesis strategies drawn from a config's own axis specs (no second list of shapes)."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st

from exportkit.axes import Axis


def draw_ceiling(axis: Axis) -> int:
    """The largest size drawn for an axis: twice its export size, inside its bounds.

    Tiny models make any size cheap in principle, but an unbounded axis (audio samples,
    positions) would make examples slow without finding more bugs than twice the export size.
    """
    ceiling = max(2 * axis.default, axis.min + 4 * axis.multiple_of)
    return ceiling if axis.max is None else min(axis.max, ceiling)


def axis_sizes(axis: Axis) -> st.SearchStrategy[int]:
    """Sizes an axis accepts, from its minimum up to :func:`draw_ceiling`."""
    if not isinstance(axis, Axis):
        raise TypeError(f"axis_sizes() needs an Axis, got {type(axis).__name__}")
    if not axis.is_input_size:
        raise ValueError(f"axis {axis.name!r} is not chosen by the caller (static or derived)")
    step = axis.multiple_of
    low = axis.smallest // step
    high = draw_ceiling(axis) // step
    if high < low:
        raise ValueError(f"axis {axis.name!r} accepts no size up to {draw_ceiling(axis)}")
    return st.integers(min_value=low, max_value=high).map(lambda k: k * step)


def input_dims(axes: Mapping[str, Axis], *, avoid: Mapping[str, int] | None = None) -> st.SearchStrategy[dict[str, int]]:
    """Dicts of sizes for every caller-chosen axis; with ``avoid``, never exactly those sizes.

    ``avoid`` is the export's own sizes: a check on them could pass on a graph whose dynamic
    axis was silently fixed at export time.
    """
    strategy = st.fixed_dictionaries({name: axis_sizes(axis) for name, axis in sorted(axes.items())})
    if avoid:
        avoided = dict(avoid)
        strategy = strategy.filter(lambda dims: dims != avoided)
    return strategy


def smallest_dims(axes: Mapping[str, Axis]) -> dict[str, int]:
    """Every axis at its minimum: batch 1, length 1 (or 0 for a cache), the edge cases."""
    return {name: axis.smallest for name, axis in axes.items()}
