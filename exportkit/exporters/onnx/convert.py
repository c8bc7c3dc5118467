"""Export a torch model to ONNX with either torch exporter, and validate the result.

Both engines take their dynamic shapes from the same axis specs: ``dynamic_axes`` for the
TorchScript-based exporter, ``torch.export.Dim`` objects for the dynamo exporter. An export
goes through stages (capture, translate, check); a failure raises :class:`ExportError` naming
its stage. Files are written to a temporary location and moved into place only on success.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...axes import Axis, TensorSpec
from ...errors import AtolError, ExportError, OutputMissingError, ShapeMismatchError, UnsupportedOpsetError
from ...layout import graph_input_names
from ...outdir import StagedDirectory, staging_folder
from .wrapper import ExportableModule

ENGINES = ("dynamo", "torchscript")


def _opset_ranges() -> dict[str, tuple[int, int]]:
    try:
        from torch.onnx import _constants as limits

        torchscript = (limits.ONNX_MIN_OPSET, limits.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET)
        newest = limits.ONNX_MAX_OPSET
    except (ImportError, AttributeError):
        torchscript, newest = (7, 20), 23
    # The dynamo exporter's function library starts at opset 18: below it, it writes 18 anyway.
    return {"dynamo": (18, newest), "torchscript": torchscript}


OPSET_RANGES = _opset_ranges()


def check_opset(opset: int, engine: str) -> None:
    """Refuse an opset the engine would not write as asked."""
    low, high = OPSET_RANGES[engine]
    if isinstance(opset, bool) or not isinstance(opset, int) or not low <= opset <= high:
        other = [name for name, (lo, hi) in OPSET_RANGES.items() if name != engine and isinstance(opset, int)
                 and lo <= opset <= hi]
        hint = f"; the {other[0]} engine writes opset {opset}" if other else ""
        raise UnsupportedOpsetError(f"the {engine} engine writes opsets {low} to {high}, not {opset!r}{hint}")
EXTERNAL_DATA_THRESHOLD = 2 * 1024**3  # protobuf's limit on one file


@dataclass
class ExportResult:
    path: Path
    engine: str
    opset: int
    export_seconds: float
    input_names: list[str]
    output_names: list[str]
    artefact_bytes: int
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _parameter_bytes(model: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def artefact_size(onnx_path: Path) -> int:
    """Bytes of an ONNX file plus any external data files beside it."""
    onnx_path = Path(onnx_path)
    total = onnx_path.stat().st_size
    for sibling in onnx_path.parent.iterdir():
        if sibling != onnx_path and sibling.name.startswith(onnx_path.name) and sibling.is_file():
            total += sibling.stat().st_size
    return total


# ---- axis specs -> each engine's dynamic shapes -------------------------------------------

def torchscript_dynamic_axes(config) -> dict[str, dict[int, str]]:
    return {**config.inputs, **config.outputs}


# A derived axis that is a sum of input axes -> those axes.
SUMMED_AXES = {"total_sequence_length": ("past_sequence_length", "sequence_length")}
# torch.export takes every dynamic size to be at least 2 (sizes 0 and 1 specialise).
EXPORT_MIN_DYNAMIC_SIZE = 2


# Token-position axes, bounded by a position table. torch.export specialises a slice that takes
# the whole table (``positions[:, :sequence]`` at sequence == its size: GPT-Neo, OpenAI GPT, MPT),
# so the trace assumes sizes below the bound; the certifier still runs the bound itself.
POSITION_AXES = ("sequence_length", "past_sequence_length", "encoder_sequence_length", "decoder_sequence_length")


def summed_part_caps(table: dict[str, Axis], input_axes: set[str]) -> dict[str, int]:
    """Upper bounds for the parts of a bounded sum (the cached plus new tokens within a
    position table). A model that slices its position table at ``past:past + sequence``
    guards ``past + sequence <= max``; with each part at least 2 to torch.export, that
    guard holds over the whole traced range only if each part is at most ``max - 2``."""
    caps: dict[str, int] = {}
    for total, parts in SUMMED_AXES.items():
        axis = table.get(total)
        if axis is None or axis.max is None or not set(parts) <= input_axes:
            continue
        for part in parts:
            caps[part] = axis.max - EXPORT_MIN_DYNAMIC_SIZE * (len(parts) - 1)
    return caps


def dynamo_upper_bounds(config) -> dict[str, int]:
    """The largest size torch.export is told each bounded input axis takes: its declared bound,
    one less on a position axis (see ``POSITION_AXES``), the part caps of a bounded sum."""
    input_axes = {axis.name: axis for spec in config.input_specs.values() for axis in spec.axes
                  if axis.dynamic and axis.derive is None}
    part_caps = summed_part_caps(config.axis_table(), set(input_axes))
    bounds = {}
    for name, axis in input_axes.items():
        table_bound = axis.max - 1 if axis.max is not None and name in POSITION_AXES and axis.multiple_of == 1 else None
        found = [bound for bound in (axis.max, table_bound, part_caps.get(name)) if bound is not None]
        if found:
            bounds[name] = min(found)
    return bounds


def dynamo_example_shapes(config, input_shapes: dict[str, int]) -> dict[str, int]:
    """``input_shapes`` with every axis whose default lies past its torch.export bound brought
    down to the bound (a 16-position table's default of 16 tokens traces at 15)."""
    table = config.axis_table()
    shapes = dict(input_shapes)
    for name, bound in dynamo_upper_bounds(config).items():
        axis = table.get(name)
        asked = axis is None or name in shapes or axis.shape_kwarg in shapes
        if not asked and axis.default is not None and axis.default > bound:
            shapes[name] = bound // axis.multiple_of * axis.multiple_of
    return shapes


def dynamo_dynamic_shapes(config) -> tuple[tuple[dict[int, Any], ...]]:
    """``torch.export`` dynamic shapes for the wrapper's ``forward(*args)``.

    Caller-chosen axes become named ``Dim`` objects carrying the axis bounds (a
    ``multiple_of`` axis becomes ``k * Dim``); an axis derived from others (the attention
    mask over past + new tokens) becomes ``Dim.DYNAMIC`` and torch.export works out the relation.
    """
    from torch.export import Dim

    dims: dict[str, Any] = {}
    upper = dynamo_upper_bounds(config)

    def dim_for(axis: Axis):
        if axis.name in dims:
            return dims[axis.name]
        if axis.derive is not None:
            return Dim.DYNAMIC
        step = axis.multiple_of
        lo = max(math.ceil(axis.min / step), 0)
        hi = upper[axis.name] // step if axis.name in upper else None
        name = axis.name if step == 1 else f"{axis.name}_div_{step}"
        base = Dim(name, min=lo, max=hi) if hi is not None else Dim(name, min=lo)
        dims[axis.name] = base * step if step > 1 else base
        return dims[axis.name]

    shapes = []
    for spec in config.input_specs.values():
        shapes.append({i: dim_for(axis) for i, axis in enumerate(spec.axes) if axis.dynamic})
    return (tuple(shapes),)


def name_symbolic_dims(onnx_model, config) -> None:
    """Give every symbolic graph dimension the name its axis spec declares.

    Only dimensions that are already symbolic are renamed; a dimension the export fixed to
    a number keeps that number, so a baked-in axis is still visible to any checker.
    """
    specs: dict[str, TensorSpec] = {**config.input_specs, **config.output_specs}
    for value in [*onnx_model.graph.input, *onnx_model.graph.output]:
        spec = specs.get(value.name)
        if spec is None or not value.type.HasField("tensor_type"):
            continue
        for axis, dim in zip(spec.axes, value.type.tensor_type.shape.dim):
            if axis.dynamic and not dim.HasField("dim_value"):
                dim.dim_param = axis.name


def _name_symbolic_dims_ir(model, config) -> None:
    """:func:`name_symbolic_dims` on an ``onnx_ir`` model (the dynamo exporter's, before it is saved)."""
    import onnx_ir as ir

    specs: dict[str, TensorSpec] = {**config.input_specs, **config.output_specs}
    for value in [*model.graph.inputs, *model.graph.outputs]:
        spec = specs.get(value.name)
        if spec is None or value.shape is None:
            continue
        dims = list(value.shape.dims)
        for index, (axis, dim) in enumerate(zip(spec.axes, dims)):
            if axis.dynamic and not isinstance(dim, int):
                dims[index] = ir.SymbolicDim(axis.name)
        value.shape = ir.Shape(dims)


def _strip_debug_metadata(onnx_model) -> None:
    """Drop what exporters record for debugging (stack traces with local paths, module names)."""
    for node in _all_nodes(onnx_model.graph):
        del node.metadata_props[:]
        node.doc_string = ""
    onnx_model.doc_string = ""


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs] if attribute.HasField("g") else attribute.graphs:
                yield from _all_nodes(subgraph)


