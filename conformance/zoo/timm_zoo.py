"""Tiny timm models: the smallest real architecture of each family, narrowed where timm allows.

The architecture name is kept real (``resnet10t``, not timm's ``test_resnet``) because the
registry's model type is inferred from it.
"""

from __future__ import annotations

from typing import Any

from .base import MissingRecipeError, describe

NUM_CLASSES = 3

# family -> (architecture, extra create_model kwargs narrowing it)
ARCHITECTURES: dict[str, tuple[str, dict[str, Any]]] = {
    # The smallest timm ResNet; its deep stem and ceil-mode average-pool downsampling are the
    # harder case for dynamic image sizes than plain resnet18/50.
    "resnet": ("resnet10t", {"channels": (16, 32, 64, 128), "stem_width": 16}),
    "convnext": ("convnext_atto", {"dims": (16, 32, 64, 128)}),
    # efficientnet_b0 fixes its channel multiplier itself, so it cannot be narrowed (4M parameters).
    "efficientnet": ("efficientnet_b0", {}),
    "mobilenetv3": ("mobilenetv3_small_050", {}),
}


# Structural switches of a family, as create_model kwargs, each certified beside the base.
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    # dilated last stages: total stride 16, so the smallest image and its step change with it
    "resnet": {"output-stride-16": {"output_stride": 16}},
    "convnext": {"convolutional-mlp": {"conv_mlp": True}},
}


def has_recipe(model_type: str, task: str) -> bool:
    return model_type in ARCHITECTURES and task == "image-classification"


def variants(model_type: str) -> tuple[str, ...]:
    return tuple(VARIANTS.get(model_type, {}))


def build(model_type: str, task: str, variant: str | None = None):
    import timm

    if not has_recipe(model_type, task):
        raise MissingRecipeError(f"no timm architecture for {model_type!r} and task {task!r}")
    architecture, kwargs = ARCHITECTURES[model_type]
    changes = {}
    if variant is not None:
        if variant not in VARIANTS.get(model_type, {}):
            raise MissingRecipeError(f"timm {model_type!r} has no variant {variant!r}")
        changes = VARIANTS[model_type][variant]
    model = timm.create_model(architecture, pretrained=False, num_classes=NUM_CLASSES,
                              drop_rate=0.0, drop_path_rate=0.0, **kwargs, **changes)
    return model, describe(model, architecture, *(f"{name}={value}" for name, value in changes.items()))
