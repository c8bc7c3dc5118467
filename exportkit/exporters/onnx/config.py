"""Modality-aware middle-end ONNX configs: which inputs a kind of model takes and which
outputs each task gives, with the axes of both. Model-specific configs derive from these."""

from __future__ import annotations

import dataclasses
import functools
import math
import types
from typing import Any, ClassVar

import torch


from ...axes import Axis, TensorSpec, derived, opaque
from ...errors import ExportKitError
from ...input_generators import (
    DummyAudioInputGenerator,
    DummyDecoderTextInputGenerator,
    DummyPastKeyValuesGenerator,
    DummyTextInputGenerator,
    DummyTimeSeriesInputGenerator,
    DummyVisionInputGenerator,
)
from ...normalized_config import (
    NormalizedAudioConfig,
    NormalizedConfig,
    NormalizedSpeechSeq2SeqConfig,
    NormalizedTextAndVisionConfig,
    NormalizedVisionConfig,
)
from .base import CACHE_NAMES, ConfigBehavior, OnnxConfig, OnnxConfigWithPast, OnnxSeq2SeqConfigWithPast, returned_cache
from .host_values import host_value_patches
from .patcher import dynamic_rope_patches

TEXT_ENCODER_OUTPUTS = {
    "feature-extraction": {"last_hidden_state": ("batch_size", "sequence_length", None)},
    "fill-mask": {"logits": ("batch_size", "sequence_length", None)},
    "text-classification": {"logits": ("batch_size", None)},
    "token-classification": {"logits": ("batch_size", "sequence_length", None)},
    "question-answering": {"start_logits": ("batch_size", "sequence_length"),
                           "end_logits": ("batch_size", "sequence_length")},
    "multiple-choice": {"logits": ("batch_size", "num_choices")},
}


def sequence_axis(normalized_config: Any, default: int = 16, reserved_positions: int = 0) -> Axis:
    max_positions = normalized_config.max_position_embeddings if normalized_config.has("max_position_embeddings") else None
    if max_positions is not None and max_positions <= 0:  # XLNet's -1: relative positions, no table
        max_positions = None
    if max_positions is not None:
        max_positions -= reserved_positions
    return Axis("sequence_length", default=min(default, max_positions or default), min=1, max=max_positions)


class TextEncoderOnnxConfig(OnnxConfig):
    """Encoder-only text models (BERT and its family)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)
    INPUTS = {
        "input_ids": ("batch_size", "sequence_length"),
        "attention_mask": ("batch_size", "sequence_length"),
        "token_type_ids": ("batch_size", "sequence_length"),
    }
    _TASK_TO_OUTPUTS = TEXT_ENCODER_OUTPUTS

    def axis_table(self) -> dict[str, Axis]:
        table = {
            **super().axis_table(),
            "sequence_length": sequence_axis(self._normalized_config, reserved_positions=self.reserved_positions()),
            "num_choices": Axis("num_choices", default=4, min=1, max=8),
            # a token's box on its page (LayoutLM and kin): x0, y0, x1, y1
            "box_coordinates": Axis.static("box_coordinates", 4),
        }
        type_vocab_sizes = getattr(self._config, "type_vocab_sizes", None)
        if type_vocab_sizes:  # TAPAS types each token several ways (segment, column, row, ranks, ...)
            table["token_type_columns"] = Axis.static("token_type_columns", len(type_vocab_sizes))
        return table

    @property
    def input_specs(self):
        specs = super().input_specs
        if self.task != "multiple-choice":
            return specs
        table = self.axis_table()
        # each choice is a sequence; a per-row input (X-MOD's language) stays one per row
        return {name: self._spec(name, ("batch_size", "num_choices", "sequence_length"), table)
                if any(axis.name == "sequence_length" for axis in spec.axes) else spec for name, spec in specs.items()}


class TextDecoderOnnxConfig(OnnxConfigWithPast):
    """Decoder-only text models, with or without a KV cache."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyPastKeyValuesGenerator)
    # Batched generation pads on the left; a left-padded position attends to nothing under the
    # causal mask, so what it computes (logits, and the cache of later layers) is arbitrary.
    PADDING_SIDES = ("left", "right")
    UNDEFINED_AT_PADDING = frozenset({"left"})
    INPUTS = {
        "input_ids": ("batch_size", "sequence_length"),
        "attention_mask": ("batch_size", "sequence_length"),
    }
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", "sequence_length", None)},
        "text-generation": {"logits": ("batch_size", "sequence_length", None)},
    }

    def axis_table(self) -> dict[str, Axis]:
        table = super().axis_table()
        table["sequence_length"] = sequence_axis(self._normalized_config)
        return table

    def patching_specs(self, model):
        return super().patching_specs(model) + dynamic_rope_patches(model, self.axis_table()["total_sequence_length"].max)


