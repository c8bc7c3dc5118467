"""Tiny diffusers components: each a few channels and one or two blocks, built from its class's
config with random weights. A pipeline's text encoders are transformers classes."""

from __future__ import annotations

from exportkit.loading import DIFFUSERS_CLASS_OF_MODEL_TYPE, DIFFUSERS_COMPONENTS

from ..known_failures import KnownFailure
from .base import MissingRecipeError, describe

# Two blocks: the decoder upsamples 2x, so the latent-to-image size relation is still exercised.
TINY_VAE = {
    "block_out_channels": (8, 16),
    "down_block_types": ("DownEncoderBlock2D",) * 2,
    "up_block_types": ("UpDecoderBlock2D",) * 2,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "latent_channels": 4,
    "sample_size": 32,
}
TINY_TAESD = {"encoder_block_out_channels": (8, 8), "decoder_block_out_channels": (8, 8),
              "num_encoder_blocks": (1, 1), "num_decoder_blocks": (1, 1), "latent_channels": 4}
TINY_DC_AE = {"latent_channels": 4, "attention_head_dim": 4,
              "encoder_block_types": ("ResBlock", "EfficientViTBlock"), "decoder_block_types": ("ResBlock", "EfficientViTBlock"),
              "encoder_block_out_channels": (8, 16), "decoder_block_out_channels": (8, 16),
              "encoder_layers_per_block": (1, 1), "decoder_layers_per_block": (1, 1),
              "encoder_qkv_multiscales": ((), (5,)), "decoder_qkv_multiscales": ((), (5,)),
              "decoder_norm_types": "rms_norm", "decoder_act_fns": "silu"}
TINY_UNET = {"block_out_channels": (8, 16), "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
             "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"), "layers_per_block": 1, "norm_num_groups": 4,
             "cross_attention_dim": 8, "attention_head_dim": 2, "sample_size": 8}
# SDXL: pooled text embeddings (8) and six size/crop numbers, each embedded in 4 (8 + 6 x 4 = 32)
SDXL_ADDED_CONDITIONS = {"addition_embed_type": "text_time", "addition_time_embed_dim": 4,
                         "projection_class_embeddings_input_dim": 32, "transformer_layers_per_block": (1, 2)}
TINY_FLUX = {"patch_size": 1, "in_channels": 16, "num_layers": 1, "num_single_layers": 1, "attention_head_dim": 8,
             "num_attention_heads": 2, "joint_attention_dim": 12, "pooled_projection_dim": 6, "axes_dims_rope": (2, 2, 4)}

RECIPES: dict[tuple[str, str], dict] = {
    ("vae-decoder", "latent-decoding"): TINY_VAE,
    ("vae-encoder", "latent-encoding"): TINY_VAE,
    ("flux2-vae-decoder", "latent-decoding"): TINY_VAE,
    ("flux2-vae-encoder", "latent-encoding"): TINY_VAE,
    ("vae-tiny-decoder", "latent-decoding"): TINY_TAESD,
    ("vae-tiny-encoder", "latent-encoding"): TINY_TAESD,
    ("dc-ae-decoder", "latent-decoding"): TINY_DC_AE,
    ("dc-ae-encoder", "latent-encoding"): TINY_DC_AE,
    ("unet-2d-condition", "noise-prediction"): TINY_UNET,
    ("controlnet", "control-residuals"): {
        **{key: value for key, value in TINY_UNET.items() if key not in ("up_block_types", "sample_size")},
        "conditioning_embedding_out_channels": (4, 8)},
    ("sd3-transformer-2d", "noise-prediction"): {
        "sample_size": 8, "patch_size": 2, "in_channels": 4, "out_channels": 4, "num_layers": 1, "attention_head_dim": 8,
        "num_attention_heads": 2, "joint_attention_dim": 12, "caption_projection_dim": 16, "pooled_projection_dim": 6,
        "pos_embed_max_size": 32},
    ("flux-transformer-2d", "noise-prediction"): TINY_FLUX,
    ("flux-controlnet", "control-residuals"): TINY_FLUX,
    ("flux2-transformer-2d", "noise-prediction"): {
        "patch_size": 1, "in_channels": 16, "num_layers": 1, "num_single_layers": 1, "attention_head_dim": 8,
        "num_attention_heads": 2, "joint_attention_dim": 12, "timestep_guidance_channels": 8,
        "axes_dims_rope": (2, 2, 2, 2)},
    ("sana-transformer-2d", "noise-prediction"): {
        "in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 1,
        "num_cross_attention_heads": 2, "cross_attention_head_dim": 8, "cross_attention_dim": 16,
        "caption_channels": 12, "sample_size": 8, "patch_size": 1},
    ("pixart-transformer-2d", "noise-prediction"): {
        "num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 4, "out_channels": 8, "num_layers": 1,
        "norm_num_groups": 4, "cross_attention_dim": 16, "caption_channels": 12, "sample_size": 8, "patch_size": 2},
    ("wan-transformer-3d", "noise-prediction"): {
        "patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 4, "out_channels": 4,
        "text_dim": 12, "freq_dim": 8, "ffn_dim": 16, "num_layers": 1, "rope_max_seq_len": 32},
    ("hunyuan-video-transformer-3d", "noise-prediction"): {
        "in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 1,
        "num_single_layers": 1, "num_refiner_layers": 1, "patch_size": 2, "patch_size_t": 1, "text_embed_dim": 12,
        "pooled_projection_dim": 6, "rope_axes_dim": (2, 2, 4)},
    ("ltx-video-transformer-3d", "noise-prediction"): {
        "in_channels": 8, "out_channels": 8, "num_attention_heads": 2, "attention_head_dim": 8,
        "cross_attention_dim": 16, "num_layers": 1, "caption_channels": 12},
    ("qwen-image-transformer-2d", "noise-prediction"): {
        "patch_size": 2, "in_channels": 16, "out_channels": 4, "num_layers": 1, "attention_head_dim": 8,
        "num_attention_heads": 2, "joint_attention_dim": 12, "axes_dims_rope": (2, 2, 4)},
}

