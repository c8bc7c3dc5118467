"""Tiny transformers models, built from config classes with random weights.

One general rule shrinks every size field a config has (``sizes.TINY_SIZES``); a model type
needs an entry in its family's ``OVERRIDES`` (``families/``) only where the rule alone would
give a model that cannot run or that loses a feature worth exporting. Sub-configs (CLIP's
text and vision towers) are shrunk by the same rule, recursively.
"""

from __future__ import annotations

from typing import Any

from exportkit.exporters.onnx.models.auto import is_causal_family
from exportkit.transformers_auto import backing_auto_class, task_model_class
from exportkit.task_names import Task

from .base import MissingRecipeError, calibrate_batch_norms, describe
from .families import CALIBRATED_BATCH_NORMS, OVERRIDES, VARIANTS
from .sizes import DEPTH_FIELDS, EXPERT_COUNTS, MOE_WIDTH, TINY_SIZES

# Heads with a free number of classes get 3; others (QA's start/end pair) keep their own count.
NUM_LABELS = 3
LABELLED_TASKS = {"text-classification", "token-classification", "image-classification", "audio-classification"}


# Fields of a sub-config that its parent's defaults set: kept when the sub-config is shrunk
# (RT-DETR's detector reads three backbone stages; the backbone's own default is its last).
KEPT_SUB_CONFIG_FIELDS = ("out_features",)


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
    if fields.get("kv_lora_rank"):
        # multi-head latent attention expands keys and values to every head: no grouped heads
        kwargs["num_key_value_heads"] = kwargs.get("num_attention_heads", fields.get("num_attention_heads"))
        if fields.get("head_dim") == fields.get("qk_rope_head_dim"):  # DeepSeek: rotary tables span the rope part
            kwargs["head_dim"] = kwargs.get("qk_rope_head_dim", fields.get("qk_rope_head_dim"))
    kwargs = {name: value for name, value in kwargs.items() if value != fields.get(name)}
    kwargs.update(_per_layer_fields(fields, {**kwargs, **overrides}, overrides))
    for name, sub_cls in getattr(config_cls, "sub_configs", {}).items():
        if name in fields and isinstance(fields[name], dict):
            sub_cls = _concrete_config_class(sub_cls, fields[name])
            if sub_cls is not None:
                # a sub-config's family declares its own overrides (Gemma 3n's text model)
                tiny = _tiny_kwargs(sub_cls, OVERRIDES.get(str(sub_cls.model_type).replace("_", "-"), {}))
                kwargs[name] = {**_kept_sub_config_fields(sub_cls, fields[name], tiny), **tiny,
                                "model_type": fields[name].get("model_type", sub_cls.model_type)}
    for name, value in overrides.items():
        # a dict overrides fields of a sub-config or dict-valued field, keeping the others as
        # shrunk; one that names a model_type is a whole config, replacing it
        base = kwargs.get(name, fields.get(name))
        merge = isinstance(value, dict) and isinstance(base, dict) and "model_type" not in value
        kwargs[name] = {**base, **value} if merge else value
    vocab_size = kwargs.get("vocab_size", fields.get("vocab_size"))
    if isinstance(vocab_size, int):
        # Special tokens past the tiny vocabulary move to its top, keeping distinct ids distinct
        # (CLIP pools at its eos token, which must not become its bos token).
        # A list of ids (Llama 3's and CWM's several eos tokens) moves id by id.
        token_ids = {name: value for name, value in fields.items()
                     if name.endswith("_token_id") and name not in kwargs and not isinstance(value, bool)
                     and (isinstance(value, int) or (isinstance(value, list) and value
                                                     and all(isinstance(v, int) for v in value)))}
        flat = [v for value in token_ids.values() for v in (value if isinstance(value, list) else [value])]
        outside = sorted({value for value in flat if value >= vocab_size}, reverse=True)
        moved = {value: vocab_size - 1 - rank for rank, value in enumerate(outside)}
        kwargs.update({name: [moved.get(v, v) for v in value] if isinstance(value, list) else moved[value]
                       for name, value in token_ids.items()
                       if (set(value) if isinstance(value, list) else {value}) & moved.keys()})
    return kwargs


def _kept_sub_config_fields(sub_cls: type, parent_default: dict[str, Any], tiny: dict[str, Any]) -> dict[str, Any]:
    """The parent's choices among ``KEPT_SUB_CONFIG_FIELDS``, where the shrunk sub-config has them
    (a backbone shrunk to fewer stages than the parent reads keeps its own default)."""
    kept = {field: parent_default[field] for field in KEPT_SUB_CONFIG_FIELDS if parent_default.get(field)}
    if not kept:
        return {}
    try:
        sub_cls(**{**kept, **tiny})
    except (ValueError, TypeError):
        return {}
    return kept


