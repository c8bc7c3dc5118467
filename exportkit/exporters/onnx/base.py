"""The seed's ONNX config base classes: ``OnnxConfig``, ``OnnxConfigWithPast``, ``OnnxSeq2SeqConfigWithPast``."""

from __future__ import annotations

import copy
import enum
import inspect
from typing import Any, ClassVar

import torch

from ...axes import Axis, TensorSpec, derived
from ...input_generators import DummyPastKeyValuesGenerator
from ..base import ExporterConfig


class OnnxConfig(ExporterConfig):
    """Base class of every ONNX export config."""

    EXPORTER = "onnx"
    DEFAULT_ONNX_OPSET: ClassVar[int] = 18

    def reserved_positions(self) -> int:
        """Position embeddings the model never gives to a token (RoBERTa starts after its padding id)."""
        return 0

    def patching_specs(self, model: torch.nn.Module) -> list:
        from .complex_rope import complex_rope_patches
        from .linear_attention import (chunked_rule_patches, lightning_attention_patches, recurrence_patches,
                                       recurrent_mask_patches)
        from .patcher import (attention_rank_patches, bool_scatter_patches, embedding_bag_patches, experts_patches,
                              sdpa_gqa_patches, selective_scan_patches, shift_right_patches)
        from .sequence_patches import position_table_patches, sliding_chunks_patches

        return (super().patching_specs(model) + experts_patches(model) + shift_right_patches(model)
                + selective_scan_patches(model) + chunked_rule_patches(model) + recurrent_mask_patches(model)
                + recurrence_patches(model) + lightning_attention_patches(model)
                + attention_rank_patches(model) + embedding_bag_patches(model) + sdpa_gqa_patches(model)
                + complex_rope_patches(model) + bool_scatter_patches(model) + sliding_chunks_patches(model)
                + position_table_patches(model))


# transformers 5.24 renamed the cache argument and output field ``past_key_values`` to ``cache``
# (the old argument name is accepted until 5.40): a model is called with the name it takes.
CACHE_NAMES = ("cache", "past_key_values")


def with_cache_keyword(kwargs: dict[str, Any], parameters) -> dict[str, Any]:
    """``kwargs`` with the cache under the name among :data:`CACHE_NAMES` that ``parameters`` has."""
    if "past_key_values" not in kwargs or "past_key_values" in parameters:
        return kwargs
    name = next((name for name in CACHE_NAMES if name in parameters), "past_key_values")
    return {(name if key == "past_key_values" else key): value for key, value in kwargs.items()}


def returned_cache(model_output: Any):
    """The cache a model returned, under either name."""
    for name in CACHE_NAMES:
        value = model_output.get(name) if hasattr(model_output, "get") else None
        if value is not None:
            return value
    raise KeyError(f"{type(model_output).__name__} holds no cache (neither of {', '.join(CACHE_NAMES)})")


def forward_parameters(model: Any) -> frozenset[str]:
    """The argument names of ``model.forward`` (a module or its class)."""
    return frozenset(inspect.signature(model.forward).parameters)


def past_sequence_axis(max_positions: int | None) -> Axis:
    # Length 0 is a real case: the first step of generation starts from an empty cache.
    return Axis("past_sequence_length", default=8, min=0, max=max_positions)


def total_sequence_axis(max_positions: int | None) -> Axis:
    return derived("total_sequence_length", lambda d: d["past_sequence_length"] + d["sequence_length"],
                   max=max_positions)


