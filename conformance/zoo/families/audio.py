"""Speech and audio models."""

from __future__ import annotations

from typing import Any

OVERRIDES: dict[str, dict[str, Any]] = {}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "wav2vec2": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
    "hubert": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
}

KNOWN_FAILURES: list = []
