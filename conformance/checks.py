"""The properties a certified export has. Each check returns what it measured or raises
:class:`CheckFailed` naming the stage it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .strategies import Example


class MemoryBudgetExceeded(BaseException):
    """An allocation refused under the case's memory budget.

    Deliberately not an ``Exception``: hypothesis must neither shrink nor replay it, since
    whether an allocation fits depends on the process's state as well as on the example.
    """

    def __init__(self, message: str, example: dict | None = None):
        super().__init__(message)
        self.example = example


class CheckFailed(AssertionError):
    def __init__(self, stage: str, message: str, measured: dict[str, float] | None = None):
        super().__init__(message)
        self.stage = stage
        self.measured = measured or {}  # per-output max abs diff, where the failing check measured one
        self.example: dict | None = None  # the example it failed on, as a certificate shows it


def check_onnx_model(path) -> None:
    """Property 2: ``onnx.checker`` with full checks (shape inference included)."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as error:
        raise CheckFailed("check", f"onnx.checker: {error}") from error


def model_settings(model) -> dict[str, str]:
    """What the model's config says, and the modes its modules are in (their string attributes:
    ``attention_type``, ...; counters and caches are not modes). A model that rewrites either
    while running has become another model than the one exported or compared against."""
    config = getattr(model, "config", None)
    settings = {}
    if config is not None:
        values = config.to_dict() if hasattr(config, "to_dict") else dict(config)
        settings = {f"config.{key}": repr(value) for key, value in values.items()}
    if hasattr(model, "named_modules"):
        settings.update({f"{name or 'model'}.{attr}": value for name, module in model.named_modules()
                         for attr, value in vars(module).items() if isinstance(value, str) and not attr.startswith("_")})
    return settings


def check_settings_unchanged(model, before: dict[str, str], stage: str, during: str) -> None:
    """The model is still the one it was built as: ``during`` (the export, a forward) changed no setting.

    BigBird is the example: called on a short input, its modules switch from block-sparse to full
    attention for good, so an export traced on one computes another attention than the model did,
    and every later comparison is against the switched model."""
    after = model_settings(model)
    if after == before:
        return
    changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    detail = ", ".join(f"{key}: {before.get(key)} -> {after.get(key)}" for key in changed[:3])
    raise CheckFailed(stage, f"the model changed its own settings during {during}: {detail}")


def _graph_values(path):
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return list(model.graph.input), list(model.graph.output)


def check_io_names(path, config) -> None:
    """Property 3: the graph's inputs and outputs are exactly the ones the config declares, in order."""
    inputs, outputs = _graph_values(path)
    got_in, got_out = [v.name for v in inputs], [v.name for v in outputs]
    want_in, want_out = list(config.input_specs), list(config.output_specs)
    if got_in != want_in or got_out != want_out:
        raise CheckFailed("io", f"graph inputs {got_in} / outputs {got_out}; declared {want_in} / {want_out}")


def check_dynamic_axes_symbolic(path, config) -> None:
    """Property 4: every axis the config declares dynamic is symbolic in the graph."""
    inputs, outputs = _graph_values(path)
    specs = {**config.input_specs, **config.output_specs}
    baked = []
    for value in [*inputs, *outputs]:
        spec = specs.get(value.name)
        if spec is None:
            continue
        dims = value.type.tensor_type.shape.dim
        if len(dims) != spec.rank:
            baked.append(f"{value.name}: rank {len(dims)} in the graph, {spec.rank} declared")
            continue
        for index, (axis, dim) in enumerate(zip(spec.axes, dims)):
            if axis.dynamic and dim.HasField("dim_value"):
                baked.append(f"{value.name}[{index}] ({axis.name}) is fixed to {dim.dim_value}")
    if baked:
        raise CheckFailed("dynamic-axes", "declared dynamic but fixed in the graph: " + "; ".join(baked))


@dataclass
class ExampleResult:
    example: Example
    max_abs_diff: dict[str, float]
    skipped_positions: dict[str, int]


def check_outputs_match(config, model, session, example: Example, atol: float, seed: int) -> ExampleResult:
    """Property 5 for one example: ORT matches PyTorch within ``atol`` (at every position the
    config does not declare undefined under the example's padding) and every output has the
    shape its declared axes give."""
    from exportkit.exporters.onnx import compare_outputs

    where = example.shown()
    try:
        report = compare_outputs(config, model, session, dict(example.dims), atol=atol, seed=seed,
                                 padding=example.padding)
    except Exception as error:
        if is_out_of_memory(error):
            raise MemoryBudgetExceeded(f"out of memory at {where}: {type(error).__name__}: {first_line(error)}",
                                       where) from error
        raise CheckFailed("run", f"{type(error).__name__}: {error}") from error
    diffs = {name: c.max_abs_diff for name, c in report.outputs.items()}
    if report.missing_outputs:
        raise CheckFailed("run", f"outputs missing at {where}: {report.missing_outputs}")
    if report.shape_mismatches:
        raise CheckFailed("shapes", "; ".join(report.shape_mismatches) + f" at {where}")
    for name, spec in config.output_specs.items():
        shape = report.outputs[name].onnx_shape
        for index, axis in enumerate(spec.axes):
            if not axis.dynamic or (axis.derive is None and axis.name not in report.dims):
                continue  # static, or a size only the model knows: compared against PyTorch above
            expected = axis.size(report.dims)
            if shape[index] != expected:
                raise CheckFailed("shapes", f"{name}[{index}] ({axis.name}) is {shape[index]}, declared {expected} "
                                            f"at {where}")
    breaches = {name: d for name, d in diffs.items() if not d <= atol or np.isnan(d)}
    if breaches:
        detail = ", ".join(f"{name}: {d:.3g}" for name, d in breaches.items())
        raise CheckFailed("compare", f"max abs diff over atol {atol:g} at {where}: {detail}", diffs)
    skipped = {name: c.skipped_positions for name, c in report.outputs.items() if c.skipped_positions}
    return ExampleResult(example, diffs, skipped)


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else ""


def is_out_of_memory(error: BaseException) -> bool:
    """An allocation refused under the cell's memory limit (torch, numpy and ONNX Runtime say it differently)."""
    if isinstance(error, MemoryError):
        return True
    text = str(error)
    return any(marker in text for marker in ("can't allocate memory", "Cannot allocate memory", "bad_alloc",
                                             "Failed to allocate memory"))
