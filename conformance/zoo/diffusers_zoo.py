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

# The VAE's mid-block attends over every latent position: ONNX Runtime holds batch x (h x w)^2
# scores, 1 GiB for one 128 x 128 latent. Its examples are kept to that much (4 x 128 x 128 inputs).
EXAMPLE_BUDGETS = {"vae-decoder": 4 * 128 * 128}

# Structural switches, as config fields changed, each certified beside the base.
VARIANTS: dict[str, dict[str, dict]] = {
    "vae-decoder": {
        # three blocks: the decoder upsamples 4x (SD's VAE has four blocks, 8x)
        "three-blocks": {"block_out_channels": (8, 16, 16), "down_block_types": ("DownEncoderBlock2D",) * 3,
                         "up_block_types": ("UpDecoderBlock2D",) * 3},
        "no-mid-block-attention": {"mid_block_add_attention": False},
    },
}


def has_recipe(model_type: str, task: str) -> bool:
    return (model_type, task) in RECIPES


def variants(model_type: str, task: str) -> tuple[str, ...]:
    return tuple(VARIANTS.get(model_type, {}))


def build(model_type: str, task: str, variant: str | None = None):
    from diffusers import AutoencoderKL

    if not has_recipe(model_type, task):
        raise MissingRecipeError(f"no diffusers recipe for {model_type!r} and task {task!r}")
    changes = {}
    if variant is not None:
        if variant not in VARIANTS.get(model_type, {}):
            raise MissingRecipeError(f"diffusers {model_type!r} has no variant {variant!r}")
        changes = VARIANTS[model_type][variant]
    model = AutoencoderKL(**{**RECIPES[model_type, task], **changes})
    return model, describe(model, f"blocks {tuple(model.config.block_out_channels)}")