class TextSeq2SeqOnnxConfig(OnnxSeq2SeqConfigWithPast):
    """Encoder-decoder text models; ``submodels()`` splits them into encoder / decoder / decoder-with-past."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyDecoderTextInputGenerator, DummyPastKeyValuesGenerator)
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", "decoder_sequence_length", None)},
        "text2text-generation": {"logits": ("batch_size", "decoder_sequence_length", None)},
    }
    ENCODER_INPUTS = {
        "input_ids": ("batch_size", "encoder_sequence_length"),
        "attention_mask": ("batch_size", "encoder_sequence_length"),
    }
    DECODER_INPUTS = {
        "decoder_input_ids": ("batch_size", "decoder_sequence_length"),
        "encoder_outputs": ("batch_size", "encoder_sequence_length", "hidden_size"),
        "encoder_attention_mask": ("batch_size", "encoder_sequence_length"),
    }

    @property
    def num_layers(self) -> int:
        return self._normalized_config.decoder_num_layers

    def axis_table(self) -> dict[str, Axis]:
        table = super().axis_table()
        max_positions = table["past_sequence_length"].max
        table["encoder_sequence_length"] = Axis("encoder_sequence_length", default=16, min=1, max=max_positions)
        table["decoder_sequence_length"] = Axis("decoder_sequence_length", default=8, min=1, max=max_positions)
        # The decoder axes of the cache, named as the seq2seq decoder names them.
        table["sequence_length"] = table["decoder_sequence_length"]
        table["total_sequence_length"] = derived(
            "total_sequence_length", lambda d: d["past_sequence_length"] + d["decoder_sequence_length"],
            max=max_positions)
        table["hidden_size"] = Axis.static("hidden_size", self._normalized_config.hidden_size)
        return table

    @property
    def input_specs(self):
        table = self.axis_table()
        if self.behavior is ConfigBehavior.ENCODER:
            declared = self.ENCODER_INPUTS
        elif self.behavior is ConfigBehavior.DECODER:
            declared = self.DECODER_INPUTS
        else:
            declared = {**self.ENCODER_INPUTS, "decoder_input_ids": self.DECODER_INPUTS["decoder_input_ids"]}
        specs = {name: self._spec(name, axes, table) for name, axes in declared.items()}
        if self.behavior is ConfigBehavior.DECODER and self.use_past_in_inputs:
            specs.update(self.past_specs("inputs"))
        return specs

    @property
    def output_specs(self):
        table = self.axis_table()
        if self.behavior is ConfigBehavior.ENCODER:
            return {"last_hidden_state": self._spec(
                "last_hidden_state", ("batch_size", "encoder_sequence_length", "hidden_size"), table)}
        specs = {name: self._spec(name, axes, table) for name, axes in self._TASK_TO_OUTPUTS[self.task].items()}
        if self.behavior is ConfigBehavior.DECODER and self.use_past:
            specs.update(self.past_specs("outputs"))
        return specs

    def past_specs(self, direction: str) -> dict[str, TensorSpec]:
        """Self-attention cache ``{prefix}.{i}.decoder.*`` and cross-attention ``{prefix}.{i}.encoder.*``.

        The cross-attention cache depends on the encoder output only, so a decoder that takes
        it as input does not return it again; one that recomputes it (``cross_attention_past``
        false) neither takes nor returns it.
        """
        flat = super().past_specs(direction)  # validates direction; gives the self-attention axes
        if direction == "inputs":
            with_cross_attention = self.cross_attention_past
        else:
            with_cross_attention = not self.use_past_in_inputs
        table = self.axis_table()
        cross_axes = ("batch_size", "num_key_value_heads", "encoder_sequence_length", "head_dim")
        specs = {}
        for name, spec in flat.items():
            prefix, layer, kind = name.split(".")
            specs[f"{prefix}.{layer}.decoder.{kind}"] = dataclasses.replace(spec, name=f"{prefix}.{layer}.decoder.{kind}")
            if with_cross_attention and kind == "value":
                for cross_kind in ("key", "value"):
                    cross = f"{prefix}.{layer}.encoder.{cross_kind}"
                    specs[cross] = self._spec(cross, cross_axes, table)
        return specs

    # ---- calling the parts ---------------------------------------------------------------

    def model_kwargs(self, inputs):
        if self.behavior is ConfigBehavior.ENCODER:
            return dict(inputs)
        if self.behavior is ConfigBehavior.MONOLITH:
            return {**inputs, "use_cache": False}
        kwargs = {
            "decoder_input_ids": inputs["decoder_input_ids"],
            "encoder_outputs": encoder_outputs_class()(last_hidden_state=inputs["encoder_outputs"]),
            "attention_mask": inputs["encoder_attention_mask"],
            "use_cache": self.use_past,
        }
        if self.use_past_in_inputs:
            kwargs["past_key_values"] = self.build_cache(inputs)
        return kwargs

    def build_cache(self, inputs):
        from transformers import DynamicCache, EncoderDecoderCache

        self_attention, cross_attention = DynamicCache(), DynamicCache()
        for layer in range(self.num_layers):
            prefix = f"{self.PAST_INPUT_PREFIX}.{layer}"
            self_attention.update(inputs[f"{prefix}.decoder.key"], inputs[f"{prefix}.decoder.value"], layer)
            if self.cross_attention_past:
                cross_attention.update(inputs[f"{prefix}.encoder.key"], inputs[f"{prefix}.encoder.value"], layer)
        cache = EncoderDecoderCache(self_attention, cross_attention)
        if self.cross_attention_past:
            for layer in range(self.num_layers):  # the cross-attention cache is complete: do not recompute it
                cache.is_updated[layer] = True
        return cache

    def call_model(self, model, kwargs):
        if self.behavior is ConfigBehavior.ENCODER:
            return model.get_encoder()(**kwargs)
        return super().call_model(model, kwargs)

    def flatten_outputs(self, model_output):
        names = [n for n in self.output_specs if not n.startswith(self.PRESENT_OUTPUT_PREFIX + ".")]
        out = {name: model_output[name] for name in names}
        if self.behavior is ConfigBehavior.DECODER and self.use_past:
            cache = returned_cache(model_output)
            for layer in range(self.num_layers):
                prefix = f"{self.PRESENT_OUTPUT_PREFIX}.{layer}"
                out[f"{prefix}.decoder.key"] = cache.self_attention_cache.layers[layer].keys
                out[f"{prefix}.decoder.value"] = cache.self_attention_cache.layers[layer].values
                if not self.use_past_in_inputs:
                    out[f"{prefix}.encoder.key"] = cache.cross_attention_cache.layers[layer].keys
                    out[f"{prefix}.encoder.value"] = cache.cross_attention_cache.layers[layer].values
        return out


@functools.cache
def encoder_outputs_class() -> type:
    """The encoder's states as a model's own encoder returns them (transformers is imported on
    first use): some decoders read them by attribute (NLLB-MoE, ProphetNet, T5Gemma:
    ``.last_hidden_state``), and other fields of their own output class (NLLB-MoE's
    ``router_logits``) read as absent."""
    from transformers.modeling_outputs import BaseModelOutput

    class EncoderOutputs(BaseModelOutput):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return None

    return EncoderOutputs


def image_axes(normalized_config: Any, *, dynamic: bool, default: int = 64, min_size: int = 64,
               multiple_of: int = 1, max_size: int = 512) -> dict[str, Axis]:
    """Height and width: dynamic for a model that takes any size, else fixed at the config's image size."""
    if not dynamic:
        size = normalized_config.image_size
        height, width = (size, size) if isinstance(size, int) else (size[0], size[-1])
        return {"height": Axis.static("height", height), "width": Axis.static("width", width)}
    smallest = -(-min_size // multiple_of) * multiple_of
    default = max(smallest, default // multiple_of * multiple_of)
    max_size = max(max_size, default) // multiple_of * multiple_of
    return {
        name: Axis(name, default=default, min=min_size, max=max_size, multiple_of=multiple_of, kwarg=f"image_{name}")
        for name in ("height", "width")
    }


class VisionOnnxConfig(OnnxConfig):
    """Vision models taking ``pixel_values``. ``DYNAMIC_IMAGE_SIZE`` says whether height and width may vary.

    A dynamic-size convnet's smallest image is derived from its total stride (how many pixels
    one position of its last feature map spans, :meth:`total_stride`): the last feature map
    keeps ``MIN_FEATURE_SIZE`` positions, because torch.export cannot keep a size range that
    reaches 1 symbolic.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedVisionConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyVisionInputGenerator,)
    DYNAMIC_IMAGE_SIZE = False
    MIN_FEATURE_SIZE = 2
    # Where pooling arithmetic (ceil-mode pooling, strided shortcuts) only agrees with itself on
    # multiples of the total stride, image sizes step by it.
    IMAGE_SIZE_STEP_IS_STRIDE = False
    INPUTS = {"pixel_values": ("batch_size", "num_channels", "height", "width")}
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", None, None)},
        "image-classification": {"logits": ("batch_size", None)},
    }

    # Pixels per position of the last feature map where the family fixes it (declared), else read.
    TOTAL_STRIDE: int | None = None

    def total_stride(self) -> int:
        """Pixels per position of the last feature map: ``TOTAL_STRIDE``, or the model config's ``total_stride``."""
        if self.TOTAL_STRIDE is not None:
            return self.TOTAL_STRIDE
        nc = self._normalized_config
        if not nc.has("total_stride"):
            raise ExportKitError(f"{type(self).__name__}: the model config does not say its total stride; "
                                 "override total_stride()")
        return int(nc.total_stride)

    def axis_table(self) -> dict[str, Axis]:
        channels = self._normalized_config.num_channels if self._normalized_config.has("num_channels") else 3
        sizes = {}
        if self.DYNAMIC_IMAGE_SIZE:
            stride = self.total_stride()
            sizes = {"min_size": self.MIN_FEATURE_SIZE * stride,
                     "multiple_of": stride if self.IMAGE_SIZE_STEP_IS_STRIDE else 1}
        return {
            **super().axis_table(),
            "num_channels": Axis.static("num_channels", channels),
            **image_axes(self._normalized_config, dynamic=self.DYNAMIC_IMAGE_SIZE, **sizes),
        }


def patch_grid(side: int) -> torch.Tensor:
    """The grid (frames, rows, columns) of one image of ``side`` x ``side`` patches."""
    return torch.tensor([[1, side, side]])


def patch_grid_axes(vision_config: Any, side: int) -> dict[str, Axis]:
    """The static axes of one image's flattened patches on a ``side`` x ``side`` grid: the
    patches, and the values of each (channels x temporal patch x patch x patch)."""
    channels = next((getattr(vision_config, name) for name in ("in_channels", "num_channels", "in_chans")
                     if getattr(vision_config, name, None)), 3)
    temporal = next((getattr(vision_config, name) for name in ("temporal_patch_size", "patch_temporal")
                     if getattr(vision_config, name, None)), 1)
    return {"num_channels": Axis.static("num_channels", channels),
            "num_patches": Axis.static("num_patches", side * side),
            "patch_values": Axis.static("patch_values", channels * temporal * vision_config.patch_size ** 2),
            "patch_size": Axis.static("patch_size", vision_config.patch_size)}


class PatchGridVisionOnnxConfig(OnnxConfig):
    """Vision towers that read an image as a grid of flattened patches (Qwen2-VL's and its heirs'):
    ``pixel_values`` of (patches, channels x temporal patch x patch x patch) and ``grid_thw``, the
    grid (frames, rows, columns) they lie on.

    The tower derives its rotary positions, attention windows and sequence boundaries from the
    grid's values, so a graph is exported for one grid: ``grid_thw`` is not an input but the
    constant of the export, one image of ``GRID_SIDE`` x ``GRID_SIDE`` patches (a multiple of the
    tower's spatial merge), every axis static. An image is resized to that grid before it runs.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedVisionConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyVisionInputGenerator,)
    PAD_EXPORT_INPUTS = False
    GRID_SIDE: ClassVar[int] = 8  # patches a side: 4 merged tokens a side at a spatial merge of 2
    PIXELS_ARGUMENT: ClassVar[str] = "pixel_values"  # what the tower's forward calls the patches
    INPUTS = {"pixel_values": ("num_patches", "patch_values")}
    _TASK_TO_OUTPUTS = {"feature-extraction": {"last_hidden_state": (None, None)}}

    def axis_table(self) -> dict[str, Axis]:
        return {**super().axis_table(), **patch_grid_axes(self._config, self.GRID_SIDE)}

    def model_kwargs(self, inputs):
        return {self.PIXELS_ARGUMENT: inputs["pixel_values"], "grid_thw": patch_grid(self.GRID_SIDE)}

    def patching_specs(self, model):
        # the host values the tower derives from its grid, the export's constants (host_values.py)
        images = [self.generate_dummy_inputs(seed=seed)["pixel_values"] for seed in (0, 1)]
        return super().patching_specs(model) + host_value_patches(
            lambda pixels: model(**self.model_kwargs({"pixel_values": pixels})), images)


class TextAndVisionOnnxConfig(OnnxConfig):
    """Models taking text and images together (CLIP-like)."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextAndVisionConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyVisionInputGenerator)
    # CLIP-like tokenizers pad on the right; the text tower pools at a token position.
    PADDING_SIDES = ("right",)
    INPUTS = {
        "input_ids": ("text_batch_size", "sequence_length"),
        "attention_mask": ("text_batch_size", "sequence_length"),
        "pixel_values": ("image_batch_size", "num_channels", "height", "width"),
    }

    def axis_table(self) -> dict[str, Axis]:
        nc = self._normalized_config
        return {
            **super().axis_table(),
            "text_batch_size": Axis("text_batch_size", default=2, min=1, max=64),
            "image_batch_size": Axis("image_batch_size", default=3, min=1, max=64),
            "sequence_length": sequence_axis(nc),
            "num_channels": Axis.static("num_channels", nc.num_channels if nc.has("num_channels") else 3),
            **image_axes(nc, dynamic=False),
        }


class TimeSeriesOnnxConfig(OnnxConfig):
    """Patch-based time-series encoders (PatchTST, PatchTSMixer): ``past_values`` of (batch,
    context length, channels) in, every channel's patch states out, with the location and scale
    each series was standardised by (what a forecasting head reads to undo the scaling). The
    context length and the channels are the config's: the patch grid and the channel mixing are
    sized by them."""

    NORMALIZED_CONFIG_CLASS = NormalizedConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTimeSeriesInputGenerator,)
    INPUTS = {"past_values": ("batch_size", "context_length", "num_input_channels")}
    _TASK_TO_OUTPUTS = {"feature-extraction": {"last_hidden_state": ("batch_size", None, None, None),
                                               "loc": ("batch_size", None, None),
                                               "scale": ("batch_size", None, None)}}

    def axis_table(self) -> dict[str, Axis]:
        return {**super().axis_table(),
                "context_length": Axis.static("context_length", self._config.context_length),
                "num_input_channels": Axis.static("num_input_channels", self._config.num_input_channels)}


class AudioOnnxConfig(OnnxConfig):
    """Models taking raw audio samples (``input_values``)."""

    NORMALIZED_CONFIG_CLASS = NormalizedAudioConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyAudioInputGenerator,)
    INPUTS = {"input_values": ("batch_size", "audio_sequence_length")}
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", "num_frames", None)},
        "automatic-speech-recognition": {"logits": ("batch_size", "num_frames", None)},
        "audio-classification": {"logits": ("batch_size", None)},
    }
    def min_frames(self) -> int:
        """The fewest feature frames the model takes: two (one would have torch.export fix the
        frame axis to the constant 1), more where its head convolves frames (x-vector TDNN layers)."""
        frames = 2
        if self.task == "audio-xvector":
            kernels, dilations = self._config.tdnn_kernel, self._config.tdnn_dilation
            frames += sum((kernel - 1) * dilation for kernel, dilation in zip(kernels, dilations))
        return frames

    def min_audio_samples(self) -> int:
        """The fewest samples from which the convolutional feature encoder makes :meth:`min_frames` frames."""
        kernels, strides = self._config.conv_kernel, self._config.conv_stride
        receptive_field, hop = kernels[0], strides[0]
        for kernel, stride in zip(kernels[1:], strides[1:]):
            receptive_field += (kernel - 1) * hop
            hop *= stride
        return receptive_field + (self.min_frames() - 1) * hop

    def axis_table(self) -> dict[str, Axis]:
        return {
            **super().axis_table(),
            "audio_sequence_length": Axis("audio_sequence_length", default=16000, min=self.min_audio_samples(),
                                          max=48000),
            "num_frames": opaque("num_frames"),
        }


