"""Models that read images or audio and text as one token sequence (LLaVA, Voxtral and their kin).

A prompt holds one placeholder token for each feature the model's vision or audio tower makes;
the model writes the tower's features over the placeholders' embeddings and runs its language
model on the result. Such a model exports as the three graphs a runtime runs it as:

* the tower (``vision_encoder`` or ``audio_encoder``): one image or clip -> its features, one
  row per placeholder token, in the order the placeholders appear;
* ``embed_tokens``: token ids -> token vectors;
* ``language_model``: the merged vectors and the attention mask -> the task's outputs (with a KV
  cache for a ``-with-past`` task).

The merge itself, writing the features over the placeholders' vectors, is a scatter the runtime
does between ``embed_tokens`` and ``language_model``: its inputs are graph outputs it has.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar

import torch

from ...axes import Axis
from ...input_generators import (
    DummyAudioInputGenerator,
    DummyEmbeddingsInputGenerator,
    DummyPastKeyValuesGenerator,
    DummyTextInputGenerator,
    DummyVisionInputGenerator,
)
from ...normalized_config import NormalizedTextWithTowerConfig
from .base import OnnxConfigWithPast
from .config import image_axes, patch_grid, patch_grid_axes, sequence_axis
from .host_values import host_value_patches

TEXT_PARTS = ("embed_tokens", "language_model")


class InterleavedOnnxConfig(OnnxConfigWithPast):
    """The three graphs of a model that merges a tower's features into its token sequence.

    A subclass names its tower (``TOWER``), the tower's inputs and the method that makes the
    features. Built whole (no ``part``), the config describes ``language_model``, the graph that
    gives the task's outputs; ``submodels()`` gives all three.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedTextWithTowerConfig
    # The language model is a causal decoder: batched prompts pad on the left, and a left-padded
    # position attends to nothing.
    PADDING_SIDES = ("left", "right")
    UNDEFINED_AT_PADDING = frozenset({"left"})
    TOWER: ClassVar[str]
    TOWER_INPUTS: ClassVar[dict[str, tuple]]
    TOWER_OUTPUT: ClassVar[str]
    TEXT_INPUTS: ClassVar[dict[str, tuple]] = {
        "inputs_embeds": ("batch_size", "sequence_length", "hidden_size"),
        "attention_mask": ("batch_size", "sequence_length"),
    }
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", "sequence_length", None)},
        "text2text-generation": {"logits": ("batch_size", "sequence_length", None)},
        "automatic-speech-recognition": {"logits": ("batch_size", "sequence_length", None)},
    }
    part: str | None = None  # set on each graph's copy by submodels()

    @property
    def parts(self) -> tuple[str, ...]:
        return (self.TOWER, *TEXT_PARTS)

    @property
    def graph(self) -> str:
        """The graph this config describes."""
        return self.part or "language_model"

    def submodels(self):
        if self.part is not None:
            return {self.part: self}
        parts = {}
        for part in self.parts:
            parts[part] = copy.copy(self)
            parts[part].part = part
        return parts

    def axis_table(self) -> dict[str, Axis]:
        return {
            **super().axis_table(),
            "sequence_length": sequence_axis(self._normalized_config),
            "hidden_size": Axis.static("hidden_size", self._normalized_config.hidden_size),
            **self.tower_axes(),
        }

    def tower_axes(self) -> dict[str, Axis]:
        # one image or clip per run of the tower: the towers hand their features on as a Python
        # list with one entry per item (``list(features)``), which a graph fixes at the count it
        # was traced with
        return {"num_items": Axis.static("num_items", 1)}

    @property
    def input_specs(self):
        table = self.axis_table()
        if self.graph == self.TOWER:
            return {name: self._spec(name, axes, table) for name, axes in self.TOWER_INPUTS.items()}
        if self.graph == "embed_tokens":
            return {"input_ids": self._spec("input_ids", ("batch_size", "sequence_length"), table)}
        specs = {name: self._spec(name, axes, table) for name, axes in self.TEXT_INPUTS.items()}
        if "token_type_ids" in getattr(self, "FORWARD_PARAMETERS", ()):
            # which tokens are the tower's (1) and which text (0): Gemma 3 and PaliGemma attend
            # both ways within an image's tokens
            specs["token_type_ids"] = self._spec("token_type_ids", ("batch_size", "sequence_length"), table)
        if self.use_past_in_inputs:  # the mask covers the cached positions too
            specs["attention_mask"] = self._spec("attention_mask", ("batch_size", "total_sequence_length"), table)
            specs.update(self.past_specs("inputs"))
        return specs

    @property
    def output_specs(self):
        table = self.axis_table()
        if self.graph == self.TOWER:
            return {self.TOWER_OUTPUT: self._spec(self.TOWER_OUTPUT, (None, None), table)}
        if self.graph == "embed_tokens":
            return {"inputs_embeds": self._spec("inputs_embeds", ("batch_size", "sequence_length", None), table)}
        return super().output_specs

    def generate_dummy_inputs(self, framework: str = "pt", seed: int = 0, padding=None, **shape_kwargs: int):
        inputs = super().generate_dummy_inputs("pt", seed=seed, padding=padding, **shape_kwargs)
        if "token_type_ids" in inputs:  # one item's tokens, mid-prompt, in every row
            types = torch.zeros_like(inputs["token_type_ids"])
            length = types.shape[-1]
            types[..., length // 4: max(length // 2, length // 4 + 1)] = 1
            types *= inputs["attention_mask"][..., -length:].to(types.dtype)  # padding is never an item's
            inputs["token_type_ids"] = types
        return {name: value.numpy() for name, value in inputs.items()} if framework == "np" else inputs

    def model_kwargs(self, inputs):
        if self.graph != "language_model":
            return dict(inputs)
        return super().model_kwargs(inputs)  # the cache built from the past inputs; use_cache as exported

    def call_model(self, model, kwargs):
        if self.graph == "embed_tokens":
            return {"inputs_embeds": model.get_input_embeddings()(kwargs["input_ids"])}
        if self.graph == self.TOWER:
            features = self.tower_features(model, kwargs).pooler_output
            if isinstance(features, (list, tuple)):  # one tensor per item, as the model concatenates them
                features = torch.cat(list(features), dim=0)
            return {self.TOWER_OUTPUT: features.reshape(-1, features.shape[-1])}
        return super().call_model(model, kwargs)

    def flatten_outputs(self, model_output):
        if self.graph != "language_model":
            return {name: model_output[name] for name in self.output_specs}
        return super().flatten_outputs(model_output)

    def tower_features(self, model, kwargs: dict[str, Any]):
        """What the model's tower returns for the tower graph's inputs (its ``pooler_output``: the
        features the model merges)."""
        raise NotImplementedError


class VisionLanguageOnnxConfig(InterleavedOnnxConfig):
    """A vision tower over images of the config's one size (LLaVA and its kin)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyVisionInputGenerator,
                                     DummyEmbeddingsInputGenerator, DummyPastKeyValuesGenerator)
    TOWER = "vision_encoder"
    TOWER_INPUTS = {"pixel_values": ("num_items", "num_channels", "height", "width")}
    TOWER_OUTPUT = "image_features"
    # Whether the vision tower takes a prompt's images as one row (Idefics and its kin:
    # pixel_values of prompts x images x channels x height x width), each a single image here.
    IMAGES_GROUPED_BY_PROMPT: ClassVar[bool] = False

    def tower_axes(self):
        nc = self._normalized_config
        return {
            **super().tower_axes(),
            "num_channels": Axis.static("num_channels", nc.num_channels if nc.has("num_channels") else 3),
            **image_axes(nc, dynamic=False),
        }

    @property
    def input_specs(self):
        specs = super().input_specs
        if self.IMAGES_GROUPED_BY_PROMPT and "pixel_values" in specs:
            specs["pixel_values"] = self._spec("pixel_values", ("num_items", *self.TOWER_INPUTS["pixel_values"]),
                                               self.axis_table())
        return specs

    def tower_features(self, model, kwargs):
        pixels = kwargs["pixel_values"]
        extra = {}
        sizes = inspect.signature(model.get_image_features).parameters.get("image_sizes")
        if sizes is not None and sizes.default is sizes.empty:
            # each image's height and width, which the graph's pixels fix: no input of its own
            extra["image_sizes"] = torch.tensor([pixels.shape[-2:]] * len(pixels))
        return model.get_image_features(pixel_values=pixels, return_dict=True, **extra)


class PatchGridVisionLanguageOnnxConfig(VisionLanguageOnnxConfig):
    """A vision tower reading an image as a grid of flattened patches (Qwen2-VL and its heirs):
    one image of ``GRID_SIDE`` x ``GRID_SIDE`` patches, the grid the export's constant, as
    :class:`~exportkit.exporters.onnx.config.PatchGridVisionOnnxConfig` says for the tower alone.

    Where the language model rotates by multimodal positions (M-RoPE: a temporal, a row and a
    column position per token: one row per section of its rotary ``mrope_section``, three where it
    names none), ``language_model`` takes them as
    ``position_ids`` (rows x batch x sequence): the model computes them from the token ids and
    the images' grids (``get_rope_index``) before it runs, as the runtime does beside the merge.
    """

    TOWER_INPUTS = {"pixel_values": ("num_patches", "patch_values")}
    GRID_SIDE: ClassVar[int] = 8  # a multiple of the spatial merges of 1, 2 and 4
    MULTIMODAL_POSITIONS: ClassVar[bool] = False  # False: the language model numbers its positions itself
    # a tower embedding its patches with a 2-D convolution takes each as a small image (patches x
    # channels x patch x patch: PaddleOCR-VL, Kimi K2.5), not as a flat row of values
    PATCHES_AS_IMAGES: ClassVar[bool] = False

    def tower_axes(self):
        return {**InterleavedOnnxConfig.tower_axes(self),
                **patch_grid_axes(self._config.vision_config, self.GRID_SIDE)}

    @property
    def position_rows(self) -> int:
        text_config = getattr(self._config, "text_config", self._config)
        rope = getattr(text_config, "rope_parameters", None) or {}
        return len(rope.get("mrope_section") or ()) or 3

    def axis_table(self) -> dict[str, Axis]:
        table = super().axis_table()
        if self.MULTIMODAL_POSITIONS:
            table["position_rows"] = Axis.static("position_rows", self.position_rows)
        return table

    @property
    def input_specs(self):
        specs = super().input_specs
        if self.graph == self.TOWER and self.PATCHES_AS_IMAGES:
            specs["pixel_values"] = self._spec("pixel_values", ("num_patches", "num_channels", "patch_size", "patch_size"),
                                               self.axis_table())
        if self.graph == "language_model" and self.MULTIMODAL_POSITIONS:
            specs["position_ids"] = self._spec("position_ids", ("position_rows", "batch_size", "sequence_length"),
                                               self.axis_table())
        return specs

    def generate_dummy_inputs(self, framework: str = "pt", seed: int = 0, padding=None, **shape_kwargs: int):
        inputs = super().generate_dummy_inputs("pt", seed=seed, padding=padding, **shape_kwargs)
        if "position_ids" in inputs:
            inputs["position_ids"] = multimodal_positions(*inputs["position_ids"].shape)
        return {name: value.numpy() for name, value in inputs.items()} if framework == "np" else inputs

    def tower_features(self, model, kwargs):
        return model.get_image_features(pixel_values=kwargs["pixel_values"], image_grid_thw=patch_grid(self.GRID_SIDE),
                                        return_dict=True)

    def patching_specs(self, model):
        specs = super().patching_specs(model)
        if self.graph == self.TOWER:  # the grid's host values, the export's constants (host_values.py)
            images = [self.generate_dummy_inputs(seed=seed)["pixel_values"] for seed in (0, 1)]
            specs += host_value_patches(lambda pixels: self.tower_features(model, {"pixel_values": pixels}), images)
        return specs


def multimodal_positions(rows: int, batch_size: int, length: int, side: int = 2) -> torch.Tensor:
    """M-RoPE positions of a prompt with an image mid-way, as ``get_rope_index`` numbers them: text
    tokens count up on every row; the image's tokens (``side`` x ``side`` of them, fewer where the
    prompt is short) share one temporal position while the row and column rows walk the grid; the
    text after the image goes on from the largest position so far. A leading text-position row
    (``rows`` > 3) counts up throughout."""
    grid_rows = min(rows, 3)
    start = length // 4
    tokens = min(side * side, length - start)
    before = torch.arange(start).expand(grid_rows, start)
    grid = torch.arange(tokens)
    image = start + torch.stack([torch.zeros_like(grid), grid // side, grid % side])[:grid_rows]
    after_start = int(image.max()) + 1 if tokens else start
    after = torch.arange(after_start, after_start + length - start - tokens).expand(grid_rows, -1)
    positions = torch.cat([before, image, after], dim=-1)
    if rows > grid_rows:
        positions = torch.cat([torch.arange(length).expand(rows - grid_rows, length), positions])
    return positions[:, None, :].expand(rows, batch_size, length).contiguous()


class AudioLanguageOnnxConfig(InterleavedOnnxConfig):
    """An audio tower over log-mel features (Voxtral, Granite Speech, Qwen3-ASR and their kin).

    A tower whose config names ``max_source_positions`` (Whisper's encoder and its heirs) takes
    exactly twice as many frames, a 30-second window: its clip length is fixed at that. Any other
    tower's is dynamic, in whole windows where its config names one (``n_window``: Qwen3-ASR's
    encoder attends within windows of twice that many frames).
    """

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyAudioInputGenerator,
                                     DummyEmbeddingsInputGenerator, DummyPastKeyValuesGenerator)
    TOWER = "audio_encoder"
    TOWER_INPUTS = {"input_features": ("num_items", "num_mel_bins", "audio_frames"),
                    "input_features_mask": ("num_items", "audio_frames")}
    TOWER_OUTPUT = "audio_features"
    # the tower's inputs its get_audio_features takes (the mask only where it takes one)
    TOWER_TAKES: ClassVar[frozenset[str]] = frozenset(TOWER_INPUTS)

    def tower_axes(self):
        nc = self._normalized_config
        positions = nc.max_source_positions if nc.has("max_source_positions") else None
        window = 2 * nc.n_window if nc.has("n_window") else 1
        frames = (Axis.static("audio_frames", 2 * positions) if positions
                  else Axis("audio_frames", default=4 * window if window > 1 else 64, min=max(16, window),
                            max=1024 // window * window, multiple_of=window))
        return {**super().tower_axes(), "num_mel_bins": Axis.static("num_mel_bins", nc.num_mel_bins),
                "audio_frames": frames}

    @property
    def input_specs(self):
        specs = super().input_specs
        if self.graph == self.TOWER:
            specs = {name: spec for name, spec in specs.items() if name in self.TOWER_TAKES}
        return specs

    def tower_features(self, model, kwargs):
        return model.get_audio_features(**kwargs, return_dict=True)
