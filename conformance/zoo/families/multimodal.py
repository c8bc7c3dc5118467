"""Models taking text and images (or audio) together."""

from __future__ import annotations

from typing import Any

from ...known_failures import KnownFailure

OVERRIDES: dict[str, dict[str, Any]] = {}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {}

KNOWN_FAILURES: list[KnownFailure] = [
    KnownFailure("transformers/siglip2/onnx-*/*",
                 "SigLIP 2 (NaFlex) takes images as flattened patches with pixel_attention_mask and "
                 "spatial_shapes, not pixel_values of a size: no middle-end exports variable-resolution patches yet"),
]
