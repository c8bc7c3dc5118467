"""Tiny transformers models, built from config classes with random weights.

One general rule shrinks every size field a config has (see ``TINY_SIZES``); a model type
needs an entry in ``OVERRIDES`` only where the rule alone would give a model that cannot run
or that loses a feature worth exporting. Sub-configs (CLIP's text and vision towers) are
shrunk by the same rule, recursively.
"""

from __future__ import annotations

from typing import Any

from exportkit.exporters.onnx.models.auto import is_causal_family
from exportkit.transformers_auto import backing_auto_class, task_model_class
from exportkit.task_names import Task

from .base import MissingRecipeError, describe

# Size field -> tiny value. A field is only ever shrunk (CLIP's 77 text positions stay 77),
# and a list-valued field is shrunk element by element (wav2vec2's conv_dim keeps its
# 7 layers, so the real kernels and strides, and the minimum audio length, are kept).
TINY_SIZES: dict[str, int] = {
    # widths
    "hidden_size": 32, "d_model": 32, "n_embd": 32, "dim": 32,
    "intermediate_size": 37, "d_ff": 37, "hidden_dim": 37, "n_inner": 37,
    # mixture of experts: few experts, two routed a token. Expert widths are a multiple of four
    # floats: transformers' grouped kernel needs 16-byte aligned rows (real widths always are).
    "num_experts": 4, "num_local_experts": 4, "n_routed_experts": 4, "num_experts_per_tok": 2,
    "moe_intermediate_size": 40, "shared_expert_intermediate_size": 40,
    "embedding_size": 16, "projection_dim": 16, "pooler_output_size": 32, "output_hidden_size": 32,
    # hierarchical vision transformers (Swin and kin): the first stage's width, divisible by its heads
    "embed_dim": 24,
    "classifier_proj_size": 16,
    # T5's per-head size, kept apart from d_model / num_heads (8) as in t5-3b: the cache must use d_kv.
    "d_kv": 16,
    # an explicit per-head size (Qwen3, Gemma: 128 and more) shrinks with the width it divides
    "head_dim": 8,
    # depths
    "num_hidden_layers": 2, "num_layers": 2, "num_decoder_layers": 2, "n_layer": 2, "n_layers": 2,
    "encoder_layers": 2, "decoder_layers": 2, "depths": 1,  # per stage: one block each
    # attention heads; fewer key/value heads than query heads keeps grouped-query attention exercised
    "num_attention_heads": 4, "num_heads": 4, "n_head": 4, "n_heads": 4,
    "encoder_attention_heads": 4, "decoder_attention_heads": 4, "num_key_value_heads": 2,
    # vocabularies and positions
    "vocab_size": 99, "max_position_embeddings": 512, "n_positions": 512,
    # images
    "image_size": 32, "patch_size": 4, "encoder_stride": 4,
    # audio front ends
    "conv_dim": 32, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2,
    "tdnn_dim": 32, "xvector_output_dim": 16,
    # size thresholds (exportkit.thresholds), small enough that sizes on both sides are cheap
    "sliding_window": 12, "attention_window": 8, "block_size": 4,
    "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16,
}

EXPERT_COUNTS = ("num_experts", "num_local_experts", "n_routed_experts")
MOE_WIDTH = TINY_SIZES["moe_intermediate_size"]

