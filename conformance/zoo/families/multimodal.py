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
    # its vision tower's width and depth are embed_dim and depth (32 blocks), which the general rule
    # leaves at a per-head size of 6: its axial rotary needs a multiple of 4
    "qwen2-vl": {"vision_config": {"embed_dim": 32, "depth": 2}},
    # out_hidden_size is the merged patches' width (the tower's times the 2 x 2 merge), which the
    # projection narrows to the text width
    **{family: {"out_hidden_size": 4 * 32, "projector_hidden_size": 32} for family in ("muse-glimmer", "muse-spark")},
    # its projection normalises the tower's merged patches, at the tower's width
    "kimi-k25": {"projection_hidden_size": 32},
    # the pooled image tokens tile the tower's 8 x 8 patches (256 by default, more than there are)
    "gemma3": {"mm_tokens_per_image": 16},
    # the tower layers whose states it concatenates, of the tiny tower's 2 (and its embeddings)
    "vipllava": {"vision_feature_layers": [-2, -1]},
    # its projector maps a patch count to a query count: the tiny tower's 64 patches, not 1,225 or
    # 4,900; the grouped matmul of its experts needs rows of whole 16-byte multiples
    "aria": {"projector_patch_to_query_dict": {64: 16}, "text_config": {"intermediate_size": 64,
                                                                         "moe_intermediate_size": 16}},
    # its text layers find the window size in the text config, which the tiny shrink leaves unset
    "step3p7": {"text_config": {"sliding_window": 8}},
    # their projectors read the audio tower's states four at a time, as intermediate_size wide rows
    "voxtral": {"audio_config": {"intermediate_size": 128}},
    "glmasr": {"audio_config": {"intermediate_size": 128}},
    # its adaptor narrows to a quarter of the text width
    "fun-asr-nano": {"adaptor_config": {"intermediate_size": 8}},
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
                   f"{name}'s base model places image (or video) features at placeholder tokens in the text, "
                   f"and {cause}: the vision-language middle-end (vision_encoder, embed_tokens, "
                   "language_model) takes pixel_values of the config's one image size")
      for family, name, cause in (
          ("t5gemma2", "T5Gemma 2", "its encoder embeds the images inside its own forward (no get_image_features)"),
          ("emu3", "Emu3", "its image tokenizer needs each image's size (image_sizes) besides the pixels"))),
    *(KnownFailure(f"transformers/{family}/onnx-*/zero-shot-object-detection",
                   "open-vocabulary detection takes a batch of text queries per image (input_ids of batch x "
                   "queries rows) and returns a box and a score per patch and query: no middle-end exports "
                   "that pairing yet")
      for family in ("owlvit", "owlv2")),
]
