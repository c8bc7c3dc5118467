"""Models taking text and images (or audio) together."""

from __future__ import annotations

from typing import Any

from ...known_failures import KnownFailure

OVERRIDES: dict[str, dict[str, Any]] = {
    # its vision and audio adapters project the towers' widths into the text model's
    "dots3-note": {"vision_config": {"adapter_in_dim": 32, "adapter_out_dim": 32},
                   "audio_config": {"adapter_input_size": 32, "adapter_out_dim": 32}},
    # Kosmos-2's text decoder names its depth and heads "layers" and "attention_heads"; Kosmos-2.5
    # resamples each image to latent_query_num tokens (2,048 by default)
    "kosmos-2": {"text_config": {"layers": 2, "attention_heads": 4}},
    "kosmos-2.5": {"text_config": {"layers": 2, "attention_heads": 4}, "latent_query_num": 8},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {}

KNOWN_FAILURES: list[KnownFailure] = [
    KnownFailure("transformers/siglip2/onnx-*/*",
                 "SigLIP 2 (NaFlex) takes images as flattened patches with pixel_attention_mask and "
                 "spatial_shapes, not pixel_values of a size: no middle-end exports variable-resolution patches yet"),
    KnownFailure("transformers/siglip2-vision-model/onnx-*/*",
                 "SigLIP 2's vision tower (NaFlex) takes flattened patches with pixel_attention_mask and "
                 "spatial_shapes, and its config has no image size: no middle-end exports variable-resolution "
                 "patches yet"),
    *(KnownFailure(f"transformers/{family}/onnx-*/feature-extraction",
                   f"{name}'s base model takes images (or video) beside text, placed at image tokens in the "
                   "text: exportkit's text-and-vision middle-end is CLIP-like (two towers), and no middle-end "
                   "exports a vision-language model's interleaved inputs yet")
      for family, name in (("qwen3-5", "Qwen3.5"), ("t5gemma2", "T5Gemma 2"), ("emu3", "Emu3"))),
    *(KnownFailure(f"transformers/{family}/onnx-*/zero-shot-object-detection",
                   "open-vocabulary detection takes a batch of text queries per image (input_ids of batch x "
                   "queries rows) and returns a box and a score per patch and query: no middle-end exports "
                   "that pairing yet")
      for family in ("owlvit", "owlv2")),
]
