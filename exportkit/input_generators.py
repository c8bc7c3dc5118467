"""Seeded dummy-input generators.

The shape of every dummy tensor comes from its :class:`~exportkit.axes.TensorSpec`; a
generator only decides the values (token ids inside the vocabulary, masks of ones, normal
floats), so no shape is ever listed twice. Each generator claims the input names it knows.
"""

from __future__ import annotations

from typing import Any

import torch

from .axes import TensorSpec
from .padding import pad_token_id

INT_DTYPES = {"int64": torch.int64, "int32": torch.int32, "int8": torch.int8}
FLOAT_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class DummyInputGenerator:
    """Base class: generates values for the inputs named in ``SUPPORTED_INPUT_NAMES``.

    A name ending in ``.*`` claims every input with that prefix (``past_key_values.*``).
    """

    SUPPORTED_INPUT_NAMES: tuple[str, ...] = ()

    def __init__(self, task: str, normalized_config: Any, int_dtype: str = "int64", float_dtype: str = "fp32"):
        self.task = task
        self.normalized_config = normalized_config
        self.int_dtype = INT_DTYPES[int_dtype]
        self.float_dtype = FLOAT_DTYPES[float_dtype]

    def supports_input(self, input_name: str) -> bool:
        for name in self.SUPPORTED_INPUT_NAMES:
            if name.endswith(".*") and input_name.startswith(name[:-1]):
                return True
            if input_name == name:
                return True
        return False

    def generate(self, spec: TensorSpec, shape: tuple[int, ...], rng: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    # Helpers shared by the concrete generators.
    def random_int(self, shape, high: int, rng: torch.Generator, low: int = 0) -> torch.Tensor:
        return torch.randint(low, max(high, low + 1), shape, generator=rng, dtype=torch.int64).to(self.int_dtype)

    def random_float(self, shape, rng: torch.Generator, scale: float = 1.0) -> torch.Tensor:
        return (torch.randn(shape, generator=rng) * scale).to(self.float_dtype)

    def ones(self, shape) -> torch.Tensor:
        return torch.ones(shape, dtype=self.int_dtype)

    def token_ids(self, shape, rng: torch.Generator) -> torch.Tensor:
        """Random ids inside the vocabulary, never the pad token: a real token is never padding."""
        pad = pad_token_id(self.normalized_config)
        ids = self.random_int(shape, self.normalized_config.vocab_size - 1, rng)
        return ids + (ids >= pad).to(ids.dtype)


class DummyTextInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "encoder_attention_mask",
                             "lang_ids", "bbox", "global_attention_mask")

    def generate(self, spec, shape, rng):
        if spec.name == "input_ids":
            return self.token_ids(shape, rng)
        if spec.name == "lang_ids":  # X-MOD: each row's language, an index into the config's languages
            return self.random_int(shape, len(self.normalized_config.languages), rng)
        if spec.name == "bbox":
            return self.boxes(shape, rng)
        if spec.name == "global_attention_mask":  # Longformer, LED: which tokens attend globally
            return self.random_int(shape, 2, rng)
        if spec.name == "token_type_ids" and len(shape) == 3 and self.normalized_config.has("type_vocab_sizes"):
            # one id per token type (TAPAS's table structure), each inside its own vocabulary
            sizes = self.normalized_config.type_vocab_sizes
            return torch.stack([self.random_int(shape[:-1], size, rng) for size in sizes], dim=-1)
        if spec.name == "token_type_ids":
            types = self.normalized_config.type_vocab_size if self.normalized_config.has("type_vocab_size") else 1
            return self.random_int(shape, types, rng)
        if spec.name == "position_ids":
            return torch.arange(shape[-1], dtype=self.int_dtype).expand(shape).contiguous()
        return self.ones(shape)  # masks: all ones here; the config pads them (ExporterConfig._apply_padding)


    def boxes(self, shape, rng: torch.Generator) -> torch.Tensor:
        """Each token's box (x0, y0, x1, y1) on a page of ``max_2d_position_embeddings`` positions
        a side (LayoutLM's 0-1000 grid): corners in order, so widths and heights are sizes too."""
        side = self.normalized_config.max_2d_position_embeddings if self.normalized_config.has(
            "max_2d_position_embeddings") else 1024
        corners = self.random_int((*shape[:-1], 2, 2), side, rng)  # two (x, y) points per token
        low, high = corners.min(dim=-2).values, corners.max(dim=-2).values
        return torch.cat([low, high], dim=-1).to(self.int_dtype)


class DummyDecoderTextInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("decoder_input_ids", "decoder_attention_mask", "encoder_outputs", "encoder_hidden_states")

    def generate(self, spec, shape, rng):
        if spec.name == "decoder_input_ids":
            return self.token_ids(shape, rng)
        if spec.name == "decoder_attention_mask":
            return self.ones(shape)
        return self.random_float(shape, rng)


class DummyEmbeddingsInputGenerator(DummyInputGenerator):
    """Token vectors a language model takes instead of ids (a vision-language model's merged
    text and image embeddings): normal floats."""

    SUPPORTED_INPUT_NAMES = ("inputs_embeds",)

    def generate(self, spec, shape, rng):
        return self.random_float(shape, rng)


class DummyPastKeyValuesGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("past_key_values.*",)

    def generate(self, spec, shape, rng):
        return self.random_float(shape, rng)


class DummyVisionInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("pixel_values", "pixel_values_videos", "pixel_mask")

    def generate(self, spec, shape, rng):
        if spec.name == "pixel_mask":
            return self.ones(shape)
        return self.random_float(shape, rng)


class DummyAudioInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("input_values", "input_features", "attention_mask", "input_features_mask")

    def generate(self, spec, shape, rng):
        if spec.name in ("attention_mask", "input_features_mask"):  # the config pads them
            return self.ones(shape)
        return self.random_float(shape, rng, scale=0.5)


class DummyTimeSeriesInputGenerator(DummyInputGenerator):
    """A window of past observations per series and channel: standardised floats."""

    SUPPORTED_INPUT_NAMES = ("past_values",)

    def generate(self, spec, shape, rng):
        return self.random_float(shape, rng)


class DummyLatentInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("latent_sample", "sample")

    def generate(self, spec, shape, rng):
        return self.random_float(shape, rng)


class DummyDiffusionInputGenerator(DummyInputGenerator):
    """A diffusion component's inputs: noised latents and text states (normal floats), timesteps
    inside the scheduler's range, rotary position ids on a grid, guidance scales, masks of ones."""

    SUPPORTED_INPUT_NAMES = ("sample", "latent_sample", "hidden_states", "controlnet_cond", "encoder_hidden_states",
                             "pooled_projections", "text_embeds", "time_ids", "timestep", "guidance", "img_ids",
                             "txt_ids", "video_coords", "encoder_attention_mask", "encoder_hidden_states_mask",
                             "controlnet_mode")
    timestep_max: float = 1000.0  # set by the config: [0, 1000) for DDPM-style schedulers, [0, 1) for flow models

    def generate(self, spec, shape, rng):
        name = spec.name
        if name == "timestep":
            return (torch.rand(shape, generator=rng) * self.timestep_max).to(self.float_dtype)
        if name == "guidance":
            return (1.0 + 4.0 * torch.rand(shape, generator=rng)).to(self.float_dtype)
        if name in ("img_ids", "txt_ids", "video_coords"):  # positions: small whole numbers
            return self.random_int(shape, 64, rng).to(self.float_dtype)
        if name in ("encoder_attention_mask", "encoder_hidden_states_mask"):
            return self.ones(shape) if spec.dtype == "int" else torch.ones(shape, dtype=self.float_dtype)
        if name == "controlnet_mode":
            return self.random_int(shape, self.normalized_config.num_mode, rng)
        return self.random_float(shape, rng)
