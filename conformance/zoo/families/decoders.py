"""Decoder-only language models."""

from __future__ import annotations

from typing import Any

from ..sizes import TINY_SIZES

OVERRIDES: dict[str, dict[str, Any]] = {}

# Structural switches decoder checkpoints differ by.
ROPE = {"rope_theta": 10000.0}
DECODER_VARIANTS: dict[str, dict[str, Any]] = {
    "multi-head-attention": {"num_key_value_heads": 4},
    "multi-query-attention": {"num_key_value_heads": 1},
    "explicit-head-dim": {"head_dim": 16},  # not hidden_size / heads (Gemma, Qwen3)
    # dynamic NTK RoPE: a run-time branch on the longest position (a no-op inside the position table)
    "rope-dynamic": {"rope_parameters": {**ROPE, "rope_type": "dynamic", "factor": 2.0}},
    "rope-linear": {"rope_parameters": {**ROPE, "rope_type": "linear", "factor": 2.0}},
}
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "llama": DECODER_VARIANTS,
    "mistral": {**DECODER_VARIANTS, "no-sliding-window": {"sliding_window": None}},
    # Qwen2 checkpoints mostly attend fully; some use a window on their upper layers
    "qwen2": {**DECODER_VARIANTS, "sliding-window-upper-layers": {"use_sliding_window": True, "max_window_layers": 1,
                                                                   "sliding_window": TINY_SIZES["sliding_window"]}},
    "gpt2": {"attention-scaled-by-layer": {"scale_attn_by_inverse_layer_idx": True},
             "untied-embeddings": {"tie_word_embeddings": False}},
}

KNOWN_FAILURES: list = []