TEXT_ENCODERS = {  # model type -> (transformers config class, tiny config)
    "clip-text-model": ("CLIPTextConfig", {}),
    "clip-text-model-with-projection": ("CLIPTextConfig", {"projection_dim": 8}),
    "t5-encoder-model": ("T5Config", {"d_kv": 4, "d_ff": 16, "num_decoder_layers": 1}),
    "umt5-encoder-model": ("UMT5Config", {"d_kv": 4, "d_ff": 16, "num_decoder_layers": 1}),
    "gemma2-model": ("Gemma2Config", {"head_dim": 8, "num_key_value_heads": 1}),
    "gemma3-text-model": ("Gemma3TextConfig", {"head_dim": 8, "num_key_value_heads": 1}),
}
TEXT_ENCODER_SIZES = {"vocab_size": 64, "hidden_size": 16, "d_model": 16, "num_hidden_layers": 2, "num_layers": 2,
                      "num_attention_heads": 2, "num_heads": 2, "intermediate_size": 32, "max_position_embeddings": 77}

# Every component but the text encoders attends over every latent position (a VAE's mid-block,
# a UNet's transformer blocks, a DiT's tokens): ONNX Runtime holds batch x heads x (h x w)^2
# scores, 1 GiB for one 128 x 128 latent. Their examples are kept to that much (4 x 128 x 128 inputs).
EXAMPLE_BUDGETS = {model_type: 4 * 128 * 128 for model_type, _ in RECIPES}

# Structural switches, as config fields changed, each certified beside the base.
VARIANTS: dict[str, dict[str, dict]] = {
    "vae-decoder": {
        # three blocks: the decoder upsamples 4x (SD's VAE has four blocks, 8x)
        "three-blocks": {"block_out_channels": (8, 16, 16), "down_block_types": ("DownEncoderBlock2D",) * 3,
                         "up_block_types": ("UpDecoderBlock2D",) * 3},
        "no-mid-block-attention": {"mid_block_add_attention": False},
    },
    "unet-2d-condition": {"sdxl-added-conditions": SDXL_ADDED_CONDITIONS},
    "flux-transformer-2d": {"guidance-distilled": {"guidance_embeds": True}},
}

# Components that do not export today, each with its cause.
RMS_NORM_MODELS = ("flux-transformer-2d", "flux2-transformer-2d", "flux-controlnet", "wan-transformer-3d",
                   "ltx-video-transformer-3d")