class OnnxConfigWithPast(OnnxConfig):
    """A decoder whose export can carry a KV cache as flat ``past_key_values.*`` / ``present.*`` tensors."""

    SUPPORTS_PAST = True
    PAST_INPUT_PREFIX = "past_key_values"
    PRESENT_OUTPUT_PREFIX = "present"

    def __init__(
        self,
        config: Any,
        task: str = "feature-extraction",
        int_dtype: str = "int64",
        float_dtype: str = "fp32",
        use_past: bool = False,
        use_past_in_inputs: bool | None = None,
        preprocessors: list[Any] | None = None,
        legacy: bool = False,
    ):
        super().__init__(config, task=task, preprocessors=preprocessors, int_dtype=int_dtype,
                         float_dtype=float_dtype, legacy=legacy)
        self.use_past = use_past
        # A decoder exported with past takes it as input by default: one graph serves the
        # first step (past length 0) and every later one.
        self.use_past_in_inputs = use_past if use_past_in_inputs is None else use_past_in_inputs
        if self.use_past_in_inputs and not self.use_past:
            raise ValueError("use_past_in_inputs=True needs use_past=True")

    # ---- cache geometry ------------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        """The layers that keep a cache: Gemma 3n's last ``num_kv_shared_layers`` attend with the
        keys and values of an earlier layer of their kind and cache nothing of their own."""
        shared = getattr(self._normalized_config.config, "num_kv_shared_layers", None) or 0
        return self._normalized_config.num_layers - shared

    def _layer_normalized_configs(self) -> list[Any] | None:
        """Each cached layer's normalized config where transformers declares per-layer sizes (a
        heterogeneous config: Gemma 4's full-attention layers have wider heads than its sliding
        ones), whose global values it refuses to read; None where every layer has one geometry."""
        nc = self._normalized_config
        if not getattr(nc.config, "is_heterogeneous", False):
            return None
        layers = []
        for layer in range(self.num_layers):
            layer_nc = copy.copy(nc)
            layer_nc.config = nc.config.per_layer_config[layer]
            layers.append(layer_nc)
        return layers

    @staticmethod
    def _caches_latents(nc: Any) -> bool:
        config = nc.config
        return bool(getattr(config, "kv_lora_rank", None)) and bool(getattr(config, "qk_rope_head_dim", None))

    @classmethod
    def _geometry(cls, nc: Any) -> tuple[int, int, int]:
        """A layer's cached heads, key width and value width."""
        if cls._caches_latents(nc):
            return 1, nc.config.kv_lora_rank, nc.config.qk_rope_head_dim
        heads = nc.num_key_value_heads if nc.has("num_key_value_heads") and nc.num_key_value_heads else None
        head_dim = nc.head_dim if nc.has("head_dim") and nc.head_dim else nc.hidden_size // nc.num_attention_heads
        return heads or nc.num_attention_heads, head_dim, head_dim

    def layer_geometries(self) -> list[tuple[int, int, int]] | None:
        """Each cached layer's (heads, key width, value width) where they may differ by layer."""
        layers = self._layer_normalized_configs()
        return None if layers is None else [self._geometry(layer) for layer in layers]

    @property
    def caches_latents(self) -> bool:
        """Multi-head latent attention (DeepSeek-V2/V3 and kin): transformers caches one shared head
        per layer, the compressed keys and values (``kv_lora_rank`` wide) as its keys and the
        rotary part of the key (``qk_rope_head_dim``) as its values, not per-head keys and values."""
        return self._caches_latents(self._normalized_config)

    @property
    def num_key_value_heads(self) -> int:
        if self.caches_latents:
            return 1
        nc = self._normalized_config
        return nc.num_key_value_heads if nc.has("num_key_value_heads") and nc.num_key_value_heads else nc.num_attention_heads

    @property
    def head_dim(self) -> int:
        """The width of a cached key."""
        if self.caches_latents:
            return self._normalized_config.config.kv_lora_rank
        nc = self._normalized_config
        if nc.has("head_dim") and nc.head_dim:
            return nc.head_dim
        return nc.hidden_size // nc.num_attention_heads

    @property
    def value_head_dim(self) -> int:
        """The width of a cached value: a key's, but for latent attention's rotary part."""
        return self._normalized_config.config.qk_rope_head_dim if self.caches_latents else self.head_dim

    def axis_table(self) -> dict[str, Axis]:
        table = super().axis_table()
        nc = self._normalized_config
        max_positions = nc.max_position_embeddings if nc.has("max_position_embeddings") else None
        if max_positions is not None and max_positions <= 0:  # XLNet's -1: relative positions, no table
            max_positions = None
        if max_positions is not None:
            max_positions -= self.reserved_positions()
        table["past_sequence_length"] = past_sequence_axis(max_positions)
        table["total_sequence_length"] = total_sequence_axis(max_positions)
        if self.use_past:  # the cache's geometry (a state-space model without a cache has no heads)
            geometries = self.layer_geometries()
            if geometries is None:
                table["num_key_value_heads"] = Axis.static("num_key_value_heads", self.num_key_value_heads)
                table["head_dim"] = Axis.static("head_dim", self.head_dim)
                table["value_head_dim"] = Axis.static("value_head_dim", self.value_head_dim)
            else:  # each layer's own
                for layer, sizes in enumerate(geometries):
                    for name, size in zip(("num_key_value_heads", "head_dim", "value_head_dim"), sizes):
                        table[f"{name}.{layer}"] = Axis.static(f"{name}.{layer}", size)
        return table

    def past_names(self, prefix: str) -> list[str]:
        return [f"{prefix}.{layer}.{kind}" for layer in range(self.num_layers) for kind in ("key", "value")]

    def past_specs(self, direction: str) -> dict[str, TensorSpec]:
        """The cache tensors taken as ``"inputs"`` (``past_key_values.*``) or returned as ``"outputs"`` (``present.*``)."""
        if direction not in ("inputs", "outputs"):
            raise ValueError(f'direction must either be "inputs" or "outputs", but {direction} was given')
        if direction == "inputs":
            prefix, length = self.PAST_INPUT_PREFIX, "past_sequence_length"
        else:
            prefix = self.PRESENT_OUTPUT_PREFIX
            length = "total_sequence_length" if self.use_past_in_inputs else "sequence_length"
        table = self.axis_table()
        per_layer = self.layer_geometries() is not None

        def axes(name: str) -> tuple[str, ...]:
            layer, kind = name.rsplit(".", 2)[1:]
            heads, width = "num_key_value_heads", "head_dim" if kind == "key" else "value_head_dim"
            if per_layer:
                heads, width = f"{heads}.{layer}", f"{width}.{layer}"
            return "batch_size", heads, length, width

        return {name: self._spec(name, axes(name), table) for name in self.past_names(prefix)}

    @property
    def input_specs(self) -> dict[str, TensorSpec]:
        specs = super().input_specs
        if not self.use_past_in_inputs:
            return specs
        if "attention_mask" in specs:  # the mask covers the cached positions too
            specs["attention_mask"] = self._spec(
                "attention_mask", ("batch_size", "total_sequence_length"), self.axis_table())
        specs.update(self.past_specs("inputs"))
        return specs

    @property
    def output_specs(self) -> dict[str, TensorSpec]:
        specs = super().output_specs
        if self.use_past:
            specs.update(self.past_specs("outputs"))
        return specs

    def add_past_key_values(self, inputs_or_outputs: dict[str, dict[int, str]], direction: str) -> None:
        """Seed API: fill a ``{name: {axis: symbol}}`` mapping with the cache entries for ``direction``."""
        inputs_or_outputs.update({name: spec.dynamic_axes for name, spec in self.past_specs(direction).items()})

    def _generators(self):
        generators = super()._generators()
        if self.use_past_in_inputs and not any(isinstance(g, DummyPastKeyValuesGenerator) for g in generators):
            generators.append(DummyPastKeyValuesGenerator(self.task, self._normalized_config, self.int_dtype, self.float_dtype))
        return generators

    # ---- cache <-> flat tensors (transformers 5 cache classes) ----------------------------

    def model_kwargs(self, inputs: dict[str, torch.Tensor]) -> dict[str, Any]:
        kwargs = {name: value for name, value in inputs.items() if not name.startswith(self.PAST_INPUT_PREFIX + ".")}
        if self.use_past_in_inputs:
            kwargs["past_key_values"] = self.build_cache(inputs)
        kwargs["use_cache"] = self.use_past
        return kwargs

    def call_model(self, model: torch.nn.Module, kwargs: dict[str, Any]) -> Any:
        return model(**with_cache_keyword(kwargs, forward_parameters(model)))

    def build_cache(self, inputs: dict[str, torch.Tensor]):
        from transformers import DynamicCache

        cache = DynamicCache()
        for layer in range(self.num_layers):
            key = inputs[f"{self.PAST_INPUT_PREFIX}.{layer}.key"]
            value = inputs[f"{self.PAST_INPUT_PREFIX}.{layer}.value"]
            cache.update(key, value, layer)
        return cache

    def flatten_outputs(self, model_output: Any) -> dict[str, torch.Tensor]:
        names = [name for name in self.output_specs if not name.startswith(self.PRESENT_OUTPUT_PREFIX + ".")]
        out = {name: model_output[name] for name in names}
        if self.use_past:
            cache = returned_cache(model_output)
            for layer_index, layer in enumerate(cache.layers[: self.num_layers]):
                out[f"{self.PRESENT_OUTPUT_PREFIX}.{layer_index}.key"] = layer.keys
                out[f"{self.PRESENT_OUTPUT_PREFIX}.{layer_index}.value"] = layer.values
        return out


