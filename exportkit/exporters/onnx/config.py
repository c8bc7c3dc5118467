"""Modality-aware middle-end ONNX configs: which inputs a kind of model takes and which
outputs each task gives, with the axes of both. Model-specific configs derive from these."""

from __future__ import annotations

import dataclasses
from typing import Any


from ...axes import Axis, TensorSpec, derived, opaque
from ...errors import ExportKitError
from ...input_generators import (
    DummyAudioInputGenerator,
    DummyDecoderTextInputGenerator,
    DummyPastKeyValuesGenerator,
    DummyTextInputGenerator,
    DummyVisionInputGenerator,
)
from ...normalized_config import NormalizedAudioConfig, NormalizedTextAndVisionConfig, NormalizedVisionConfig
from .base import ConfigBehavior, OnnxConfig, OnnxConfigWithPast, OnnxSeq2SeqConfigWithPast, returned_cache
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
        return {
            **super().axis_table(),
            "sequence_length": sequence_axis(self._normalized_config, reserved_positions=self.reserved_positions()),
            "num_choices": Axis("num_choices", default=4, min=1, max=8),
        }

    @property
    def input_specs(self):
        specs = super().input_specs
        if self.task != "multiple-choice":
            return specs
        table = self.axis_table()
        return {name: self._spec(name, ("batch_size", "num_choices", "sequence_length"), table) for name in specs}


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
            "encoder_outputs": (inputs["encoder_outputs"],),
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


def image_axes(normalized_config: Any, *, dynamic: bool, default: int = 64, min_size: int = 64,
               multiple_of: int = 1, max_size: int = 512) -> dict[str, Axis]:
    """Height and width: dynamic for a model that takes any size, else fixed at the config's image size."""
    if not dynamic:
        size = normalized_config.image_size
        size = size if isinstance(size, int) else size[0]
        return {"height": Axis.static("height", size), "width": Axis.static("width", size)}
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

    def total_stride(self) -> int:
        """Pixels per position of the last feature map, from the model config (``total_stride``)."""
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
            "num_channels": Axis.static("num_channels", nc.num_channels),
            **image_axes(nc, dynamic=False),
        }


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
