"""Tiny diffusers components."""

from __future__ import annotations

from .base import MissingRecipeError, describe

# Two blocks: the decoder upsamples 2x, so the latent-to-image size relation is still exercised.
TINY_VAE = {
    "block_out_channels": (8, 16),
    "down_block_types": ("DownEncoderBlock2D",) * 2,
    "up_block_types": ("UpDecoderBlock2D",) * 2,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "latent_channels": 4,
    "sample_size": 32,
}

RECIPES = {("vae-decoder", "latent-decoding"): TINY_VAE}


def has_recipe(model_type: str, task: str) -> bool:
    return (model_type, task) in RECIPES


def build(model_type: str, task: str):
    from diffusers import AutoencoderKL

    if not has_recipe(model_type, task):
        raise MissingRecipeError(f"no diffusers recipe for {model_type!r} and task {task!r}")
    model = AutoencoderKL(**RECIPES[model_type, task])
    return model, describe(model, f"blocks {tuple(model.config.block_out_channels)}")
