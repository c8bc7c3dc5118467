"""Decoder-only language models."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

from ..sizes import TINY_SIZES

# Fields whose config default cannot build a model (each checkpoint sets them).
OVERRIDES: dict[str, dict[str, Any]] = {
    # head_dim defaults to None, and the attention takes it as it is
    "ministral": {"head_dim": TINY_SIZES["head_dim"]},
    "hunyuan-v1-dense": {"head_dim": TINY_SIZES["head_dim"]},
    # num_key_value_heads defaults to None, and the attention divides by it
    "nemotron": {"num_key_value_heads": TINY_SIZES["num_key_value_heads"]},
    # the attention reads attn_config.rope_theta, which the default attention config no longer has,
    # and clamps by clip_qkv unconditionally (DBRX checkpoints clip at 8)
    "dbrx": {"attn_config": {"kv_n_heads": 1, "rope_theta": 10000.0, "clip_qkv": 8.0}},
}

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

# The dynamo engine certifies these families; the TorchScript exporter cannot translate them.
KNOWN_FAILURES: list = [
    KnownFailure("transformers/apertus/onnx-torchscript/*",
                 "the TorchScript exporter has no symbolic for aten::expm1 (Apertus's xIELU activation)"),
    KnownFailure("transformers/diffllama/onnx-torchscript/*",
                 "the TorchScript exporter has no symbolic for aten::rms_norm at opset 18 (DiffLlama's "
                 "per-head nn.RMSNorm)"),
    *(KnownFailure(f"transformers/{family}/onnx-torchscript/*",
                   "the TorchScript export of its interleaved rotary embedding fails: in translation (All "
                   "tensors must have the same rank) or, where it translates, at an attention Reshape on sizes "
                   "other than the traced ones")
      for family in ("glm", "glm4", "cohere", "cohere2", "ernie4-5")),
    KnownFailure("transformers/jetmoe/onnx-torchscript/*",
                 "the TorchScript trace fixes the split sizes of JetMoE's mixture-of-attention input "
                 "projection: the Split fails on other token counts"),
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   f"{model_class}.forward takes no cache (XLNet keeps its own mems, OpenAI GPT none): "
                   "nothing to export with past key values")
      for family, model_class in (("xlnet", "XLNetLMHeadModel"), ("openai-gpt", "OpenAIGPTLMHeadModel"))),
]
