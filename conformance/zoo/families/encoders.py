"""Encoder-only text models."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

from ..sizes import TINY_SIZES

OVERRIDES: dict[str, dict[str, Any]] = {
    # MPNet's attention computes 32 relative-position buckets whatever its config says.
    "mpnet": {"relative_attention_num_buckets": 32},
    # SqueezeBERT's first grouped convolution takes the embeddings as they are (no projection), and
    # its feed-forward convolutions split their channels into four groups
    "squeezebert": {"embedding_size": TINY_SIZES["hidden_size"], "intermediate_size": 40},
    # ESM's config names no vocabulary or special tokens (each checkpoint sets them): a protein alphabet
    "esm": {"vocab_size": 33, "pad_token_id": 1, "mask_token_id": 32},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "distilbert": {"sinusoidal-positions": {"sinusoidal_pos_embds": True}},
}

KNOWN_FAILURES: list = [
    KnownFailure("transformers/canine/onnx-*/*",
                 "CANINE reads Unicode code points, not ids of a vocabulary: its config has no vocab_size, "
                 "and no middle-end draws code points yet"),
]
