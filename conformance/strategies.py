"""What the certifier tries: examples drawn from a config's own specs (no second list of shapes).

An :class:`Example` is one set of input sizes plus the padding of each mask input. The
:class:`ExampleSpace` of a config says what may be tried: every caller-chosen axis over its
whole declared range (an unbounded axis up to :data:`UNBOUNDED_CEILING` and past every
threshold), the padding sides the config declares, and a budget on the elements one
example feeds the model. :func:`boundary_examples` lists the examples that always run (every
axis at its bounds, both sides of every threshold); :func:`examples` draws the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from hypothesis import reject
from hypothesis import strategies as st

from exportkit.axes import Axis, TensorSpec
from exportkit.padding import Padding
from exportkit.thresholds import Threshold

# The largest size drawn for an axis with no declared maximum (T5's relative positions, a
# cache without a position table), unless a threshold asks for more.
UNBOUNDED_CEILING = 512
# Elements of all inputs of one example together: sizes are drawn over each axis's whole
# range, and jointly shrunk to this (a 64 x 512-token batch fits; 64 images of 512 x 512 do not).
DEFAULT_EXAMPLE_BUDGET = 2**20


@dataclass(frozen=True)
class Example:
    """Sizes of the caller-chosen axes, and the padding of each mask input (absent: no padding)."""

    dims: Mapping[str, int]
    padding: Mapping[str, Padding] = field(default_factory=dict)
    label: str = ""  # why an explicit example is there ("max batch_size", "sliding_window=12 + 1")

    def shown(self) -> dict[str, object]:
        """The example as a certificate shows it: sizes, then each padded mask's padding."""
        return {**dict(self.dims), **{name: pad.describe() for name, pad in self.padding.items() if pad.kind != "none"}}

    def mask_kinds(self) -> dict[str, str]:
        return {name: pad.kind for name, pad in self.padding.items()}


def ceiling(axis: Axis, thresholds: list[Threshold] = ()) -> int:
    """The largest size tried for an axis: its ``max``, or for an unbounded axis past every threshold."""
    if axis.max is not None:
        return axis.max
    crossing = [2 * t.value + 2 for t in thresholds if axis.name in t.axes]
    return max(UNBOUNDED_CEILING, 2 * (axis.default or 1), axis.min + 4 * axis.multiple_of, *crossing)


def axis_sizes(axis: Axis, *, high: int | None = None) -> st.SearchStrategy[int]:
    """Sizes an axis accepts, from its minimum up to ``high`` (default: :func:`ceiling`)."""
    if not isinstance(axis, Axis):
        raise TypeError(f"axis_sizes() needs an Axis, got {type(axis).__name__}")
    if not axis.is_input_size:
        raise ValueError(f"axis {axis.name!r} is not chosen by the caller (static or derived)")
    step = axis.multiple_of
    low, top = axis.smallest // step, (ceiling(axis) if high is None else high) // step
    if top < low:
        raise ValueError(f"axis {axis.name!r} accepts no size up to {high}")
    return st.integers(min_value=low, max_value=top).map(lambda k: k * step)