def _strip_debug_metadata_ir(model) -> None:
    for node in model.graph.all_nodes():
        node.metadata_props.clear()
        node.doc_string = None
    for function in model.functions.values():
        for node in function:
            node.metadata_props.clear()
            node.doc_string = None


# ---- export ------------------------------------------------------------------------------

def export(
    model: torch.nn.Module,
    config,
    output: str | os.PathLike,
    opset: int | None = None,
    device: str = "cpu",
    input_shapes: dict[str, int] | None = None,
    engine: str = "dynamo",
    do_constant_folding: bool = True,
    seed: int = 0,
    keep_debug_metadata: bool = False,
) -> ExportResult:
    """Export ``model`` as described by ``config`` to the ONNX file ``output``.

    ``input_shapes`` overrides the dummy-input sizes used for capture (``batch_size=4``...).
    The exporters' debugging records (stack traces naming local paths, module names) are
    dropped unless ``keep_debug_metadata``. Nothing is left at ``output`` if any stage fails.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    output = Path(output)
    opset = config.DEFAULT_ONNX_OPSET if opset is None else opset
    check_opset(opset, engine)
    config.check_requirements()
    created = [parent for parent in (output.parent, *output.parent.parents) if not parent.exists()]
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with staging_folder(output) as staging:
            staged = Path(staging) / output.name
            result = _export_to(model, config, staged, opset, device, input_shapes or {}, engine,
                                do_constant_folding, seed, keep_debug_metadata)
            for produced in sorted(Path(staging).iterdir()):
                os.replace(produced, output.parent / produced.name)
    except BaseException:
        for directory in created:  # innermost first: leave no directory this call made
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    result.path = output
    result.artefact_bytes = artefact_size(output)
    return result


def _export_to(model, config, path: Path, opset, device, input_shapes, engine, do_constant_folding, seed,
               keep_debug_metadata) -> ExportResult:
    import onnx

    wrapper = ExportableModule(model.to(device), config)
    if engine == "dynamo":
        input_shapes = dynamo_example_shapes(config, input_shapes)
    dummy = config.generate_dummy_inputs(framework="pt", seed=seed, **input_shapes)
    args = tuple(t.to(device) for t in wrapper.example_args(dummy))
    external = _parameter_bytes(model) > EXTERNAL_DATA_THRESHOLD
    stages: dict[str, float] = {}
    start = time.perf_counter()
    try:
        patcher = config.patch_model_for_export(model)
        patcher.__enter__()
    except Exception as error:
        raise ExportError(f"applying PATCHING_SPECS: {type(error).__name__}: {error}", stage="capture") from error
    with contextlib.ExitStack() as stack, warnings.catch_warnings():
        stack.push(patcher)
        warnings.simplefilter("ignore")
        if engine == "dynamo":
            written = _export_dynamo(wrapper, config, args, path, opset, external, stages, keep_debug_metadata)
        else:
            _export_torchscript(wrapper, config, args, path, opset, do_constant_folding, stages)
    tic = time.perf_counter()
    try:
        if engine == "torchscript":
            # Rewrite only the graph proto: external weights stay where the exporter put them.
            onnx_model = onnx.load(str(path), load_external_data=False)
            name_symbolic_dims(onnx_model, config)
            if not keep_debug_metadata:
                _strip_debug_metadata(onnx_model)
            onnx.save(onnx_model, str(path))
            written = next((e.version for e in onnx_model.opset_import if e.domain in ("", "ai.onnx")), None)
        onnx.checker.check_model(str(path), full_check=True)
        if written != opset:
            raise ValueError(f"opset {opset} was asked for, the {engine} engine wrote opset {written}")
    except Exception as error:
        raise ExportError(f"{type(error).__name__}: {error}", stage="check") from error
    stages["check"] = time.perf_counter() - tic
    return ExportResult(path, engine, opset, time.perf_counter() - start, wrapper.input_names,
                        wrapper.output_names, 0, stages)


def _export_dynamo(wrapper, config, args, path, opset, external, stages, keep_debug_metadata):
    tic = time.perf_counter()
    try:
        program = torch.export.export(wrapper, args, dynamic_shapes=dynamo_dynamic_shapes(config), strict=False)
    except Exception as error:
        raise ExportError(f"{type(error).__name__}: {error}", stage="capture") from error
    stages["capture"] = time.perf_counter() - tic
    tic = time.perf_counter()
    try:
        with contextlib.redirect_stdout(None):
            onnx_program = _translate(program, args, wrapper.input_names, wrapper.output_names, opset)
        # Named and stripped in memory, saved once.
        _name_symbolic_dims_ir(onnx_program.model, config)
        if not keep_debug_metadata:
            _strip_debug_metadata_ir(onnx_program.model)
        onnx_program.save(str(path), external_data=external)
    except Exception as error:
        raise ExportError(f"{type(error).__name__}: {error}", stage="translate") from error
    stages["translate"] = time.perf_counter() - tic
    return onnx_program.model.opset_imports.get("")


def _translate(program, args, input_names, output_names, opset: int):
    """The ExportedProgram as an ONNX program, through torch.onnx's exporter with the function
    table built once per process (see :func:`_torchlib_registry`)."""
    registry = _torchlib_registry(opset)
    with exact_rewrite_constants():
        if registry is None:
            return torch.onnx.export(program, args, input_names=input_names, output_names=output_names,
                                     opset_version=opset, dynamo=True, optimize=True, verify=False)
        from torch.onnx._internal.exporter import _core

        return _core.export(program, args, registry=registry, input_names=input_names, output_names=output_names,
                            optimize=True, verify=False, opset_version=opset)


@contextlib.contextmanager
def exact_rewrite_constants():
    """onnxscript's optimizer with its rewrite rules' constants matched without an absolute tolerance.

    A rule's constant matches within abs 1e-8 (and rel 1e-5), so its no-op rule deletes
    ``x + 1e-8`` as if it were ``x + 0``: Helium's RMSNorm epsilon (1e-8) vanished, and a
    padding token embedded as zeros normalised to NaN. Near zero only exact values match here;
    elsewhere the relative tolerance stays.
    """
    try:
        from onnxscript.rewriter import _matcher
    except ImportError:  # another onnxscript layout: nothing to tighten
        yield
        return
    matcher = getattr(_matcher, "SimplePatternMatcher", None)
    original = getattr(matcher, "_match_constant", None)
    if original is None:
        yield
        return

    def match_exactly_near_zero(self, pattern_constant, value):
        saved = getattr(pattern_constant, "_abs_tol", None)
        if saved is None:
            return original(self, pattern_constant, value)
        pattern_constant._abs_tol = 0.0
        try:
            return original(self, pattern_constant, value)
        finally:
            pattern_constant._abs_tol = saved

    matcher._match_constant = match_exactly_near_zero
    try:
        yield
    finally:
        matcher._match_constant = original


@functools.lru_cache(maxsize=4)
def _torchlib_registry(opset: int):
    """torch.onnx's aten -> ONNX function table for ``opset``, or None where it cannot be built here.

    torch.onnx.export builds it anew on every call, parsing some 500 torchlib functions: a
    third of a tiny model's dynamo export. It is only read during an export, so one per
    process serves every export (the public entry point remains the fallback).
    """
    try:
        from torch.onnx._internal.exporter import _constants, _registration
    except ImportError:
        return None
    return _registration.ONNXRegistry.from_torchlib(opset_version=max(opset, _constants.TORCHLIB_OPSET))


def _export_torchscript(wrapper, config, args, path, opset, do_constant_folding, stages):
    tic = time.perf_counter()
    try:
        torch.onnx.export(
            wrapper, args, str(path), input_names=wrapper.input_names, output_names=wrapper.output_names,
            dynamic_axes=torchscript_dynamic_axes(config), opset_version=opset,
            do_constant_folding=do_constant_folding, dynamo=False)
    except Exception as error:
        raise ExportError(f"{type(error).__name__}: {error}", stage="translate") from error
    stages["translate"] = time.perf_counter() - tic


def export_parts(
    model: torch.nn.Module,
    config,
    directory: str | os.PathLike,
    monolith: bool = False,
    parts: dict[str, Any] | None = None,
    **export_kwargs: Any,
) -> dict[str, ExportResult]:
    """Export every submodel of ``config`` (or the given ``parts``, by file stem) into ``directory``
    as it goes (for a caller that stages it)."""
    if parts is None:
        parts = {"model": config} if monolith else config.submodels()
    return {stem: export(model, part, Path(directory) / f"{stem}.onnx", **export_kwargs)
            for stem, part in parts.items()}


def export_models(
    model: torch.nn.Module,
    config,
    output_dir: str | os.PathLike,
    monolith: bool = False,
    layout: str | None = None,
    **export_kwargs: Any,
) -> dict[str, ExportResult]:
    """Export every submodel of ``config`` (one ``model.onnx``, or encoder/decoder parts) into ``output_dir``.

    ``monolith=True`` exports ``config`` itself as one ``model.onnx`` even where it could be split.
    ``layout`` ("optimum", "transformers.js") names and places the graphs as that runtime loads
    them (:mod:`exportkit.layout`); an in-memory model has no source directory, so only the
    ONNX files are written, no config or tokenizer files.

    The parts are assembled beside ``output_dir`` and moved in only once all of them exported,
    so a failure leaves neither a partial directory nor a changed existing one. Files of the
    existing directory that this export does not write stay.
    """
    from ...layout import arrange, get_layout

    chosen = get_layout(layout) if layout is not None else None
    parts = chosen.parts(config, monolith) if chosen else ({"model": config} if monolith else config.submodels())
    with StagedDirectory(output_dir, existing="merge") as staged:
        results = export_parts(model, config, staged.path, parts=parts, **export_kwargs)
        if chosen:
            arrange(chosen, staged.path, results, parts, dtype=getattr(config, "float_dtype", "fp32"))
        written = {stem: Path(result.path).relative_to(staged.path) for stem, result in results.items()}
        staged.commit()
    for stem, result in results.items():
        result.path = Path(output_dir) / written[stem]
    return results


# ---- validation ----------------------------------------------------------------------------

@dataclass
class OutputComparison:
    name: str
    max_abs_diff: float
    atol: float
    reference_shape: tuple[int, ...]
    onnx_shape: tuple[int, ...] | None
    # Positions not compared because the config declares them undefined under this padding.
    skipped_positions: int = 0

    @property
    def within_tolerance(self) -> bool:
        return self.max_abs_diff <= self.atol


@dataclass
class ValidationReport:
    """What one comparison of ONNX Runtime against PyTorch measured."""

    dims: dict[str, int]
    outputs: dict[str, OutputComparison]
    missing_outputs: list[str]
    shape_mismatches: list[str]
    padding: dict[str, str] = field(default_factory=dict)  # mask input -> the padding it had

    @property
    def ok(self) -> bool:
        return not self.missing_outputs and not self.shape_mismatches and all(
            c.within_tolerance for c in self.outputs.values())

    @property
    def where(self) -> str:
        padded = {name: kind for name, kind in self.padding.items() if kind != "none"}
        return f"(sizes {self.dims}" + (f", padding {padded})" if padded else ")")

    def raise_for_errors(self) -> None:
        if self.missing_outputs:
            raise OutputMissingError(f"the ONNX model lacks outputs {self.missing_outputs} {self.where}")
        if self.shape_mismatches:
            raise ShapeMismatchError("; ".join(self.shape_mismatches) + f" {self.where}")
        breaches = [c for c in self.outputs.values() if not c.within_tolerance]
        if breaches:
            raise AtolError("; ".join(
                f"{c.name}: max abs diff {c.max_abs_diff:.3g} > atol {c.atol:g}" for c in breaches) + f" {self.where}")


def onnx_session(onnx_model: str | os.PathLike, device: str = "cpu", threads: int | None = None):
    """An ONNX Runtime session; ``threads`` caps its intra-op threads (default: ONNX Runtime's, one per core)."""
    import onnxruntime as ort

    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(onnx_model), options, providers=providers)


