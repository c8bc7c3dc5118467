"""The general rule of the tiny transformers zoo: every size field a config has, shrunk."""

from __future__ import annotations

# Size field -> tiny value. A field is only ever shrunk (CLIP's 77 text positions stay 77),
# and a list-valued field is shrunk element by element (wav2vec2's conv_dim keeps its
# 7 layers, so the real kernels and strides, and the minimum audio length, are kept).
TINY_SIZES: dict[str, int] = {
    # widths
    "hidden_size": 32, "d_model": 32, "n_embd": 32, "dim": 32, "emb_dim": 32,
    "intermediate_size": 37, "d_ff": 37, "hidden_dim": 37, "n_inner": 37,
    # mixture of experts: few experts, two routed a token. Expert widths are a multiple of four
    # floats: transformers' grouped kernel needs 16-byte aligned rows (real widths always are).
    "num_experts": 4, "num_local_experts": 4, "n_routed_experts": 4,
    "num_experts_per_tok": 2, "num_experts_per_token": 2,
    "moe_intermediate_size": 40, "shared_expert_intermediate_size": 40,
    # grouped routing (DeepSeek-V3 and kin) splits the experts into groups: fewer groups than experts
    "n_group": 2, "topk_group": 1,
    "embedding_size": 16, "projection_dim": 16, "pooler_output_size": 32, "output_hidden_size": 32,
    # a vision or audio tower's output width, which its model requires to be the text width
    "out_hidden_size": 32, "text_hidden_size": 32,
    # hierarchical vision transformers (Swin and kin): the first stage's width, divisible by its heads
    "embed_dim": 24,
    "classifier_proj_size": 16,
    "ffn_dim": 37, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37,
    # multi-head latent attention (DeepSeek and kin): the latent ranks and per-head parts
    "kv_lora_rank": 16, "q_lora_rank": 24, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8,
    # rotary embeddings over part of each head (GPT-J, CodeGen): within the tiny head size
    "rotary_dim": 4,
    # T5's per-head size, kept apart from d_model / num_heads (8) as in t5-3b: the cache must use d_kv.
    "d_kv": 16,
    # an explicit per-head size (Qwen3, Gemma: 128 and more) shrinks with the width it divides
    "head_dim": 8,
    # linear attention (gated delta rule: Qwen3-Next, Qwen3.5, OLMo-Hybrid): its own heads, fewer
    # key than value heads as in the real models, and the per-head sizes of its recurrent state;
    # Kimi delta attention (Kimi Linear, GLM-5 Next, Bailing): as many key as value heads
    "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 8, "linear_value_head_dim": 8,
    "linear_num_heads": 4, "linear_head_dim": 8,
    # depths
    "num_hidden_layers": 2, "num_layers": 2, "num_decoder_layers": 2, "n_layer": 2, "n_layers": 2,
    "encoder_layers": 2, "decoder_layers": 2, "depths": 1,  # per stage: one block each
    # attention heads; fewer key/value heads than query heads keeps grouped-query attention exercised
    "num_attention_heads": 4, "num_heads": 4, "n_head": 4, "n_heads": 4,
    "encoder_attention_heads": 4, "decoder_attention_heads": 4, "num_key_value_heads": 2,
    # vocabularies and positions
    "vocab_size": 99, "src_vocab_size": 99, "tgt_vocab_size": 99,  # FSMT: a vocabulary per language
    "max_position_embeddings": 512, "n_positions": 512, "max_seq_len": 512, "model_max_length": 512,
    # images
    "image_size": 32, "patch_size": 4, "encoder_stride": 4,
    # object queries of DETR-likes: RT-DETR and kin pick their top-k anchors of the smallest image
    "num_queries": 8,
    # audio front ends
    "conv_dim": 32, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2,
    # an audio encoder's position table (output frames): Whisper takes exactly twice as many input frames
    "max_source_positions": 64,
    "tdnn_dim": 32, "xvector_output_dim": 16,
    # size thresholds (exportkit.thresholds), small enough that sizes on both sides are cheap
    "sliding_window": 12, "attention_window": 8, "block_size": 4,
    "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16,
}

EXPERT_COUNTS = ("num_experts", "num_local_experts", "n_routed_experts")
MOE_WIDTH = TINY_SIZES["moe_intermediate_size"]

# Fields that count a model's layers: lists with one entry per layer follow them.
DEPTH_FIELDS = ("num_hidden_layers", "num_layers", "n_layer", "n_layers")