AUDIO_OUTPUTS: dict[str, dict[str, tuple]] = {
    "feature-extraction": {"last_hidden_state": ("batch_size", "num_frames", None)},
    "automatic-speech-recognition": {"logits": ("batch_size", "num_frames", None)},
    "audio-classification": {"logits": ("batch_size", None)},
    "audio-frame-classification": {"logits": ("batch_size", "num_frames", None)},
    "audio-xvector": {"logits": ("batch_size", None), "embeddings": ("batch_size", None)},
}

# transformers' names for the function that maps input lengths (samples or feature frames) to
# the encoder's output frames, on a model's PreTrainedModel class. Some return (after the
# convolutions, after the whole encoder): the last is the encoder's.
OUTPUT_LENGTH_METHODS = ("_get_feat_extract_output_lengths", "_get_subsampling_output_length")
# Config fields naming the encoder's position table (output frames), first found wins; a
# seq2seq model's own max_position_embeddings is its decoder's.
ENCODER_POSITION_FIELDS = ("max_source_positions", "encoder_config.max_position_embeddings",
                           "audio_config.max_position_embeddings")
# Where no position table bounds the encoder (rotary or relative positions): its most output frames tried.
MAX_UNBOUNDED_OUTPUT_FRAMES = 512


def xvector_frames(config: Any) -> int:
    """Frames an x-vector head's TDNN layers consume (dilated convolutions without padding)."""
    return sum((kernel - 1) * dilation for kernel, dilation in zip(config.tdnn_kernel, config.tdnn_dilation))