KNOWN_FAILURES: list[KnownFailure] = [
    *(KnownFailure(f"diffusers/{model_type}/onnx-torchscript/*",
                   "the TorchScript exporter has no symbolic for aten::rms_norm at opset 18 (the RMSNorm of the "
                   "attention's queries and keys)") for model_type in RMS_NORM_MODELS),
    *(KnownFailure(f"diffusers/{model_type}/onnx-torchscript/*",
                   "the TorchScript exporter has no symbolic for aten::rms_norm at opset 18 (the RMSNorm of the "
                   "attention's queries and keys)", variant=variant)
      for model_type in RMS_NORM_MODELS for variant in VARIANTS.get(model_type, {})),
    KnownFailure("diffusers/dc-ae-*/onnx-torchscript/*",
                 "the TorchScript exporter writes a Transpose with a negative permutation (perm {0, -1, 1, 2}) "
                 "for the linear attention's RMSNorm over channels, which ONNX shape inference refuses"),
    # PixArt ends with hidden_states.squeeze(1) over (batch, tokens, channels): a no-op in PyTorch
    # unless there is one token, which both exporters keep as a Squeeze that shape inference refuses
    KnownFailure("diffusers/pixart-transformer-2d/onnx-torchscript/*",
                 "the TorchScript exporter translates the model's final squeeze(1) over the image tokens as an "
                 "If on the dynamic size whose Squeeze branch ONNX shape inference refuses (the tokens are not 1)"),
    KnownFailure("diffusers/pixart-transformer-2d/onnx-dynamo/*",
                 "the model's final squeeze(1) over the image tokens is exported as a Squeeze of a dimension "
                 "that is not 1 (a no-op in PyTorch), which ONNX shape inference refuses"),
    KnownFailure("diffusers/hunyuan-video-transformer-3d/onnx-torchscript/*",
                 "TorchScript's alias analysis has no op for the aten::masked_fill the token refiner makes of "
                 "its attention mask (an internal assert in torch.jit)"),
    KnownFailure("diffusers/hunyuan-video-transformer-3d/onnx-dynamo/*",
                 "ONNX Runtime has no Where kernel for the element type of the masked_fill the token refiner "
                 "applies to its attention mask (NOT_IMPLEMENTED: Where(16) node_masked_fill)"),
    KnownFailure("diffusers/qwen-image-transformer-2d/onnx-torchscript/*",
                 "the TorchScript exporter has no complex tensors: the rotary embedding multiplies by complex "
                 "frequencies (ScalarType ComplexFloat)"),
    KnownFailure("diffusers/qwen-image-transformer-2d/onnx-dynamo/*",
                 "the rotary positions are built from img_shapes, Python ints of the latent grid, so the image "
                 "token count cannot stay dynamic (torch.export: constraints violated on image_sequence_length)"),
]


def has_recipe(model_type: str, task: str) -> bool:
    return (model_type, task) in RECIPES or (model_type in TEXT_ENCODERS and task == "text-encoding")


def variants(model_type: str, task: str) -> tuple[str, ...]:
    return tuple(VARIANTS.get(model_type, {}))


def build(model_type: str, task: str, variant: str | None = None):
    if not has_recipe(model_type, task):
        raise MissingRecipeError(f"no diffusers recipe for {model_type!r} and task {task!r}")
    changes = {}
    if variant is not None:
        if variant not in VARIANTS.get(model_type, {}):
            raise MissingRecipeError(f"diffusers {model_type!r} has no variant {variant!r}")
        changes = VARIANTS[model_type][variant]
    class_name = DIFFUSERS_CLASS_OF_MODEL_TYPE[model_type]
    if model_type in TEXT_ENCODERS:
        import transformers

        config_name, fields = TEXT_ENCODERS[model_type]
        config_class = getattr(transformers, config_name)
        known = config_class().to_dict()
        config = config_class(**{key: value for key, value in TEXT_ENCODER_SIZES.items() if key in known},
                              **fields, **changes)
        model = getattr(transformers, class_name)(config)
        return model, describe(model, f"{config.num_hidden_layers} layers")
    import diffusers

    model = getattr(diffusers, class_name)(**{**RECIPES[model_type, task], **changes})
    return model, describe(model)


assert set(DIFFUSERS_CLASS_OF_MODEL_TYPE) == {key[0] for key in RECIPES} | set(TEXT_ENCODERS), \
    "every diffusers component has a tiny recipe"
assert all(len(tasks) for tasks in DIFFUSERS_COMPONENTS.values())