def reference_outputs(reference_model: torch.nn.Module, config, inputs: dict[str, torch.Tensor], device: str = "cpu"):
    """What PyTorch computes, through the same calling convention as the export but without the
    config's export patches: a patch that changed the model's results would otherwise go unseen."""
    wrapper = ExportableModule(reference_model.to(device), config)
    was_training = reference_model.training
    reference_model.eval()
    try:
        with torch.no_grad():
            values = wrapper(*(t.to(device) for t in wrapper.example_args(inputs)))
    finally:
        reference_model.train(was_training)
    return dict(zip(wrapper.output_names, values))


def compare_outputs(config, reference_model, session, dims: dict[str, int], atol: float | None = None,
                    device: str = "cpu", seed: int = 1, padding=None) -> ValidationReport:
    """Run PyTorch and ONNX Runtime on the same seeded inputs of sizes ``dims`` and measure the differences.

    ``padding`` (mask input -> :class:`~exportkit.padding.Padding`) pads the batch; by default
    it is ragged as the export's. Output positions the config declares undefined under that
    padding (``UNDEFINED_AT_PADDING``) are left out of the comparison and counted.
    """
    resolved = config.dims(**dims)
    padding = config.default_padding(resolved) if padding is None else dict(padding)
    inputs = config.generate_dummy_inputs(framework="pt", seed=seed, padding=padding, **dims)
    reference = reference_outputs(reference_model, config, inputs, device)
    graph_inputs = {i.name for i in session.get_inputs()}
    renamed = graph_input_names(config)  # a laid-out graph may call an input as its runtime does
    feed = {}
    for name, tensor in inputs.items():
        graph_name = name if name in graph_inputs else renamed.get(name)
        if graph_name in graph_inputs:
            feed[graph_name] = tensor.cpu().numpy()
    onnx_names = [o.name for o in session.get_outputs()]
    wanted = [name for name in reference if name in onnx_names]
    produced = dict(zip(wanted, session.run(wanted, feed))) if wanted else {}
    comparisons, mismatches = {}, []
    for name, expected in reference.items():
        if name not in produced:
            continue
        expected = expected.detach().float().cpu().numpy()
        got = np.asarray(produced[name], dtype=np.float32)
        if expected.shape != got.shape:
            mismatches.append(f"{name}: ONNX shape {got.shape} != PyTorch shape {expected.shape}")
            comparisons[name] = OutputComparison(name, math.inf, config.atol_for() if atol is None else atol,
                                                 expected.shape, got.shape)
            continue
        undefined = config.undefined_output_positions(name, expected.shape, resolved, padding)
        compared = np.ones(expected.shape, dtype=bool) if undefined is None else ~undefined
        diff = _max_abs_diff(expected[compared], got[compared])
        skipped = 0 if undefined is None else int(undefined.sum())
        tolerance = config.atol_for(magnitude=_magnitude(expected[compared])) if atol is None else atol
        comparisons[name] = OutputComparison(name, diff, tolerance, expected.shape, got.shape, skipped)
    missing = [name for name in reference if name not in produced]
    return ValidationReport(dict(resolved), comparisons, missing, mismatches,
                            {name: pad.describe() for name, pad in padding.items()})


