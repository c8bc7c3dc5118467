"""Backend-agnostic export configuration.

A config turns a model config plus a task into typed input and output specs. Subclasses say
what differs declaratively:

* ``INPUTS``: input name -> axis names, in the order the exported graph takes them;
* ``_TASK_TO_OUTPUTS``: task -> output name -> axis names (``None`` for a static axis whose
  size the model decides);
* :meth:`axis_table`: the :class:`~exportkit.axes.Axis` behind each axis name, with the
  bounds this model allows.

Methods are kept for behaviour that really differs (calling a sub-module, flattening a
cache); everything else is data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from packaging import version

from ..axes import Axis, TensorSpec, input_axes
from ..errors import ExportKitError, RequirementError
from ..input_generators import DummyInputGenerator
from ..normalized_config import NormalizedConfig
from ..padding import MASKED_INPUTS, PAD_VALUES, SIDES, Padding, pad_token_id, undefined_positions
from ..thresholds import LOCAL_WINDOW_FIELDS, THRESHOLD_FIELDS, Threshold, thresholds_of

AxisNames = tuple[str | None, ...]

BATCH = Axis("batch_size", default=2, min=1, max=64)

# Half precision keeps 11 (fp16) or 8 (bf16) significant bits, so neighbouring values at
# magnitude m are 2**(floor(log2 m) - 10) (fp16: 1.95e-3 in [2, 4)) or 2**(... - 7) apart. Two
# correct half-precision runs that round one step differently already differ by a spacing at
# the output's magnitude, and summing in another order over a network's layers compounds it:
# a few spacings at the largest output value are allowed beside the config's fp32 tolerance.
HALF_PRECISION_BITS = {"fp16": 10, "bf16": 7}
HALF_PRECISION_SPACINGS = 4


def half_precision_tolerance(float_dtype: str, magnitude: float) -> float:
    """``HALF_PRECISION_SPACINGS`` spacings of ``float_dtype`` at ``magnitude`` (0 for fp32)."""
    bits = HALF_PRECISION_BITS.get(float_dtype)
    if bits is None or not math.isfinite(magnitude):
        return 0.0
    return HALF_PRECISION_SPACINGS * 2.0 ** (math.floor(math.log2(max(magnitude, 1.0))) - bits)


def without(mapping: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """A copy of ``mapping`` without ``names``: for a model that lacks an input its family has."""
    return {key: value for key, value in mapping.items() if key not in names}


class ExporterConfig:
    """Base class of every export config; a backend subclass sets ``EXPORTER``."""

    EXPORTER: ClassVar[str | None] = None
    NORMALIZED_CONFIG_CLASS: ClassVar[type | Any] = NormalizedConfig
    DUMMY_INPUT_GENERATOR_CLASSES: ClassVar[tuple[type[DummyInputGenerator], ...]] = ()
    ATOL_FOR_VALIDATION: ClassVar[float | dict[str, float]] = 1e-5
    MIN_TORCH_VERSION: ClassVar[version.Version] = version.parse("2.4")
    MIN_TRANSFORMERS_VERSION: ClassVar[version.Version] = version.parse("5.0")
    PATCHING_SPECS: ClassVar[list | None] = None
    SUPPORTS_PAST: ClassVar[bool] = False

    # Padding: the sides real batches are padded on (the first is the export dummies'), and
    # the sides after which outputs at padded positions hold no defined value and are not
    # compared (a causal decoder's left-padded positions attend to nothing).
    PADDING_SIDES: ClassVar[tuple[str, ...]] = SIDES
    UNDEFINED_AT_PADDING: ClassVar[frozenset[str]] = frozenset()
    # Export dummies are padded, so that a model that skips its mask when nothing is padded
    # still traces the masked code path.
    PAD_EXPORT_INPUTS: ClassVar[bool] = True
    # Whether the model reads each row at its end-of-sequence token (an encoder-decoder's
    # classifier, which refuses rows with different numbers of them): then every row of the
    # dummy ``input_ids`` holds one, on its last real position, as a tokenizer writes it.
    EOS_ENDS_EACH_ROW: ClassVar[bool] = False
    # Config fields that are size thresholds (sliding window, ...) -> the axes that cross them.
    THRESHOLD_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = THRESHOLD_FIELDS

    INPUTS: ClassVar[dict[str, AxisNames]] = {}
    _TASK_TO_OUTPUTS: ClassVar[dict[str, dict[str, AxisNames]]] = {}
    # Value kind of inputs whose name does not say it ("int" for ids and masks).
    INT_INPUTS: ClassVar[frozenset[str]] = frozenset(
        {"input_ids", "attention_mask", "token_type_ids", "position_ids", "decoder_input_ids",
         "decoder_attention_mask", "encoder_attention_mask", "pixel_mask", "input_features_mask", "lang_ids",
         "bbox", "global_attention_mask"}
    )

    def __init__(
        self,
        config: Any,
        task: str = "feature-extraction",
        preprocessors: list[Any] | None = None,
        int_dtype: str = "int64",
        float_dtype: str = "fp32",
        legacy: bool = False,
    ):
        from ..task_names import Task

        parsed = Task.parse(task)
        if parsed.with_past:
            raise ValueError(f"pass use_past=True rather than the task {task!r} to {type(self).__name__}")
        if parsed.name not in self.supported_task_names():
            raise ValueError(
                f"{type(self).__name__} does not support task {task!r}; supported: {sorted(self.supported_task_names())}"
            )
        if int_dtype not in ("int64", "int32", "int8"):
            raise ValueError(f"int_dtype must be int64, int32 or int8, got {int_dtype!r}")
        if float_dtype not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"float_dtype must be fp32, fp16 or bf16, got {float_dtype!r}")
        self._config = config
        self.task = parsed.name
        self._preprocessors = preprocessors
        self.int_dtype = int_dtype
        self.float_dtype = float_dtype
        self.legacy = legacy  # accepted for seed compatibility; exports are never "legacy" here
        self._normalized_config = self.NORMALIZED_CONFIG_CLASS(config)

    # ---- declarations --------------------------------------------------------------------

    @classmethod
    def supported_task_names(cls) -> set[str]:
        return set(cls._TASK_TO_OUTPUTS)

    def axis_table(self) -> dict[str, Axis]:
        """Every axis name used by ``INPUTS`` and ``_TASK_TO_OUTPUTS``, mapped to its Axis."""
        return {"batch_size": BATCH}

    def _spec(self, name: str, axis_names: AxisNames, table: Mapping[str, Axis]) -> TensorSpec:
        axes = []
        for position, axis_name in enumerate(axis_names):
            if axis_name is None:
                axes.append(Axis(f"{name}_dim_{position}", dynamic=False))
            elif axis_name not in table:
                raise ExportKitError(f"{type(self).__name__}: {name!r} uses unknown axis {axis_name!r}")
            else:
                axes.append(table[axis_name])
        dtype = "int" if name in self.INT_INPUTS else "float"
        return TensorSpec(name, tuple(axes), dtype)

    @property
    def input_specs(self) -> dict[str, TensorSpec]:
        table = self.axis_table()
        return {name: self._spec(name, axes, table) for name, axes in self.INPUTS.items()}

    @property
    def output_specs(self) -> dict[str, TensorSpec]:
        table = self.axis_table()
        return {name: self._spec(name, axes, table) for name, axes in self._TASK_TO_OUTPUTS[self.task].items()}

    # ---- the seed's dict views -----------------------------------------------------------

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {name: spec.dynamic_axes for name, spec in self.input_specs.items()}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {name: spec.dynamic_axes for name, spec in self.output_specs.items()}

    # ---- sizes ---------------------------------------------------------------------------

    @property
    def axes(self) -> dict[str, Axis]:
        """The caller-chosen input axes (batch, sequence, ...), by name."""
        return input_axes(self.input_specs)

    def dims(self, **shape_kwargs: int) -> dict[str, int]:
        """Concrete sizes for every input axis: keyword (by axis name or seed keyword) or default."""
        dims = {}
        known = {}
        for axis in self.axes.values():
            known[axis.name] = axis
            known[axis.shape_kwarg] = axis
            value = shape_kwargs.get(axis.name, shape_kwargs.get(axis.shape_kwarg, axis.default))
            if not axis.accepts(int(value)):
                bounds = f"[{axis.min}, {axis.max if axis.max is not None else 'inf'}]"
                step = f" in steps of {axis.multiple_of}" if axis.multiple_of > 1 else ""
                raise ValueError(f"{type(self).__name__}: {axis.shape_kwarg}={value} is outside {bounds}{step}")
            dims[axis.name] = int(value)
        self._check_derived_sizes(dims)
        return dims

    def _check_derived_sizes(self, dims: dict[str, int]) -> None:
        """A derived axis (past + new tokens) must stay inside its own bounds too, an output's as
        well: a seq2seq decoder's cache outputs hold past and new tokens of one position table."""
        for spec in [*self.input_specs.values(), *self.output_specs.values()]:
            for axis in spec.axes:
                if axis.dynamic and axis.derive is not None and not axis.accepts(axis.size(dims)):
                    raise ValueError(
                        f"{type(self).__name__}: {axis.name}={axis.size(dims)} (from {dims}) is outside "
                        f"[{axis.min}, {axis.max if axis.max is not None else 'inf'}]")

    def validation_dims(self) -> dict[str, int]:
        """Sizes that differ from the export's on every dynamic input axis, where the axis allows it."""
        dims = {}
        for axis in self.axes.values():
            for candidate in (axis.default + axis.multiple_of, axis.default - axis.multiple_of, axis.default):
                if axis.accepts(candidate):
                    dims[axis.name] = candidate
                    break
        return dims

    def smallest_dims(self) -> dict[str, int]:
        """Every input axis at its smallest accepted size: the edge case worth checking first."""
        return {name: axis.smallest for name, axis in self.axes.items()}

    def thresholds(self) -> list[Threshold]:
        """The size thresholds the model config sets, on the axes this export has."""
        specs = [*self.input_specs.values(), *self.output_specs.values()]
        names = {axis.name for spec in specs for axis in spec.axes if axis.dynamic}
        return thresholds_of(self._config, self.THRESHOLD_FIELDS, names)

    def atol_for(self, task: str | None = None, magnitude: float = 1.0) -> float:
        """The validation tolerance: the config's, but never below what the float dtype can
        resolve at ``magnitude`` (the largest absolute value of the output compared)."""
        atol = self.ATOL_FOR_VALIDATION
        if isinstance(atol, dict):
            atol = atol.get(task or self.task, max(atol.values()))
        return max(atol, half_precision_tolerance(self.float_dtype, magnitude))

    # ---- padding -------------------------------------------------------------------------

    @property
    def mask_specs(self) -> dict[str, TensorSpec]:
        """The mask inputs of this export (``attention_mask``, ...), by name."""
        return {name: spec for name, spec in self.input_specs.items() if name in MASKED_INPUTS}

    @property
    def pad_token_id(self) -> int:
        return pad_token_id(self._normalized_config)

    def default_padding(self, dims: Mapping[str, int]) -> dict[str, Padding]:
        """The export dummies' padding: a ragged batch on the config's first padding side."""
        if not self.PAD_EXPORT_INPUTS:
            return {}
        padding = {}
        for name, spec in self.mask_specs.items():
            *leading, length = spec.shape(dims)
            padding[name] = Padding.typical(math.prod(leading), length, self.PADDING_SIDES[0])
        return padding

    def _apply_padding(self, inputs: dict[str, Any], padding: Mapping[str, Padding]) -> None:
        for mask_name, pad in padding.items():
            if mask_name not in inputs:
                raise ValueError(f"{type(self).__name__} has no mask input {mask_name!r} to pad")
            mask = inputs[mask_name]
            valid = torch.from_numpy(pad.valid(tuple(mask.shape)))
            inputs[mask_name] = valid.to(mask.dtype)
            for ids_name in MASKED_INPUTS[mask_name]:
                if ids_name not in inputs:
                    continue
                ids = inputs[ids_name]
                fill = PAD_VALUES[ids_name]
                per_token = ids.dim() - valid.dim()  # axes after the position (TAPAS's token types)
                length = ids.shape[valid.dim() - 1]
                under = valid[..., valid.shape[-1] - length:]  # ids cover the mask's last positions
                under = under.reshape(*under.shape, *(1,) * per_token)
                ids.masked_fill_(~under, self.pad_token_id if fill is None else fill)

    def _end_rows_with_eos(self, inputs: dict[str, Any]) -> None:
        eos = self._config.eos_token_id
        eos = eos[0] if isinstance(eos, (list, tuple)) else eos
        ids = inputs["input_ids"]
        vocab = self._normalized_config.vocab_size
        other = next(t for t in ((eos + step) % vocab for step in (1, 2, 3)) if t not in (eos, self.pad_token_id))
        ids.masked_fill_(ids == eos, other)
        mask = inputs.get("attention_mask")
        real = mask.bool() if mask is not None else torch.ones_like(ids, dtype=torch.bool)
        positions = torch.arange(ids.shape[-1]).expand_as(ids)
        last = torch.where(real, positions, -1).amax(dim=-1, keepdim=True)  # every row keeps a real position
        ids.scatter_(-1, last, eos)

    def undefined_output_positions(self, name: str, shape: tuple[int, ...], dims: Mapping[str, int],
                                   padding: Mapping[str, Padding]):
        """Positions of output ``name`` that hold no defined value under ``padding`` (bool array), or None."""
        undefined = None
        spec = self.output_specs[name]
        output_axes = tuple(axis.name for axis in spec.axes)
        for mask_name, pad in padding.items():
            if pad.side not in self.padding_undefined_after() or pad.kind == "none":
                continue
            mask_spec = self.input_specs[mask_name]
            mask_axes = tuple(axis.name for axis in mask_spec.axes)
            position_axes = {mask_axes[-1]} | {  # an id input's position axis is where the mask's is
                self.input_specs[ids].axes[len(mask_axes) - 1].name for ids in MASKED_INPUTS[mask_name]
                if ids in self.input_specs}
            found = undefined_positions(output_axes, shape, mask_axes, position_axes,
                                        pad.valid(mask_spec.shape(dims)))
            if found is not None:
                undefined = found if undefined is None else (undefined | found)
        return undefined

    # ---- dummy inputs --------------------------------------------------------------------

    def _generators(self) -> list[DummyInputGenerator]:
        return [
            cls(self.task, self._normalized_config, int_dtype=self.int_dtype, float_dtype=self.float_dtype)
            for cls in self.DUMMY_INPUT_GENERATOR_CLASSES
        ]

    def generate_dummy_inputs(self, framework: str = "pt", seed: int = 0, padding: Mapping[str, Padding] | None = None,
                              **shape_kwargs: int) -> dict[str, Any]:
        """Seeded dummy inputs, shaped by the input specs; keyword sizes override the defaults.

        ``padding`` maps mask inputs to a :class:`~exportkit.padding.Padding` (a mask left out
        is all ones); by default the batch is ragged (:meth:`default_padding`).
        """
        if framework not in ("pt", "np"):
            raise ValueError(f"framework must be 'pt' or 'np', got {framework!r}")
        dims = self.dims(**shape_kwargs)
        rng = torch.Generator().manual_seed(seed)
        generators = self._generators()
        out = {}
        for name, spec in self.input_specs.items():
            generator = next((g for g in generators if g.supports_input(name)), None)
            if generator is None:
                raise ExportKitError(f"{type(self).__name__}: no dummy input generator supports {name!r}")
            out[name] = generator.generate(spec, spec.shape(dims), rng)
        self._apply_padding(out, self.default_padding(dims) if padding is None else padding)
        if self.EOS_ENDS_EACH_ROW and "input_ids" in out:
            self._end_rows_with_eos(out)
        if framework == "np":
            return {name: tensor.numpy() for name, tensor in out.items()}
        return out

    # ---- calling the model: the behaviour an export wraps ---------------------------------

    def model_kwargs(self, inputs: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Keyword arguments for the model from the flat graph inputs."""
        return dict(inputs)

    def call_model(self, model: torch.nn.Module, kwargs: dict[str, Any]) -> Any:
        return model(**kwargs)

    def flatten_outputs(self, model_output: Any) -> dict[str, torch.Tensor]:
        """The declared outputs, by name, from what the model returned."""
        out = {}
        for name in self.output_specs:
            if isinstance(model_output, torch.Tensor):
                out[name] = model_output
            else:
                out[name] = model_output[name]
        return out

    def submodels(self) -> dict[str, ExporterConfig]:
        """The artefacts one export produces, by file stem (one ``model`` unless a seq2seq split)."""
        return {"model": self}

    def patching_specs(self, model: torch.nn.Module) -> list:
        """The patches applied while ``model`` is exported: ``PATCHING_SPECS`` and, in subclasses,
        patches that depend on the model instance."""
        return list(self.PATCHING_SPECS or ())

    def padding_undefined_after(self) -> frozenset[str]:
        """The padding sides after which outputs at padded positions are not compared: the
        config's, and every side under a local attention window (:data:`LOCAL_WINDOW_FIELDS`)."""
        if any(threshold.field in LOCAL_WINDOW_FIELDS for threshold in self.thresholds()):
            return frozenset(SIDES)
        return frozenset(self.UNDEFINED_AT_PADDING)

    def patch_model_for_export(self, model: torch.nn.Module):
        from .onnx.patcher import ModelPatcher

        return ModelPatcher(self, model)

    def check_requirements(self) -> None:
        """Raise when the installed torch or transformers is older than this config needs."""
        import torch as _torch

        if version.parse(_torch.__version__.split("+")[0]) < self.MIN_TORCH_VERSION:
            raise RequirementError(f"{type(self).__name__} needs torch >= {self.MIN_TORCH_VERSION}")
        try:
            import transformers
        except ImportError:
            return
        if version.parse(transformers.__version__) < self.MIN_TRANSFORMERS_VERSION:
            raise RequirementError(f"{type(self).__name__} needs transformers >= {self.MIN_TRANSFORMERS_VERSION}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r})"
