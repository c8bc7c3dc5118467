"""Encoder-decoder text models."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

OVERRIDES: dict[str, dict[str, Any]] = {
    # T5Config has no default; real checkpoints start decoding from the pad token.
    "t5": {"decoder_start_token_id": 0},
    # its decoder attends causally and to the encoder only when its config says so, as
    # EncoderDecoderConfig.from_encoder_decoder_configs (how checkpoints are made) sets it
    "encoder-decoder": {"decoder": {"is_decoder": True, "add_cross_attention": True}},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    # T5 v1.1 / mT5: gated feed-forward and untied embeddings
    "t5": {"gated-gelu": {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}},
    # BigBird-Pegasus checkpoints that attend fully (the block-sparse base model is declared below)
    "bigbird-pegasus": {"original-full": {"attention_type": "original_full"}},
}

KNOWN_FAILURES: list = [
    KnownFailure("transformers/bigbird-pegasus/onnx-*/*",
                 "BigBird-Pegasus's block-sparse encoder attention switches itself to full attention, for good, "
                 "on the first input of at most (5 + 2 * num_random_blocks) * block_size tokens: an export traced "
                 "on a shorter input computes full attention where the model as loaded computes block-sparse "
                 "(its original-full variant is certified)"),
]
