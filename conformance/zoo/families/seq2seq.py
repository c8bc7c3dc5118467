"""Encoder-decoder text models."""

from __future__ import annotations

from typing import Any

OVERRIDES: dict[str, dict[str, Any]] = {
    # T5Config has no default; real checkpoints start decoding from the pad token.
    "t5": {"decoder_start_token_id": 0},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    # T5 v1.1 / mT5: gated feed-forward and untied embeddings
    "t5": {"gated-gelu": {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}},
}

KNOWN_FAILURES: list = []
