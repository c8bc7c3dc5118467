"""Encoder-only text models."""

from __future__ import annotations

from typing import Any

OVERRIDES: dict[str, dict[str, Any]] = {
    # MPNet's attention computes 32 relative-position buckets whatever its config says.
    "mpnet": {"relative_attention_num_buckets": 32},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "distilbert": {"sinusoidal-positions": {"sinusoidal_pos_embds": True}},
}

KNOWN_FAILURES: list = []
