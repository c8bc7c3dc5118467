"""Uniform attribute names over model configs whose fields are spelled differently.

``NormalizedTextConfig(gpt2_config).num_layers`` reads ``n_layer``; a model family states
its spelling once with :meth:`NormalizedConfig.with_args`.
"""

from __future__ import annotations

import functools
from typing import Any


class NormalizedConfig:
    """Read attributes of a model config through a name mapping.

    Mapped values may be dotted paths into sub-configs (``"text_config.vocab_size"``).
    """

    ATTRIBUTES: dict[str, str] = {}

    def __init__(self, config: Any, allow_new: bool = False, **kwargs: str):
        self.config = config
        self._mapping = {**self.ATTRIBUTES, **{k.lower(): v for k, v in kwargs.items()}}

    @classmethod
    def with_args(cls, allow_new: bool = False, **kwargs: str):
        return functools.partial(cls, allow_new=allow_new, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "config":
            raise AttributeError(name)
        paths = self._mapping.get(name.lower(), name)
        # A tuple of paths: the first the config has (configs spell one size several ways).
        for path in (paths,) if isinstance(paths, str) else paths:
            value: Any = self.config
            for part in path.split("."):
                if not hasattr(value, part):
                    break
                value = getattr(value, part)
            else:
                return value
        raise AttributeError(f"{type(self.config).__name__} has no attribute {paths!r} (normalized name {name!r})")

    def has(self, name: str) -> bool:
        try:
            getattr(self, name)
        except AttributeError:
            return False
        return True


class NormalizedTextConfig(NormalizedConfig):
    ATTRIBUTES = {
        "vocab_size": "vocab_size",
        "hidden_size": "hidden_size",
        "num_layers": "num_hidden_layers",
        "num_attention_heads": "num_attention_heads",
        "max_position_embeddings": "max_position_embeddings",
        "type_vocab_size": "type_vocab_size",
    }


class NormalizedAnyTextConfig(NormalizedConfig):
    """Text sizes under whichever name a transformers config gives them (its ``attribute_map``
    covers most; these are the spellings it does not), read from its text sub-config where the
    model is a composite (``get_text_config()``)."""

    ATTRIBUTES = {
        "vocab_size": ("vocab_size",),
        "hidden_size": ("hidden_size", "d_model", "n_embd", "dim"),
        "num_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
        "num_attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
        "num_key_value_heads": ("num_key_value_heads", "num_kv_heads", "multi_query_group_num"),
        "head_dim": ("head_dim", "d_kv", "attention_head_size"),
        "max_position_embeddings": ("max_position_embeddings", "n_positions", "max_seq_len",
                                    "max_sequence_length", "n_ctx", "max_target_positions"),
        "type_vocab_size": ("type_vocab_size",),
        "encoder_num_layers": ("encoder_layers", "num_layers", "num_hidden_layers"),
        "decoder_num_layers": ("decoder_layers", "num_decoder_layers", "num_hidden_layers"),
        "encoder_num_attention_heads": ("encoder_attention_heads", "num_heads", "num_attention_heads"),
        "decoder_num_attention_heads": ("decoder_attention_heads", "num_heads", "num_attention_heads"),
    }

    def __init__(self, config: Any, allow_new: bool = False, **kwargs: str):
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        super().__init__(text if text is not None else config, allow_new=allow_new, **kwargs)


class NormalizedTextWithTowerConfig(NormalizedAnyTextConfig):
    """A language model fed by a vision or audio tower (LLaVA, Voxtral): the text sizes as
    :class:`NormalizedAnyTextConfig` reads them, the tower's from its sub-config."""

    TOWER_ATTRIBUTES = {
        "image_size": "vision_config.image_size",
        "num_channels": "vision_config.num_channels",
        "num_mel_bins": "audio_config.num_mel_bins",
        "max_source_positions": "audio_config.max_source_positions",
        "n_window": "audio_config.n_window",
    }

    def __init__(self, config: Any, allow_new: bool = False, **kwargs: str):
        super().__init__(config, allow_new=allow_new, **kwargs)
        self._tower = NormalizedConfig(config, **self.TOWER_ATTRIBUTES)

    def __getattr__(self, name: str) -> Any:
        if name in self.TOWER_ATTRIBUTES:
            return getattr(self._tower, name)
        return super().__getattr__(name)


class NormalizedFalconConfig(NormalizedAnyTextConfig):
    """Falcon's cache heads: one under its original multi-query attention, ``num_kv_heads`` only
    with the new decoder architecture (Falcon-40B and later)."""

    @property
    def num_key_value_heads(self) -> int:
        config = self.config
        if config.new_decoder_architecture:
            return config.num_kv_heads
        return 1 if config.multi_query else config.num_attention_heads


class NormalizedCanineConfig(NormalizedAnyTextConfig):
    """CANINE reads Unicode code points, hashed into its embeddings, rather than ids of a
    vocabulary: its config has no ``vocab_size``, and its ids range over every code point."""

    vocab_size = 0x110000


class NormalizedSpeechSeq2SeqConfig(NormalizedAnyTextConfig):
    """A speech encoder-decoder's decoder sizes (its cache), read before the encoder's: Whisper's
    attribute_map points ``num_attention_heads`` at its encoder."""

    ATTRIBUTES = {
        **NormalizedAnyTextConfig.ATTRIBUTES,
        "max_position_embeddings": ("max_target_positions", "decoder_config.max_position_embeddings",
                                    "max_position_embeddings"),
        "decoder_num_layers": ("decoder_layers", "decoder_num_hidden_layers", "num_decoder_layers",
                               "decoder_config.num_hidden_layers", "num_hidden_layers"),
        "decoder_num_attention_heads": ("decoder_attention_heads", "decoder_num_attention_heads",
                                        "decoder_config.num_attention_heads", "num_attention_heads"),
        "decoder_num_key_value_heads": ("decoder_num_key_value_heads", "decoder_config.num_key_value_heads"),
    }


class NormalizedTextConfigWithGQA(NormalizedTextConfig):
    ATTRIBUTES = {**NormalizedTextConfig.ATTRIBUTES, "num_key_value_heads": "num_key_value_heads"}


class NormalizedSeq2SeqConfig(NormalizedTextConfig):
    ATTRIBUTES = {
        **NormalizedTextConfig.ATTRIBUTES,
        "encoder_num_layers": "num_hidden_layers",
        "decoder_num_layers": "num_hidden_layers",
        "encoder_num_attention_heads": "num_attention_heads",
        "decoder_num_attention_heads": "num_attention_heads",
    }


class NormalizedVisionConfig(NormalizedConfig):
    ATTRIBUTES = {"image_size": "image_size", "num_channels": "num_channels"}


class NormalizedAnyVisionConfig(NormalizedConfig):
    """Image sizes of a vision model, read from its vision sub-config where the model is a
    composite (CLIP's or SigLIP's image classifier)."""

    ATTRIBUTES = {"image_size": ("vision_config.image_size", "image_size"),
                  "num_channels": ("vision_config.num_channels", "num_channels")}


class NormalizedVideoConfig(NormalizedConfig):
    """A video model's clip: its frame count and frame size, from its vision sub-config where it
    has one (VideoPrism's), under either of the names video configs give them (V-JEPA 2's crop
    and frames per clip)."""

    ATTRIBUTES = {"image_size": ("vision_config.image_size", "vision_config.crop_size", "image_size", "crop_size"),
                  "num_channels": ("vision_config.num_channels", "num_channels"),
                  "num_frames": ("vision_config.num_frames", "vision_config.frames_per_clip", "num_frames",
                                 "frames_per_clip")}


class NormalizedTextAndVisionConfig(NormalizedConfig):
    ATTRIBUTES = {
        "text_config": "text_config",
        "vision_config": "vision_config",
        "vocab_size": "text_config.vocab_size",
        "max_position_embeddings": "text_config.max_position_embeddings",
        "pad_token_id": "text_config.pad_token_id",
        "eos_token_id": "text_config.eos_token_id",
        "image_size": "vision_config.image_size",
        "num_channels": "vision_config.num_channels",
    }


class NormalizedAudioConfig(NormalizedConfig):
    ATTRIBUTES = {"hidden_size": "hidden_size", "vocab_size": "vocab_size"}


GPT2LikeNormalizedTextConfig = NormalizedTextConfig.with_args(
    num_layers="n_layer", num_attention_heads="n_head", hidden_size="n_embd", max_position_embeddings="n_positions"
)
T5LikeNormalizedTextConfig = NormalizedSeq2SeqConfig.with_args(
    hidden_size="d_model",
    num_attention_heads="num_heads",
    encoder_num_layers="num_layers",
    decoder_num_layers="num_decoder_layers",
    encoder_num_attention_heads="num_heads",
    decoder_num_attention_heads="num_heads",
    key_value_dim="d_kv",
    max_position_embeddings="n_positions",
)