class AudioFramesMixin:
    """The frame axis of an audio encoder's input, with its bounds derived from transformers.

    The inputs range from the fewest the subsampling convolutions turn into
    :meth:`min_output_frames` encoder frames to the most whose encoder frames fit its position
    table, both read off transformers' own output-length function of the model class
    (:data:`OUTPUT_LENGTH_METHODS`). ``FIXED_FRAMES``: the model takes only the longest (Whisper
    pads every input to 30 s). Log-mel features (``input_features``) have their feature size
    from the config (``num_mel_bins``, ...) and are (batch, frames, features), or (batch,
    features, frames) where ``CHANNELS_FIRST``; raw samples (``RAW_AUDIO``, ``input_values``)
    are (batch, samples).
    """

    RAW_AUDIO: ClassVar[bool] = False
    CHANNELS_FIRST: ClassVar[bool] = False
    FIXED_FRAMES: ClassVar[bool] = False
    # Bounds of the input axis where the model class has no output-length function.
    MIN_FRAMES: ClassVar[int | None] = None
    MAX_FRAMES: ClassVar[int | None] = None
    # The config field that fixes the input frames (the Audio Spectrogram Transformer's max_length).
    FIXED_FRAMES_FIELD: ClassVar[str | None] = None
    # Input frames per encoder frame where the model class has no output-length function (else
    # the config's subsampling_factor): bounds only, the encoder's output length stays the model's.
    SUBSAMPLING_FACTOR: ClassVar[int | None] = None
    # the model class whose output-length function is read (derived configs set it)
    MODEL_CLASS: ClassVar[type | None] = None
    # False where the model's forward names a mask it ignores (Whisper's) or one not over the frames
    AUDIO_MASK: ClassVar[bool] = True
    # the name of the encoder's output frames in the graph
    ENCODER_OUTPUT_AXIS: ClassVar[str] = "num_frames"

    @property
    def frames_axis_name(self) -> str:
        return "audio_sequence_length" if self.RAW_AUDIO else "feature_sequence_length"

    def audio_input_specs(self, names, table) -> dict[str, TensorSpec]:
        """Specs of the audio inputs among ``names``: the features or samples, and their mask."""
        frames = self.frames_axis_name
        features = ("batch_size", "feature_size", frames) if self.CHANNELS_FIRST else ("batch_size", frames, "feature_size")
        audio = ("batch_size", frames) if self.RAW_AUDIO else features
        axes = {"input_values": audio, "input_features": audio}
        return {name: self._spec(name, axes.get(name, ("batch_size", frames)), table) for name in names
                if name in axes or self.AUDIO_MASK}

    def min_output_frames(self) -> int:
        # one frame would have torch.export fix the axis to the constant 1
        return 2

    def feature_size(self) -> int:
        config = self._config
        for holder in (config, getattr(config, "encoder_config", None), getattr(config, "audio_config", None)):
            if holder is None:
                continue
            if getattr(holder, "input_feat_per_channel", None):  # Speech2Text: features x channels
                return holder.input_feat_per_channel * getattr(holder, "input_channels", 1)
            for name in ("num_mel_bins", "feature_projection_input_dim", "input_feat_size", "feature_size"):
                if isinstance(getattr(holder, name, None), int):
                    return getattr(holder, name)
        raise ExportKitError(f"{type(self).__name__}: the model config names no feature size (num_mel_bins, ...)")

    def encoder_output_length(self, frames: int) -> int | None:
        """Encoder frames from ``frames`` input frames, by the model's own function; None if it has none."""
        import torch

        for name in OUTPUT_LENGTH_METHODS:
            method = getattr(self.MODEL_CLASS, name, None)
            if method is None:
                continue
            # the functions read only self.config: call them on a stand-in holding the config
            result = method(types.SimpleNamespace(config=self._config), torch.tensor(frames))
            if isinstance(result, tuple):
                result = result[-1]
            return int(result)
        return None

    def subsampling_factor(self) -> int | None:
        if self.SUBSAMPLING_FACTOR is not None:
            return self.SUBSAMPLING_FACTOR
        for holder in (self._config, getattr(self._config, "encoder_config", None)):
            if isinstance(getattr(holder, "subsampling_factor", None), int):
                return holder.subsampling_factor
        return None

    def encoder_positions(self) -> int | None:
        """The encoder's position table (its most output frames), or None where it has none."""
        for path in ENCODER_POSITION_FIELDS:
            value = self._config
            for part in path.split("."):
                value = getattr(value, part, None)
            if isinstance(value, int):
                return value
        if not isinstance(self, OnnxSeq2SeqConfigWithPast):
            value = getattr(self._config, "max_position_embeddings", None)
            return value if isinstance(value, int) else None
        return None

    def frame_range(self) -> tuple[int, int]:
        """The fewest and the most input frames (equal for ``FIXED_FRAMES``)."""
        if self.FIXED_FRAMES_FIELD is not None:
            frames = getattr(self._config, self.FIXED_FRAMES_FIELD)
            return frames, frames
        if self.MIN_FRAMES is not None and self.MAX_FRAMES is not None:
            return self.MIN_FRAMES, self.MAX_FRAMES
        length = self.encoder_output_length
        fewest = self.min_output_frames()
        if length(1) is None:
            factor = self.subsampling_factor()
            if factor is None:
                raise ExportKitError(f"{type(self).__name__}: the model class has no output-length function "
                                     f"({', '.join(OUTPUT_LENGTH_METHODS)}) and its config no subsampling_factor; "
                                     "declare SUBSAMPLING_FACTOR, or MIN_FRAMES and MAX_FRAMES")
            most = factor * (self.encoder_positions() or MAX_UNBOUNDED_OUTPUT_FRAMES)
            return (most, most) if self.FIXED_FRAMES else (factor * (fewest - 1) + 1, most)
        high = 1
        while length(high) < fewest:
            high *= 2
        smallest = _bisect_first(lambda n: length(n) >= fewest, max(1, high // 2), high)
        positions = self.encoder_positions() or MAX_UNBOUNDED_OUTPUT_FRAMES
        high = smallest
        while length(high) <= positions:
            high *= 2
        largest = _bisect_first(lambda n: length(n) > positions, max(smallest, high // 2), high) - 1
        return (largest, largest) if self.FIXED_FRAMES else (smallest, largest)

    def audio_axes(self) -> dict[str, Axis]:
        """The input frames (or samples), the feature size, and the encoder's output frames
        (``encoder_output_length``: derived where transformers says how, static for a static input)."""
        low, high = self.frame_range()
        name = self.frames_axis_name
        if low == high:
            frames = Axis.static(name, low)
        else:
            default = 16000 if self.RAW_AUDIO else 64
            frames = Axis(name, default=min(max(low, default), high), min=low, max=high)
        table = {name: frames}
        if not self.RAW_AUDIO:
            table["feature_size"] = Axis.static("feature_size", self.feature_size())
        out = self.ENCODER_OUTPUT_AXIS
        if self.encoder_output_length(low) is None:
            # a size only the model knows: symbolic where the input frames are
            table["encoder_output_length"] = opaque(out) if frames.dynamic else Axis(out, dynamic=False)
        elif not frames.dynamic:
            table["encoder_output_length"] = Axis.static(out, self.encoder_output_length(low))
        else:
            table["encoder_output_length"] = derived(out, lambda d: self.encoder_output_length(d[name]))
        return table


def _bisect_first(predicate, low: int, high: int) -> int:
    """The smallest n in [low, high] with predicate(n), given predicate(high) and monotony."""
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle + 1
    return high


class SpectrogramOnnxConfig(AudioFramesMixin, OnnxConfig):
    """Audio encoders taking log-mel features (Whisper's classifier, wav2vec2-BERT, Parakeet's CTC)."""

    NORMALIZED_CONFIG_CLASS = NormalizedAudioConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyAudioInputGenerator,)
    # feature extractors pad audio at its end
    PADDING_SIDES = ("right",)
    # the mask under its models' names; a derived config keeps the one its model's forward takes
    INPUTS = {
        "input_features": ("batch_size", "feature_sequence_length", "feature_size"),
        "input_values": ("batch_size", "feature_sequence_length", "feature_size"),
        "attention_mask": ("batch_size", "feature_sequence_length"),
        "input_features_mask": ("batch_size", "feature_sequence_length"),
    }
    _TASK_TO_OUTPUTS = {task: {name: tuple("encoder_output_length" if axis == "num_frames" else axis for axis in axes)
                               for name, axes in outputs.items()} for task, outputs in AUDIO_OUTPUTS.items()}

    def min_output_frames(self) -> int:
        frames = super().min_output_frames()
        return frames + xvector_frames(self._config) if self.task == "audio-xvector" else frames

    def axis_table(self) -> dict[str, Axis]:
        return {**super().axis_table(), **self.audio_axes()}

    @property
    def input_specs(self):
        return self.audio_input_specs(self.INPUTS, self.axis_table())


class SpeechSeq2SeqOnnxConfig(AudioFramesMixin, TextSeq2SeqOnnxConfig):
    """Speech encoder-decoders (Whisper, Speech2Text, Moonshine): an audio encoder, a text decoder with a KV cache.

    The decoder graph is the decoder module and the output head, called as the model calls them:
    its ``encoder_outputs`` are the encoder's output frames (``encoder_sequence_length``, not the
    input frames), and it takes ``encoder_attention_mask`` over them where the decoder does
    (Whisper's takes none).
    """

    NORMALIZED_CONFIG_CLASS = NormalizedSpeechSeq2SeqConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyAudioInputGenerator, DummyTextInputGenerator,
                                     DummyDecoderTextInputGenerator, DummyPastKeyValuesGenerator)
    PADDING_SIDES = ("right",)
    ENCODER_OUTPUT_AXIS = "encoder_sequence_length"
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", "decoder_sequence_length", None)},
        "automatic-speech-recognition": {"logits": ("batch_size", "decoder_sequence_length", None)},
    }
    ENCODER_INPUTS = {
        "input_features": ("batch_size", "feature_sequence_length", "feature_size"),
        "input_values": ("batch_size", "audio_sequence_length"),
        "attention_mask": ("batch_size", "feature_sequence_length"),
    }  # its DECODER_INPUTS are the text encoder-decoder's

    @property
    def num_key_value_heads(self) -> int:
        nc = self._normalized_config
        for name in ("decoder_num_key_value_heads", "decoder_num_attention_heads"):
            if nc.has(name) and getattr(nc, name):
                return getattr(nc, name)
        return super().num_key_value_heads

    @property
    def head_dim(self) -> int:
        nc = self._normalized_config
        if nc.has("head_dim") and nc.head_dim:
            return nc.head_dim
        heads = nc.decoder_num_attention_heads if nc.has("decoder_num_attention_heads") else nc.num_attention_heads
        return nc.hidden_size // heads

    def axis_table(self) -> dict[str, Axis]:
        table = {**super().axis_table(), **self.audio_axes()}
        # what the decoder cross-attends to: the encoder's output frames, up to its table
        most = (self.encoder_positions() or self.encoder_output_length(table[self.frames_axis_name].max)
                or MAX_UNBOUNDED_OUTPUT_FRAMES)
        table["encoder_sequence_length"] = Axis("encoder_sequence_length", default=min(16, most), min=1, max=most)
        return table

    @property
    def input_specs(self):
        if self.behavior is ConfigBehavior.DECODER:
            specs = super().input_specs
            if self.use_past_in_inputs and self.cross_attention_past:
                specs.pop("encoder_outputs")  # what the decoder reads of it is in the cross-attention cache
            return specs
        table = self.axis_table()
        specs = self.audio_input_specs(self.ENCODER_INPUTS, table)
        if self.behavior is ConfigBehavior.MONOLITH:
            specs["decoder_input_ids"] = self._spec("decoder_input_ids", self.DECODER_INPUTS["decoder_input_ids"], table)
        return specs

    @property
    def output_specs(self):
        if self.behavior is ConfigBehavior.ENCODER:
            return {"last_hidden_state": self._spec(
                "last_hidden_state", ("batch_size", "encoder_output_length", "hidden_size"), self.axis_table())}
        return super().output_specs

    # ---- calling the parts ---------------------------------------------------------------

    def model_kwargs(self, inputs):
        if self.behavior is not ConfigBehavior.DECODER:
            return super().model_kwargs(inputs)
        # under the model's own argument names (a derived config passes only those), read back by call_model
        kwargs = {"decoder_input_ids": inputs["decoder_input_ids"], "use_cache": self.use_past}
        if "encoder_outputs" in inputs:
            kwargs["encoder_outputs"] = (inputs["encoder_outputs"],)
        if "encoder_attention_mask" in inputs:
            kwargs["attention_mask"] = inputs["encoder_attention_mask"]
        if self.use_past_in_inputs:
            kwargs["past_key_values"] = self.build_cache(inputs)
        return kwargs

    def call_model(self, model, kwargs):
        if self.behavior is not ConfigBehavior.DECODER:
            return super().call_model(model, kwargs)
        from .base import forward_parameters, with_cache_keyword

        # The decoder module and the output head, as the model's forward calls them: a speech
        # model's forward remakes the encoder mask from a mask over the input frames.
        decoder = model.get_decoder()
        encoder_outputs = kwargs.get("encoder_outputs")
        decoder_kwargs = {"input_ids": kwargs["decoder_input_ids"], "use_cache": kwargs["use_cache"],
                          "encoder_hidden_states": encoder_outputs[0] if encoder_outputs is not None else None}
        if "attention_mask" in kwargs:
            decoder_kwargs["encoder_attention_mask"] = kwargs["attention_mask"]
        cache = next((kwargs[name] for name in CACHE_NAMES if name in kwargs), None)
        if cache is not None:
            decoder_kwargs["past_key_values"] = cache
        elif not kwargs["use_cache"]:
            # no padding among the new tokens; without a mask or a cache transformers would look for
            # packed sequences in the positions (torch.diff, which the TorchScript exporter lacks)
            decoder_kwargs["attention_mask"] = torch.ones_like(kwargs["decoder_input_ids"])
        if decoder_kwargs["encoder_hidden_states"] is None:
            # the cross-attention cache holds all the decoder reads of the encoder, but the decoder
            # attends to it only when given encoder states: a stand-in of their shape
            key = decoder_kwargs["past_key_values"].cross_attention_cache.layers[0].keys
            decoder_kwargs["encoder_hidden_states"] = key.new_zeros(
                (key.shape[0], key.shape[2], self._normalized_config.hidden_size))
        output = decoder(**with_cache_keyword(decoder_kwargs, forward_parameters(decoder)))
        result = {"last_hidden_state": output.last_hidden_state}
        if self.use_past:
            result["cache"] = returned_cache(output)
        if self.task == "automatic-speech-recognition":
            result["logits"] = model.get_output_embeddings()(output.last_hidden_state)
        return result


class AudioCodecOnnxConfig(OnnxConfig):
    """Neural audio codecs (EnCodec, DAC, Mimi, X-Codec): a waveform (batch, channels, samples)
    in; out, what the model's forward returns of its codes, latents and reconstruction
    (``CODEC_OUTPUTS``, read off its output class by a derived config). Their shapes are the
    model's (EnCodec's codes lead with chunks, not the batch): compared with PyTorch as they are.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedAudioConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyAudioInputGenerator,)
    INPUTS = {"input_values": ("batch_size", "num_channels", "audio_sequence_length")}
    CODEC_OUTPUTS: ClassVar[tuple[str, ...]] = ("audio_codes", "audio_values")
    _TASK_TO_OUTPUTS = {"feature-extraction": {}}
    # the fewest encoder frames tried (one would have torch.export fix the axis)
    MIN_CODE_FRAMES: ClassVar[int] = 2

    def hop_length(self) -> int:
        """Samples per code frame: the config's hop_length, else the product of its strides."""
        config = self._config
        hop = getattr(config, "hop_length", None)
        if isinstance(hop, int) and hop > 0:
            return hop
        for name in ("downsampling_ratios", "upsampling_ratios", "strides"):
            ratios = getattr(config, name, None)
            if ratios:
                return math.prod(ratios)
        return 1

    @property
    def output_specs(self):
        table = self.axis_table()
        return {name: self._spec(name, (None,) * self.output_rank(name), table) for name in self.CODEC_OUTPUTS}

    # Axes of each output, all the model's to decide: (batch, codebooks or channels, frames or
    # samples) unless declared otherwise (EnCodec's codes lead with their chunk).
    OUTPUT_RANKS: ClassVar[dict[str, int]] = {}

    def output_rank(self, name: str) -> int:
        return self.OUTPUT_RANKS.get(name, 3)

    def axis_table(self) -> dict[str, Axis]:
        config = self._config
        channels = next((getattr(config, name) for name in ("audio_channels", "channels", "num_channels")
                         if isinstance(getattr(config, name, None), int)), 1)
        smallest = self.MIN_CODE_FRAMES * self.hop_length()
        return {
            **super().axis_table(),
            "num_channels": Axis.static("num_channels", channels),
            "audio_sequence_length": Axis("audio_sequence_length", default=max(16000, smallest), min=smallest,
                                          max=max(48000, 2 * smallest)),
        }