@dataclass
class ExampleSpace:
    """What one export config allows the certifier to try."""

    axes: dict[str, Axis]  # caller-chosen input axes
    input_specs: dict[str, TensorSpec]
    derived: dict[str, Axis]  # derived axes with a bound or a threshold (past + new tokens)
    masks: dict[str, TensorSpec]
    sides: tuple[str, ...]
    thresholds: list[Threshold]
    budget: int
    check_dims: object  # config.dims: raises ValueError for sizes outside a derived bound

    @classmethod
    def of(cls, config, *, budget: int = DEFAULT_EXAMPLE_BUDGET) -> ExampleSpace:
        if budget < 1:
            raise ValueError(f"the example budget must be positive, got {budget}")
        specs = {**config.input_specs, **config.output_specs}
        thresholds = config.thresholds()
        threshold_axes = {name for t in thresholds for name in t.axes}
        derived = {axis.name: axis for spec in specs.values() for axis in spec.axes
                   if axis.dynamic and axis.derive is not None and (axis.max is not None or axis.name in threshold_axes)}
        return cls(axes=dict(config.axes), input_specs=dict(config.input_specs), derived=derived,
                   masks=dict(config.mask_specs), sides=tuple(config.PADDING_SIDES), thresholds=thresholds,
                   budget=budget, check_dims=config.dims)

    # ---- sizes -----------------------------------------------------------------------------

    def ceiling(self, name: str) -> int:
        return ceiling(self.axes[name], self.thresholds)

    def smallest(self) -> dict[str, int]:
        return {name: axis.smallest for name, axis in self.axes.items()}

    def elements(self, dims: Mapping[str, int]) -> int:
        """Elements of every input of an example of these sizes: its cost in time and memory."""
        return sum(math.prod(spec.shape(dims)) for spec in self.input_specs.values())

    def allowed(self, dims: Mapping[str, int]) -> bool:
        try:
            self.check_dims(**dims)
        except ValueError:
            return False
        return self.elements(dims) <= self.budget

    def fit(self, dims: Mapping[str, int], keep: str | None = None) -> dict[str, int] | None:
        """``dims`` shrunk until allowed (None if even the smallest sizes are not).

        The axis furthest above its minimum gives way first (``keep`` last), and only as far
        as needed: the largest size that fits, found by bisection.
        """
        dims = dict(dims)
        while not self.allowed(dims):
            shrinkable = [name for name in dims if dims[name] > self.axes[name].smallest]
            if not shrinkable:
                return None
            preferred = [name for name in shrinkable if name != keep] or shrinkable
            name = max(preferred, key=lambda n: dims[n] / max(self.axes[n].smallest, 1))
            axis, step = self.axes[name], self.axes[name].multiple_of
            low, high = axis.smallest // step, dims[name] // step - 1  # the largest k*step that fits, if any
            if not self.allowed({**dims, name: low * step}):
                dims[name] = low * step
                continue
            while low < high:
                middle = (low + high + 1) // 2
                if self.allowed({**dims, name: middle * step}):
                    low = middle
                else:
                    high = middle - 1
            dims[name] = low * step
        return dims

    def solve(self, dims: Mapping[str, int], derived: Axis, target: int, vary: str) -> dict[str, int] | None:
        """Sizes like ``dims`` with axis ``vary`` set so that ``derived`` is ``target`` (None if impossible)."""
        axis = self.axes[vary]
        low, high = axis.smallest, self.ceiling(vary)
        size = lambda value: derived.size({**dims, vary: value})  # noqa: E731
        while low < high:  # derived sizes grow with each input size: bisect
            middle = (low + high) // 2
            if size(middle) < target:
                low = middle + 1
            else:
                high = middle
        solved = {**dims, vary: low // axis.multiple_of * axis.multiple_of}
        return solved if size(solved[vary]) == target and axis.accepts(solved[vary]) else None

    def contributors(self, derived: Axis) -> list[str]:
        """The input axes a derived axis grows with; one that may be empty (a cache) first."""
        base = self.smallest()
        grows = [name for name in self.axes
                 if derived.size({**base, name: base[name] + self.axes[name].multiple_of}) != derived.size(base)]
        return sorted(grows, key=lambda name: (self.axes[name].min, name))

    # ---- padding ---------------------------------------------------------------------------

    def mask_rows_and_length(self, name: str, dims: Mapping[str, int]) -> tuple[int, int]:
        *leading, length = self.masks[name].shape(dims)
        return math.prod(leading), length

    def typical_padding(self, dims: Mapping[str, int], side: str) -> dict[str, Padding]:
        return {name: Padding.typical(*self.mask_rows_and_length(name, dims), side=side) for name in self.masks}


def paddings(space: ExampleSpace, dims: Mapping[str, int]) -> st.SearchStrategy[dict[str, Padding]]:
    """Each mask unpadded, or padded on one of the config's sides with any length per row."""
    per_mask = {}
    for name in sorted(space.masks):
        rows, length = space.mask_rows_and_length(name, dims)
        if length < 2 or not space.sides:
            per_mask[name] = st.just(Padding.none())
            continue
        padded = st.builds(Padding, st.sampled_from(space.sides),
                           st.lists(st.integers(0, length - 1), min_size=rows, max_size=rows).map(tuple))
        per_mask[name] = st.one_of(st.just(Padding.none()), padded)  # shrinks towards no padding
    return st.fixed_dictionaries(per_mask)


def examples(space: ExampleSpace, *, avoid: Mapping[str, int] | None = None) -> st.SearchStrategy[Example]:
    """Examples over every axis's whole range (jointly fit to the budget), with drawn padding.

    ``avoid`` is the export's own sizes: a check on them could pass on a graph whose dynamic
    axis was silently fixed at export time.
    """
    sizes = st.fixed_dictionaries({name: axis_sizes(axis, high=space.ceiling(name))
                                   for name, axis in sorted(space.axes.items())})

    @st.composite
    def example(draw):
        dims = space.fit(draw(sizes))
        if dims is None or (avoid is not None and dims == dict(avoid)):
            reject()
        return Example(dims, draw(paddings(space, dims)))

    return example()


def boundary_examples(space: ExampleSpace) -> list[Example]:
    """The examples that always run: every axis at its smallest and at its largest, and sizes on
    both sides of every threshold; padded on each declared side in turn."""
    smallest = space.smallest()
    found: list[Example] = []

    def add(dims: dict[str, int] | None, label: str, keep: str | None = None) -> None:
        dims = space.fit(dims, keep=keep) if dims is not None else None
        if dims is None or any(e.dims == dims for e in found):
            return
        side = space.sides[len(found) % len(space.sides)] if space.sides else None
        padding = space.typical_padding(dims, side) if side and found else {}  # the smallest runs unpadded
        found.append(Example(dims, padding, label))

    add(smallest, "every axis at its smallest")
    for side in space.sides:  # a realistic batch: rows of different lengths
        # next to the export's sizes, not on them (a check there passes on a baked-in axis)
        typical = {name: axis.default + axis.multiple_of if axis.accepts(axis.default + axis.multiple_of)
                   else axis.default for name, axis in space.axes.items()}
        if space.masks and space.allowed(typical):
            found.append(Example(typical, space.typical_padding(typical, side), f"ragged batch padded on the {side}"))
    for name in sorted(space.axes):
        add({**smallest, name: space.ceiling(name)}, f"largest {name}", keep=name)
    for derived in space.derived.values():
        if derived.max is not None:
            for vary in space.contributors(derived):
                add(space.solve(smallest, derived, derived.max, vary), f"largest {derived.name} (by {vary})", keep=vary)
    for threshold in space.thresholds:
        for axis_name in threshold.axes:
            for offset in (-1, 0, 1):
                target, label = threshold.value + offset, f"{threshold.field}={threshold.value} {offset:+d} on {axis_name}"
                if axis_name in space.axes:
                    axis = space.axes[axis_name]
                    if axis.accepts(target):
                        add({**smallest, axis_name: target}, label, keep=axis_name)
                elif axis_name in space.derived:
                    derived = space.derived[axis_name]
                    for vary in space.contributors(derived):
                        add(space.solve(smallest, derived, target, vary), f"{label} (by {vary})", keep=vary)
            if axis_name in space.derived:
                # new tokens straddling the threshold: some inside the window, some beyond it
                derived = space.derived[axis_name]
                contributors = space.contributors(derived)
                if len(contributors) > 1:
                    wide = {**smallest, **{n: min(4, space.ceiling(n)) for n in contributors[1:]}}
                    add(space.solve(wide, derived, threshold.value + 2, contributors[0]),
                        f"{threshold.field}={threshold.value} straddled on {axis_name}", keep=contributors[0])
    return found


def thresholds_crossed(thresholds: list[Threshold], derived: Mapping[str, Axis],
                       tried: list[Mapping[str, int]]) -> list[dict]:
    """For each threshold: whether some example was at or below it and some above it, on one of its axes."""
    out = []
    for threshold in thresholds:
        below = above = False
        for dims in tried:
            for name in threshold.axes:
                size = derived[name].size(dims) if name in derived else dims.get(name)
                if size is None:
                    continue
                below |= size <= threshold.value
                above |= size > threshold.value
        out.append({**threshold.to_json(), "below": below, "above": above})
    return out