class ConfigBehavior(str, enum.Enum):
    """Which part of an encoder-decoder an ONNX config describes."""

    MONOLITH = "monolith"
    ENCODER = "encoder"
    DECODER = "decoder"


class OnnxSeq2SeqConfigWithPast(OnnxConfigWithPast):
    """An encoder-decoder, exported whole (monolith) or as encoder / decoder / decoder-with-past.

    A decoder that takes its past takes the cross-attention cache too by default (computed
    once, by the decoder without past). With ``cross_attention_past=False`` it takes only the
    self-attention cache and computes cross-attention from ``encoder_outputs`` on every step:
    one graph then serves the first step (past length 0) and every later one.
    """

    def __init__(
        self,
        config: Any,
        task: str = "feature-extraction",
        int_dtype: str = "int64",
        float_dtype: str = "fp32",
        use_past: bool = False,
        use_past_in_inputs: bool | None = None,
        behavior: ConfigBehavior | str = ConfigBehavior.MONOLITH,
        preprocessors: list[Any] | None = None,
        legacy: bool = False,
        cross_attention_past: bool = True,
    ):
        self._behavior = ConfigBehavior(behavior)
        self.cross_attention_past = cross_attention_past
        # Only a decoder takes its past as input; a monolith or encoder never does.
        if use_past_in_inputs is None:
            use_past_in_inputs = False
        super().__init__(config, task=task, int_dtype=int_dtype, float_dtype=float_dtype, use_past=use_past,
                         use_past_in_inputs=use_past_in_inputs, preprocessors=preprocessors, legacy=legacy)
        if self._behavior is ConfigBehavior.ENCODER:
            self.use_past = self.use_past_in_inputs = False

    @property
    def behavior(self) -> ConfigBehavior:
        return self._behavior

    def with_behavior(self, behavior: ConfigBehavior | str, use_past: bool = False,
                      use_past_in_inputs: bool = False, cross_attention_past: bool = True) -> OnnxSeq2SeqConfigWithPast:
        """A copy of this config describing another part of the model."""
        return type(self)(self._config, task=self.task, int_dtype=self.int_dtype, float_dtype=self.float_dtype,
                          use_past=use_past, use_past_in_inputs=use_past_in_inputs, behavior=behavior,
                          preprocessors=self._preprocessors, legacy=self.legacy,
                          cross_attention_past=cross_attention_past)

    def submodels(self) -> dict[str, OnnxSeq2SeqConfigWithPast]:
        if self._behavior is not ConfigBehavior.MONOLITH:
            return {"model": self}
        parts = {
            "encoder_model": self.with_behavior(ConfigBehavior.ENCODER),
            "decoder_model": self.with_behavior(ConfigBehavior.DECODER, use_past=self.use_past),
        }
        if self.use_past:
            parts["decoder_with_past_model"] = self.with_behavior(
                ConfigBehavior.DECODER, use_past=True, use_past_in_inputs=True)
        return parts
