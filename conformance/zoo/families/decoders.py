"""Decoder-only language models."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

from ..sizes import MOE_WIDTH, TINY_SIZES

# Fields whose config default cannot build a model (each checkpoint sets them).
OVERRIDES: dict[str, dict[str, Any]] = {
    # Zamba ties one shared transformer into every hybrid layer: it needs two of them to tie
    "zamba": {"num_hidden_layers": 3, "layers_block_type": ["linear_attention", "hybrid", "hybrid"]},
    # head_dim defaults to None, and the attention takes it as it is
    "ministral": {"head_dim": TINY_SIZES["head_dim"]},
    "hunyuan-v1-dense": {"head_dim": TINY_SIZES["head_dim"]},
    "hunyuan-v1-moe": {"head_dim": TINY_SIZES["head_dim"]},
    # its rotary embedding reads the parameters of each layer type, which the default leaves empty
    "cohere-compass-text": {"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 10000.0}}},
    # the last num_kv_shared_layers layers reuse the caches of the last earlier layer of their type:
    # the layers before them must hold both types
    "gemma3n-text": {"num_hidden_layers": 4, "num_kv_shared_layers": 2,
                     "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]},
    # the router's top-k and the expert counts default to None
    "deepseek-v2": {"num_experts_per_tok": TINY_SIZES["num_experts_per_tok"]},
    "dots1": {"n_routed_experts": TINY_SIZES["n_routed_experts"], "num_experts_per_tok": TINY_SIZES["num_experts_per_tok"],
              "n_shared_experts": 1},
    # layer_types defaults to None (checkpoints list their convolution and attention layers)
    "lfm2-moe": {"layer_types": ["conv", "full_attention"]},
    # num_key_value_heads defaults to None, and the attention divides by it
    "nemotron": {"num_key_value_heads": TINY_SIZES["num_key_value_heads"]},
    # the attention reads attn_config.rope_theta, which the default attention config no longer has,
    # and clamps by clip_qkv unconditionally (DBRX checkpoints clip at 8)
    "dbrx": {"attn_config": {"kv_n_heads": 1, "rope_theta": 10000.0, "clip_qkv": 8.0}},
    # M-RoPE sections (temporal, height, width) must split the tiny head's rotary half (4 of
    # head_dim 8); the checkpoints' sections split a head of 128
    **{family: {"rope_parameters": {"mrope_section": [2, 1, 1]}}
       for family in ("cosmos3-edge-text", "qwen2-vl-text", "qwen2-5-vl-text", "glm4v-text", "glm-image-text",
                      "glm-ocr-text", "paddleocr-vl-text", "qwen2-5-omni-text")},
    # its sections are (height, width, time): the height and width ones pre-rotated together
    "ernie4-5-vl-moe-text": {"rope_parameters": {"mrope_section": [1, 1, 2]}},
    # head_dim defaults to None, which its attention does not resolve; its checkpoints rotate by four
    # position rows (xdrope_section), which must split the tiny head's rotary half
    "hunyuan-vl-text": {"head_dim": 8, "rope_parameters": {"mrope_section": [1, 1, 1, 1]}},
    # its rotary half is a half of the head (2 of head_dim 8)
    "glm4v-moe-text": {"rope_parameters": {"mrope_section": [1, 1, 0]}},
    # its sections split the rotary half of the latent attention's rope part (2 of qk_rope_head_dim 4)
    "hy-v4-vl-text": {"rope_parameters": {"mrope_section": [1, 1, 0]}},
    # state-space mixers: heads times head size must be the expanded width (2 * hidden_size), and the
    # groups must divide the heads
    "mamba2": {"head_dim": 16, "n_groups": 2, "state_size": 16},
    "bamba": {"mamba_n_heads": 4, "mamba_d_head": 16, "mamba_d_state": 16},
    "granitemoehybrid": {"mamba_n_heads": 4, "mamba_d_head": 16, "mamba_d_state": 16},
    # (their defaults, 128 heads and a state of 256 or 128, made the tiny models' chunk scans
    # gigabytes wide on the certifier's long batches)
    "falcon-h1": {"mamba_d_ssm": 64, "mamba_n_heads": 4, "mamba_d_head": 16, "mamba_d_state": 16},
    "nemotron-h": {"mamba_num_heads": 4, "mamba_head_dim": 16, "ssm_state_size": 16, "n_groups": 2},
    # RecurrentGemma repeats its block types (recurrent, recurrent, attention) over its depth: three
    # layers hold its local attention too
    "recurrent-gemma": {"num_hidden_layers": 3},
    # Reformer's axial position embeddings: their widths sum to the width and their shape factors
    # the position table (the defaults are 64 + 192 of 256 wide, and 64 x 64 of 4096 positions)
    "reformer": {"axial_pos_embds_dim": [16, 16], "axial_pos_shape": [16, 32]},
    # Qwen4-Exp's indexed attention layers always build their QSA token indexer, whose sizes default
    # to None; one key head, and a budget of whole compressed blocks (its validator's rules)
    "qwen4-exp-text": {"indexer_n_heads": 2, "indexer_kv_heads": 1, "indexer_head_dim": 8, "indexer_budget": 4,
                       "indexer_compress_ratio": 2},
    # Aria's experts are as wide as its intermediate_size (its expert count is moe_num_experts): a
    # width of whole 16-byte rows, as the grouped experts kernel needs (see sizes.MOE_WIDTH)
    "aria-text": {"intermediate_size": MOE_WIDTH},
    # Dory's input, recurrent and output blocks must add up to its depth
    "dory": {"num_hidden_layers": 3, "n_input_layers": 1, "n_recurrent_layers": 1, "n_output_layers": 1,
             "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]},
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

# Decoders mixing attention with linear-attention or state-space layers, whose caches hold states.
HYBRID_CACHES = ("bailing-hybrid", "falcon-h1", "inkling-text", "inkling2-loop-text", "inkling2-text", "jamba",
                 "kimi-linear", "lara-mini", "lfm3", "nemotron-h", "olmo-hybrid", "qwen3-5-moe-text", "qwen3-5-text",
                 "qwen3-next", "zamba", "zamba2", "zaya", "lfm2-moe", "qwen3-5", "qwen3-5-moe")
# Decoders whose cache geometry differs by layer (a sliding-window layer's heads or head size).
PER_LAYER_CACHE_GEOMETRY = ("mimo-v2-flash",)
# DeepSeek sparse attention: an indexer's keys are cached beside the latents (dots3's indexed
# attention layers too).
INDEXED_CACHES = ("axk2", "deepseek-v32", "glm-moe-dsa", "hy-v4", "dots3-note-text", "dots3-note")

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
      for family in ("glm", "glm4", "cohere", "cohere2", "ernie4-5",
                     # vision-language models whose language model is GLM-4's or HY-V4's
                     "glm4v", "glm-ocr", "glm46v", "glmga", "hy-v4-vl")),
    KnownFailure("transformers/jetmoe/onnx-torchscript/*",
                 "the TorchScript trace fixes the split sizes of JetMoE's mixture-of-attention input "
                 "projection: the Split fails on other token counts"),
    *(KnownFailure(f"transformers/{family}/onnx-torchscript/*",
                   "the TorchScript trace unrolls the selective scan's loop over time (transformers' sequential "
                   "path without the CUDA kernels): the graph keeps the traced length and fails on others; the "
                   "dynamo engine exports it as a scan")
      for family in ("mamba", "falcon-mamba", "jamba", "zamba")),
    *(KnownFailure(f"transformers/{family}/onnx-torchscript/{task}",
                   f"the TorchScript trace unrolls {loop} (a Python loop over the positions): the graph keeps "
                   "the traced length and fails on others; the dynamo engine exports it as a scan")
      for family, loop in (("rwkv", "RWKV's WKV recurrence"), ("recurrent-gemma", "the RG-LRU's linear recurrence"))
      for task in ("feature-extraction", "text-generation")),
    KnownFailure("transformers/recurrent-gemma/onnx-*/text-generation-with-past",
                 "RecurrentGemma keeps its recurrent and convolution states in its layers' attributes and returns "
                 "no cache: exportkit's cache inputs and outputs (keys and values per layer) do not carry them"),
    # hybrids of attention and linear-attention or state-space layers
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   "a hybrid cache: its linear-attention or state-space layers keep convolution and recurrent "
                   "states, which exportkit's cache inputs and outputs (keys and values per layer) do not carry yet; "
                   "transformers refuses the key-value cache it is given")
      for family in HYBRID_CACHES),
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   "its cache geometry differs by layer (sliding-window layers with other heads or head sizes, "
                   "per-layer configs): exportkit's cache spec gives every layer one geometry")
      for family in PER_LAYER_CACHE_GEOMETRY),
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   "DeepSeek sparse attention caches its indexer's keys beside the latents (DynamicIndexedLayer), "
                   "which exportkit's cache inputs and outputs (keys and values per layer) do not carry yet")
      for family in INDEXED_CACHES),
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   "a state-space model: its cache holds convolution and SSM states, not keys and values, which "
                   "exportkit's cache inputs and outputs do not carry yet")
      for family in ("mamba", "falcon-mamba", "mamba2", "bamba", "granitemoehybrid")),
    KnownFailure("transformers/gemma4-assistant/onnx-*/*",
                 "the tiny zoo cannot build Gemma 4's assistant from its config class's defaults yet: its "
                 "architecture validator wants hidden_size_per_layer_input 0 where the default text config sets 256"),
    KnownFailure("transformers/blt/onnx-*/text-generation-with-past",
                 "BLT caches three transformers of different sizes (local encoder, global transformer, local "
                 "decoder over patches): exportkit's cache spec gives every layer one geometry"),
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   "Qwen4-Exp's QSA indexer keeps its own keys and positions in the model's cache "
                   "(update_indexer, indexer_position_ids), which a cache of keys and values per layer does not hold")
      for family in ("qwen4-exp-text", "qwen4-exp")),
    *(KnownFailure(pattern,
                   "Qwen4-Exp's QSA token indexer picks each query's tokens in a Python loop over the batch rows "
                   "and query positions, from the nonzero indices of its mask: torch.export cannot guard on the "
                   "data-dependent count of blocks, and the TorchScript exporter has no symbolic for its "
                   "boolean scatter")
      for pattern in ("transformers/qwen4-exp-text/onnx-*/*", "transformers/qwen4-exp/onnx-*/text-generation")),
    KnownFailure("transformers/reformer/onnx-*/text-generation-with-past",
                 "Reformer caches LSH buckets and states (past_buckets_states), not keys and values: its model "
                 "takes no cache exportkit's cache inputs carry"),
    KnownFailure("transformers/reformer/onnx-dynamo/*",
                 "Reformer pads its input to a multiple of its chunk length on a Python branch over the "
                 "sequence length (length % 64 != 0 and length > 64), and its LSH attention draws its random "
                 "rotations per call: torch.export keeps the example's batch and side of the branch"),
    KnownFailure("transformers/reformer/onnx-torchscript/*",
                 "the TorchScript exporter fails translating Reformer's graph (unordered_map::at); besides, its "
                 "LSH attention draws fresh random rotations inside each forward, which no export reproduces"),
    KnownFailure("transformers/neomme/onnx-*/*",
                 "NeoMME's M-RoPE rotates a quarter of each head in alternating pairs: at the tiny head size "
                 "(8) that is 2 dimensions, which its config validator refuses"),
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   f"{family} keeps a cache class of its own ({cache}), which exportkit's cache inputs and "
                   "outputs (keys and values per layer) do not carry yet")
      for family, cache in (("minimax", "lightning attention's states"), ("xlstm", "the mLSTM's recurrent state"))),
    *(KnownFailure(f"transformers/{family}/onnx-*/text-generation-with-past",
                   f"{model_class}.forward takes no cache (XLNet keeps its own mems, RWKV its own state, OpenAI "
                   "GPT none): nothing to export with past key values")
      for family, model_class in (("xlnet", "XLNetLMHeadModel"), ("openai-gpt", "OpenAIGPTLMHeadModel"),
                                  ("rwkv", "RwkvForCausalLM"))),
]