def _magnitude(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.max(np.abs(finite))) if finite.size else 1.0


def _max_abs_diff(expected: np.ndarray, got: np.ndarray) -> float:
    """The largest absolute difference; NaN where only one side is NaN counts as infinite."""
    if not expected.size:
        return 0.0
    nan_expected, nan_got = np.isnan(expected), np.isnan(got)
    if not np.array_equal(nan_expected, nan_got):
        return math.inf
    expected, got = expected[~nan_expected], got[~nan_expected]
    if not expected.size:
        return 0.0
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities differ by nothing
        diff = np.where(expected == got, 0.0, np.abs(expected - got))
    return float(np.max(diff))


def validate_model_outputs(
    config,
    reference_model: torch.nn.Module,
    onnx_model: str | os.PathLike,
    onnx_named_outputs: list[str] | None = None,
    atol: float | None = None,
    input_shapes: dict[str, int] | None = None,
    device: str = "cpu",
) -> ValidationReport:
    """Compare ONNX Runtime with PyTorch on sizes that differ from the export's.

    Raises :class:`OutputMissingError`, :class:`ShapeMismatchError` or :class:`AtolError`;
    returns the measurements when every output matches.
    """
    session = onnx_session(onnx_model, device)
    dims = {**config.validation_dims(), **(input_shapes or {})}
    report = compare_outputs(config, reference_model, session, dims, atol=atol, device=device)
    if onnx_named_outputs is not None:
        unexpected = [name for name in onnx_named_outputs if name not in report.outputs and name not in report.missing_outputs]
        if unexpected:
            raise OutputMissingError(f"outputs {unexpected} are not declared by {type(config).__name__}")
    report.raise_for_errors()
    return report