# What the general rule cannot know, per model type.
OVERRIDES: dict[str, dict[str, Any]] = {
    # Four stages keep the real 32x downsampling; bottleneck blocks divide widths by 4.
    "resnet": {"embedding_size": 16, "hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1)},
    # T5Config has no default; real checkpoints start decoding from the pad token.
    "t5": {"decoder_start_token_id": 0},
    # MPNet's attention computes 32 relative-position buckets whatever its config says.
    "mpnet": {"relative_attention_num_buckets": 32},
    # ConvNeXt's four stages keep their 32x downsampling with narrow stages of one block.
    "convnext": {"hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1)},
    # Swin attends in windows that must fit its last stage's feature map: 64 / 4 / 2**3 = 2.
    # Its num_layers counts its stages (len(depths)) and its hidden size is the last stage's width
    # (24 * 2**3): the masked-image decoder reads both.
    "swin": {"image_size": 64, "window_size": 2, "encoder_stride": 32, "num_layers": 4, "hidden_size": 192},
    # DETR's default backbone is timm's resnet50; a tiny transformers ResNet stands in.
    "detr": {"num_queries": 8, "backbone_config": {
        "model_type": "resnet", "embedding_size": 16, "hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1],
        "out_features": ["stage4"]}},
}

# Structural switches a family's checkpoints differ by, each certified beside the base tiny
# config: variant name -> config fields changed. A cell is certified only when every variant passes.
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
    # T5 v1.1 / mT5: gated feed-forward and untied embeddings
    "t5": {"gated-gelu": {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}},
    "distilbert": {"sinusoidal-positions": {"sinusoidal_pos_embds": True}},
    "resnet": {"downsample-in-first-stage": {"downsample_in_first_stage": True},
               "basic-blocks": {"layer_type": "basic"}},
    "wav2vec2": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
    "hubert": {"stable-layer-norm": {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}},
}

# Heads with a free number of classes get 3; others (QA's start/end pair) keep their own count.
NUM_LABELS = 3
LABELLED_TASKS = {"text-classification", "token-classification", "image-classification", "audio-classification"}


def _shrink(value: Any, tiny: int) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return min(value, tiny)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return type(value)(min(v, tiny) for v in value)
    return value


def _tiny_kwargs(config_cls: type, overrides: dict[str, Any]) -> dict[str, Any]:
    """Constructor kwargs for a tiny ``config_cls``: shrunk size fields, token ids inside the vocab.

    Only changed fields are passed, so fields the config derives at construction
    (``head_dim``, ``layer_types``, ...) are derived from the tiny sizes.
    """
    defaults = config_cls()
    fields = defaults.to_dict()
    kwargs = {name: _shrink(fields[name], tiny) for name, tiny in TINY_SIZES.items() if name in fields}
    if any(fields.get(name) for name in EXPERT_COUNTS):  # experts as wide as the feed-forward
        kwargs.update({name: MOE_WIDTH for name in ("intermediate_size",) if name in fields})
    kwargs = {name: value for name, value in kwargs.items() if value != fields[name]}
    for name, sub_cls in getattr(config_cls, "sub_configs", {}).items():
        if name in fields and isinstance(fields[name], dict):
            sub_cls = _concrete_config_class(sub_cls, fields[name])
            if sub_cls is not None:
                kwargs[name] = {**_tiny_kwargs(sub_cls, {}), "model_type": fields[name].get("model_type", sub_cls.model_type)}
    kwargs.update(overrides)
    vocab_size = kwargs.get("vocab_size", fields.get("vocab_size"))
    if isinstance(vocab_size, int):
        # Special tokens past the tiny vocabulary move to its top, keeping distinct ids distinct
        # (CLIP pools at its eos token, which must not become its bos token).
        token_ids = {name: value for name, value in fields.items()
                     if name.endswith("_token_id") and isinstance(value, int) and name not in kwargs}
        outside = sorted({value for value in token_ids.values() if value >= vocab_size}, reverse=True)
        moved = {value: vocab_size - 1 - rank for rank, value in enumerate(outside)}
        kwargs.update({name: moved[value] for name, value in token_ids.items() if value in moved})
    return kwargs


def _concrete_config_class(sub_cls: type, default: dict[str, Any]) -> type | None:
    """A composite config's sub-config class; ``AutoConfig`` (any type) resolves by the default's model_type."""
    from transformers import CONFIG_MAPPING, AutoConfig

    if sub_cls is not AutoConfig:
        return sub_cls
    model_type = default.get("model_type")
    return CONFIG_MAPPING[model_type] if model_type in CONFIG_MAPPING else None


def variants(model_type: str) -> tuple[str, ...]:
    key = _config_key(model_type)
    return tuple(VARIANTS.get(key.replace("_", "-"), {})) if key else ()


def tiny_config(model_type: str, task: str | Task = "feature-extraction", variant: str | None = None, **overrides: Any):
    """The tiny config of ``model_type`` (the registry's spelling or transformers') for ``task``."""
    from transformers import CONFIG_MAPPING

    key = _config_key(model_type)
    if key is None:
        raise MissingRecipeError(f"transformers has no config class for model type {model_type!r}")
    config_cls = CONFIG_MAPPING[key]
    family = key.replace("_", "-")
    if variant is not None and variant not in VARIANTS.get(family, {}):
        raise MissingRecipeError(f"{model_type!r} has no variant {variant!r}; it has {list(VARIANTS.get(family, {}))}")
    changes = VARIANTS[family][variant] if variant is not None else {}
    kwargs = _tiny_kwargs(config_cls, {**OVERRIDES.get(family, {}), **changes, **overrides})
    task_name = Task.parse(task).name
    if task_name in LABELLED_TASKS:
        kwargs.setdefault("num_labels", NUM_LABELS)
    defaults = config_cls()
    if task_name == "text-classification" and getattr(defaults, "pad_token_id", 0) is None:
        # a decoder classifies at the last token before padding: fine-tuned checkpoints name
        # their padding token (commonly end-of-sequence), or batches of more than one fail
        eos = kwargs.get("eos_token_id", getattr(defaults, "eos_token_id", None))
        kwargs.setdefault("pad_token_id", eos if isinstance(eos, int) else 0)
    if task_name == "text-generation" and not is_causal_family(key) and getattr(defaults, "is_decoder", True) is False:
        kwargs.setdefault("is_decoder", True)  # an encoder family's causal head is a decoder (BertLMHeadModel)
    return config_cls(**kwargs)


def _config_key(model_type: str) -> str | None:
    from transformers import CONFIG_MAPPING

    # The registry writes "xlm-roberta", transformers may write "xlm_roberta".
    for key in (model_type, model_type.replace("-", "_"), model_type.replace("_", "-")):
        if key in CONFIG_MAPPING:
            return key
    return None


def model_class(model_type: str, task: str | Task):
    """The model class an Auto class maps ``model_type`` to for ``task``, or None."""
    return task_model_class(model_type, Task.parse(task).name)


def has_recipe(model_type: str, task: str | Task) -> bool:
    """An Auto class maps the pair: the zoo builds it through that class."""
    return backing_auto_class(model_type, Task.parse(task).name) is not None


def build(model_type: str, task: str | Task, variant: str | None = None):
    cls = model_class(model_type, task)
    if cls is None:
        found = backing_auto_class(model_type, Task.parse(task).name)
        raise MissingRecipeError(f"no transformers model class for {model_type!r} and task {str(task)!r}" + (
            f": {found[0]} maps it to {found[1]}, which this transformers does not define" if found else ""))
    config = tiny_config(model_type, task, variant)
    model = cls(config)
    return model, describe(model, *_sizes(config))


def _sizes(config) -> list[str]:
    config = getattr(config, "text_config", None) or config  # composite configs (CLIP): the text tower
    layers, hidden = getattr(config, "num_hidden_layers", None), getattr(config, "hidden_size", None)
    return [text for text, value in ((f"{layers} layers", layers), (f"hidden {hidden}", hidden)) if value is not None]
