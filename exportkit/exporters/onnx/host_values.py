"""Host values a graph of static shapes computes from its constants, replayed under torch.export.

A patch-grid vision tower (Qwen2-VL's and its heirs') derives its attention windows, sequence
boundaries and rotary positions from its image grid on the host: ``tolist()``, ``item()``,
``int()``, ``range()`` and branches over tensors computed from the grid, and ``repeat_interleave`` by counts
read from it. The grid is the export's constant, so those values are too; torch.export, which
traces with tensors whose values it does not know, makes each an unbacked size and fails on the
first branch over one ("could not guard on data-dependent expression").

:func:`host_value_patches` runs the tower eagerly on two different images, recording each
call's value by the source line that made it, and, where both runs agree (the values follow
the grid, not the pixels), replays them while torch.export traces: the host reads return the
recorded values, and ``repeat_interleave`` gathers to its recorded output size. A source line
whose values follow the pixels differs between the runs and is not replayed: an export that
needs it fails as it would have.
"""

from __future__ import annotations

import collections
import sys
from typing import Any, Callable, Iterable

import torch

from . import patcher
from .patcher import PatchingSpec, while_exporting

# (owner, method): what each call leaves on the host
_HOST_CALLS = ((torch.Tensor, "tolist"), (torch.Tensor, "item"), (torch.Tensor, "__int__"), (torch.Tensor, "__index__"),
               (torch.Tensor, "__bool__"), (torch.Tensor, "repeat_interleave"), (torch, "repeat_interleave"))
_OWN_FILES = {__file__, patcher.__file__}

Record = dict[tuple[str, int], list[Any]]


def _call_site() -> tuple[str, int]:
    """The source line that made the call: the first frame outside the patches' own files."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in _OWN_FILES:
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("?", 0)


def _host_value(name: str, result: Any, args: tuple, kwargs: dict) -> Any:
    if name != "repeat_interleave":
        return result
    dim = kwargs.get("dim", args[2] if len(args) > 2 else None)
    return result.numel() if dim is None else result.shape[dim]


def record_host_values(run: Callable[[Any], Any], example: Any) -> Record:
    """Each host call's value while ``run(example)`` runs eagerly, by the line that made it."""
    record: Record = collections.defaultdict(list)
    originals = [(owner, name, getattr(owner, name)) for owner, name in _HOST_CALLS]

    def recorder(name: str, original: Callable) -> Callable:
        def call(*args, **kwargs):
            result = original(*args, **kwargs)
            record[_call_site()].append(_host_value(name, result, args, kwargs))
            return result
        return call

    try:
        for owner, name, original in originals:
            setattr(owner, name, recorder(name, original))
        with torch.no_grad():
            run(example)
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    return dict(record)


def _repeat_interleave_to(size: int, original: Callable, input, repeats=None, dim=None, *, output_size=None):
    """``repeat_interleave`` by tensor counts whose total is ``size``, as a gather of static size:
    each output position takes the element whose running count first passes it (ONNX has no
    repeat by counts, and torch.onnx's translation takes no output size)."""
    if repeats is None:  # torch.repeat_interleave(counts): the index of each repeat
        input, repeats = torch.arange(input.shape[0], device=input.device), input
    elif not isinstance(repeats, torch.Tensor):  # repeats by a number: its sizes are the input's
        return original(input, repeats, dim, output_size=output_size)
    source = input.flatten() if dim is None else input
    axis = 0 if dim is None else dim
    counts = repeats.expand(source.shape[axis]) if repeats.numel() == 1 else repeats
    positions = torch.arange(size, device=counts.device)
    index = (positions.unsqueeze(1) >= counts.cumsum(0).unsqueeze(0)).sum(dim=1)
    return source.index_select(axis, index)


def _replayer(name: str, original: Callable, record: Record) -> Callable:
    calls: collections.Counter = collections.Counter()

    def call(*args, **kwargs):
        site = _call_site()
        values = record.get(site)
        if not values:
            return original(*args, **kwargs)
        value = values[calls[site] % len(values)]  # torch.export may trace the forward more than once
        calls[site] += 1
        if name == "repeat_interleave":
            return _repeat_interleave_to(value, original, *args, **kwargs)
        return value
    return call


def host_value_patches(run: Callable[[Any], Any], examples: Iterable[Any]) -> list[PatchingSpec]:
    """Patches replaying, under torch.export, the host values ``run`` computes alike on each of
    ``examples`` (at least two, which differ where the graph's inputs do); a source line whose
    values differ between the runs follows the inputs, and is left to trace."""
    records = [record_host_values(run, example) for example in examples]
    if len(records) < 2:
        return []
    constant = {site: values for site, values in records[0].items()
                if all(record.get(site) == values for record in records[1:])}
    if not constant:
        return []
    return [PatchingSpec(o=owner, name=name,
                         op_wrapper=lambda original, name=name: while_exporting(
                             original, _replayer(name, original, constant)))
            for owner, name in (*_HOST_CALLS, *_traced_overrides())]


def _traced_overrides() -> list[tuple[type, str]]:
    """The host calls the tensors torch.export traces with override (their ``tolist`` reads each
    element apart): replayed there too, as the model's line made them."""
    from torch._subclasses.fake_tensor import FakeTensor
    from torch._subclasses.functional_tensor import FunctionalTensor

    names = {name for _, name in _HOST_CALLS}
    return [(cls, name) for cls in (FunctionalTensor, FakeTensor) for name in sorted(names) if name in vars(cls)]