def _per_layer_fields(fields: dict[str, Any], kwargs: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Lists with one entry per layer (``layer_types``, per-layer widths) follow a shrunk depth.

    A list of layer kinds keeps one layer of each kind (a hybrid's attention and state-space
    layers both stay, so both caches are exported), in the order the config first uses them;
    the depth grows to hold them. A list of numbers keeps its first entries (shrunk already
    where the field is a size). A list the overrides set is left as they set it.
    """
    depth_fields = [name for name in DEPTH_FIELDS if isinstance(fields.get(name), int) and name in kwargs
                    and kwargs[name] < fields[name]]
    if not depth_fields:
        return {}
    depth_field = depth_fields[0]
    full, depth = fields[depth_field], kwargs[depth_field]
    changed: dict[str, Any] = {}
    for name, default in fields.items():
        value = kwargs.get(name, default)  # a per-layer width is shrunk already
        if name in overrides or not isinstance(value, (list, tuple)) or len(value) != full or full < 2:
            continue
        if all(isinstance(v, str) for v in value):
            kinds = list(dict.fromkeys(value))
            depth = max(depth, len(kinds))
            changed[name] = kinds
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            changed[name] = list(value)
    for name, value in changed.items():
        if all(isinstance(v, str) for v in value):
            changed[name] = [*value, *[value[0]] * (depth - len(value))][:depth]
        else:
            changed[name] = value[:depth]
    if changed and depth != kwargs[depth_field]:
        changed[depth_field] = depth
    return changed


def _concrete_config_class(sub_cls: type, default: dict[str, Any]) -> type | None:
    """A composite config's sub-config class; ``AutoConfig`` (any type) resolves by the default's model_type."""
    from transformers import CONFIG_MAPPING, AutoConfig

    if sub_cls is not AutoConfig:
        return sub_cls
    model_type = default.get("model_type")
    return CONFIG_MAPPING[model_type] if model_type in CONFIG_MAPPING else None


def variants(model_type: str, task: str) -> tuple[str, ...]:
    key = _config_key(model_type)
    return tuple(VARIANTS.get(key.replace("_", "-"), {})) if key else ()


# Causal LM classes that attend both ways unless their config says is_decoder (BertGenerationDecoder
# warns, and runs as an encoder), though their family has no masked LM to tell them apart by
DECODERS_WHEN_TOLD = {"bert-generation"}


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
    # a composite model (Qwen3.5's) classifies by its text config's padding token
    try:
        text_defaults = defaults.get_text_config()
    except (AttributeError, ValueError):  # MusicGen's text encoder and decoder: no one text config
        text_defaults = defaults
    text_kwargs = kwargs["text_config"] if text_defaults is not defaults and isinstance(
        kwargs.get("text_config"), dict) else kwargs
    if task_name == "text-classification" and getattr(text_defaults, "pad_token_id", 0) is None:
        # a decoder classifies at the last token before padding: fine-tuned checkpoints name
        # their padding token (commonly end-of-sequence), or batches of more than one fail
        eos = text_kwargs.get("eos_token_id", getattr(text_defaults, "eos_token_id", None))
        text_kwargs.setdefault("pad_token_id", eos if isinstance(eos, int) else 0)
    if task_name == "text-generation" and (not is_causal_family(key) or family in DECODERS_WHEN_TOLD) and getattr(
            defaults, "is_decoder", True) is False:
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


def build(model_type: str, task: str | Task, variant: str | None = None, **overrides: Any):
    """The tiny model of ``model_type`` for ``task``; ``overrides`` set config fields (``num_labels=1``)."""
    cls = model_class(model_type, task)
    if cls is None:
        found = backing_auto_class(model_type, Task.parse(task).name)
        raise MissingRecipeError(f"no transformers model class for {model_type!r} and task {str(task)!r}" + (
            f": {found[0]} maps it to {found[1]}, which this transformers does not define" if found else ""))
    config = tiny_config(model_type, task, variant, **overrides)
    for name, sub_config_class in getattr(config, "sub_configs", {}).items():
        if getattr(cls, "config_class", None) is sub_config_class and getattr(config, name, None) is not None:
            # as transformers' Auto classes do: a model of one part of a composite type (Qwen3.5's
            # causal LM, MusicGen's decoder) is built from that part's config alone
            config = getattr(config, name)
            break
    model = cls(config)
    if _config_key(model_type).replace("_", "-") in CALIBRATED_BATCH_NORMS:
        calibrate_batch_norms(model, _random_images(config))
    return model, describe(model, *_sizes(config))


def _random_images(config, batch_size: int = 4, size: int = 64):
    """Random images of ``size`` pixels a side (the vision configs' smallest dynamic size) to calibrate on."""
    import torch

    return torch.randn(batch_size, getattr(config, "num_channels", 3), size, size)


def _sizes(config) -> list[str]:
    config = getattr(config, "text_config", None) or config  # composite configs (CLIP): the text tower
    layers, hidden = getattr(config, "num_hidden_layers", None), getattr(config, "hidden_size", None)
    return [text for text, value in ((f"{layers} layers", layers), (f"hidden {hidden}", hidden)) if value is not None]
