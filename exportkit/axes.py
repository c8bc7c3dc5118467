"""Typed tensor axes: the one description of shapes that export and certification share.

An :class:`Axis` says what sizes a tensor dimension may take. A dynamic axis becomes a
``dynamic_axes`` entry for the TorchScript-based exporter, a ``torch.export.Dim`` for the
dynamo exporter, and a hypothesis strategy in the conformance harness; a static axis is
fixed by the model config. A :class:`TensorSpec` lists every axis of one input or output,
so the shape of a dummy tensor is derived, never listed a second time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Axis:
    """One dimension of a tensor.

    ``name`` is the symbolic dimension name written into the exported graph. Axes that share
    a name share a size (``batch_size`` across all inputs). ``kwarg`` is the
    ``generate_dummy_inputs`` keyword that sets it (``image_height`` sets ``height``).

    A derived axis (``derive`` set) is an output axis whose size follows from the input
    sizes, such as ``past_sequence_length + sequence_length``. An axis that is dynamic but
    neither an input size nor derivable (the number of audio frames a feature encoder
    produces) has ``dynamic=True`` and no ``derive``: only its symbolic-ness is checked.
    """

    name: str
    default: int | None = None
    min: int = 1
    max: int | None = None
    multiple_of: int = 1
    dynamic: bool = True
    kwarg: str | None = None
    derive: Callable[[Mapping[str, int]], int] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )

    def __post_init__(self):
        if self.min < 0:
            raise ValueError(f"axis {self.name!r}: min must be >= 0, got {self.min}")
        if self.max is not None and self.max < self.min:
            raise ValueError(f"axis {self.name!r}: max {self.max} < min {self.min}")
        if self.multiple_of < 1:
            raise ValueError(f"axis {self.name!r}: multiple_of must be >= 1")
        if self.default is not None and not self.accepts(self.default):
            raise ValueError(f"axis {self.name!r}: default {self.default} is outside its range")

    @classmethod
    def static(cls, name: str, size: int) -> Axis:
        return cls(name=name, default=int(size), min=int(size), max=int(size), dynamic=False)

    @property
    def shape_kwarg(self) -> str:
        return self.kwarg or self.name

    @property
    def is_input_size(self) -> bool:
        """A size chosen by the caller (as opposed to derived from other sizes or the model)."""
        return self.dynamic and self.derive is None and self.default is not None

    @property
    def smallest(self) -> int:
        """The smallest size this axis accepts: batch 1, length 1, an empty cache."""
        return -(-self.min // self.multiple_of) * self.multiple_of

    def accepts(self, size: int) -> bool:
        if size < self.min or (self.max is not None and size > self.max):
            return False
        return size % self.multiple_of == 0

    def with_range(self, *, min: int | None = None, max: int | None = None, default: int | None = None) -> Axis:
        changes = {k: v for k, v in (("min", min), ("max", max), ("default", default)) if v is not None}
        return dataclasses.replace(self, **changes)

    def size(self, dims: Mapping[str, int]) -> int:
        """The concrete size of this axis given the chosen sizes of the named axes."""
        if not self.dynamic:
            if self.default is None:
                raise KeyError(f"static axis {self.name!r} has no declared size (the model decides it)")
            return self.default
        if self.derive is not None:
            return int(self.derive(dims))
        if self.name in dims:
            return int(dims[self.name])
        if self.default is None:
            raise KeyError(f"no size chosen for axis {self.name!r}")
        return self.default


def derived(name: str, rule: Callable[[Mapping[str, int]], int], *, max: int | None = None) -> Axis:
    """A dynamic axis whose size follows from other axes (``max`` still bounds it)."""
    return Axis(name=name, derive=rule, max=max)


def opaque(name: str) -> Axis:
    """A dynamic output axis whose size depends on the model (checked for symbolic-ness only)."""
    return Axis(name=name)


@dataclass(frozen=True)
class TensorSpec:
    """Name, every axis, and the value kind of one graph input or output."""

    name: str
    axes: tuple[Axis, ...]
    dtype: str = "float"  # "float" | "int" | "bool": resolved against the config's int/float dtype

    @property
    def rank(self) -> int:
        return len(self.axes)

    @property
    def dynamic_axes(self) -> dict[int, str]:
        """The seed's view: axis index -> symbolic name, dynamic axes only."""
        return {i: axis.name for i, axis in enumerate(self.axes) if axis.dynamic}

    def shape(self, dims: Mapping[str, int]) -> tuple[int, ...]:
        return tuple(axis.size(dims) for axis in self.axes)


def input_axes(specs: Mapping[str, TensorSpec]) -> dict[str, Axis]:
    """The distinct caller-chosen axes across some input specs, by name; conflicting declarations are an error."""
    axes: dict[str, Axis] = {}
    for spec in specs.values():
        for axis in spec.axes:
            if not axis.is_input_size:
                continue
            seen = axes.setdefault(axis.name, axis)
            if seen != axis:
                raise ValueError(f"axis {axis.name!r} is declared two ways: {seen} and {axis} (in {spec.name!r})")
    return axes
