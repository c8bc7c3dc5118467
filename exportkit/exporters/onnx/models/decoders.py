"""Decoder-only language models, exported with or without a KV cache."""

from ....normalized_config import GPT2LikeNormalizedTextConfig, NormalizedFalconConfig, NormalizedTextConfigWithGQA
from ....tasks import register
from ..config import TextDecoderOnnxConfig

# model type -> what the derivation cannot know (collected by auto.declared_facts)
DECLARED = {
    "falcon": {"NORMALIZED_CONFIG_CLASS": NormalizedFalconConfig},
    # MiniCPM3 divides its last states by logits_scaling before the LM head: on long batches ONNX
    # Runtime and torch round the logits apart by 1.1e-5
    "minicpm3": {"ATOL_FOR_VALIDATION": 1e-4},
    # The text decoders of vision-language models, derived through AutoModel (no causal-LM
    # mapping says they are decoders): under their causal mask a left-padded position attends
    # to nothing, so what it computes is arbitrary, as for every decoder
    **{model_type: {"PADDING_SIDES": ("left", "right"), "UNDEFINED_AT_PADDING": frozenset({"left"})}
       for model_type in ("qwen2-vl-text", "qwen2-5-vl-text", "glm4v-text", "glm4v-moe-text", "glm-image-text",
                          "glm-ocr-text")},
    # RWKV's forward takes attention_mask for compatibility and ignores it (it warns so): its
    # recurrence reads every position
    "rwkv": {"ignored_inputs": ("attention_mask",)},
}

DECODER_TASKS = ("feature-extraction", "feature-extraction-with-past", "text-generation", "text-generation-with-past")


@register("gpt2", *DECODER_TASKS)
class GPT2OnnxConfig(TextDecoderOnnxConfig):
    NORMALIZED_CONFIG_CLASS = GPT2LikeNormalizedTextConfig
    ATOL_FOR_VALIDATION = 1e-4


@register(("llama", "mistral", "qwen2"), *DECODER_TASKS)
class LlamaOnnxConfig(TextDecoderOnnxConfig):
    NORMALIZED_CONFIG_CLASS = NormalizedTextConfigWithGQA
    ATOL_FOR_VALIDATION = 1e-4
