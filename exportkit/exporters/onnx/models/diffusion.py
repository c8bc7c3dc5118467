"""diffusers components, one config class per kind of component.

A diffusion pipeline is exported component by component, each for what it does:

* ``latent-encoding`` / ``latent-decoding``: an autoencoder's encoder (image in, latent out) or
  decoder (latent in, image out);
* ``noise-prediction``: the denoiser (a UNet or a transformer) predicting the noise, or the
  velocity, of a latent at a timestep under text conditions;
* ``control-residuals``: a ControlNet's residuals added to its denoiser's blocks;
* ``text-encoding``: a text encoder's hidden states (a transformers model inside the pipeline).

What differs between two components of one kind is data: which inputs the model takes, the
config fields that fix their channel widths, and the step latent sizes move in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from ....axes import Axis, TensorSpec
from ....errors import UnsupportedModelTypeError
from ....input_generators import DummyDiffusionInputGenerator
from ....normalized_config import NormalizedConfig, NormalizedTextConfig
from ....tasks import normalize_model_type, register
from ...base import BATCH
from ..base import OnnxConfig
from ..config import TextEncoderOnnxConfig

IMAGE = ("batch_size", "in_channels", "height", "width")
LATENT = ("batch_size", "latent_channels", "latent_height", "latent_width")
VIDEO_LATENT = ("batch_size", "latent_channels", "latent_frames", "latent_height", "latent_width")
TOKENS = ("batch_size", "image_sequence_length", "latent_channels")  # a latent packed into patch tokens
TEXT = ("batch_size", "sequence_length", "text_hidden_size")
PER_ROW = ("batch_size",)

Size = str | int | Callable[[Any], int]


def _num_blocks_scale(field: str) -> staticmethod:
    """2 ** (blocks - 1): a UNet or VAE halves its sizes between consecutive blocks."""
    return staticmethod(lambda c: 2 ** (len(getattr(c, field)) - 1))


@staticmethod
def _patch(c) -> int:
    """The patch a transformer cuts the latent into: latent sizes step by it."""
    patch = c.patch_size
    return patch[-1] if isinstance(patch, (list, tuple)) else (patch or 1)


class DiffusersOnnxConfig(OnnxConfig):
    """The root of every diffusers component config: axes and static sizes read off the config.

    ``SIZES`` maps each static axis to its config field (or a function of the config);
    ``LATENT_STEP`` is the step latent heights and widths move in; ``OPTIONAL_INPUTS`` names
    the inputs a config may lack, with the test for whether it has them.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyDiffusionInputGenerator,)
    ATOL_FOR_VALIDATION = 1e-4
    INT_INPUTS = OnnxConfig.INT_INPUTS | {"controlnet_mode"}

    SIZES: ClassVar[dict[str, Size]] = {}
    LATENT_STEP: ClassVar[Size] = 1
    IMAGE_SCALE: ClassVar[Size] = 1  # image pixels per latent position
    MAX_LATENT_SIZE: ClassVar[int] = 64
    MAX_FRAMES: ClassVar[int] = 8
    MAX_TEXT_LENGTH: ClassVar[int] = 128
    TIMESTEP_MAX: ClassVar[float] = 1000.0  # the scheduler's timesteps: [0, 1000), or [0, 1) for flow models
    OPTIONAL_INPUTS: ClassVar[dict[str, Callable[[Any], bool]]] = {}

    def _size(self, size: Size) -> int:
        config = self._normalized_config.config
        if callable(size):
            return int(size(config))
        if isinstance(size, str):
            return int(getattr(config, size))
        return int(size)

    @property
    def latent_step(self) -> int:
        return self._size(self.LATENT_STEP)

    @property
    def image_scale(self) -> int:
        return self._size(self.IMAGE_SCALE)

    def axis_table(self) -> dict[str, Axis]:
        step, scale = self.latent_step, self.image_scale
        spatial = {
            name: Axis(name, default=max(step, 8 // step * step), min=step, max=self.MAX_LATENT_SIZE // step * step,
                       multiple_of=step)
            for name in ("latent_height", "latent_width")
        }
        return {
            **super().axis_table(),
            **spatial,
            "latent_frames": Axis("latent_frames", default=2, min=1, max=self.MAX_FRAMES),
            "sequence_length": Axis("sequence_length", default=8, min=1, max=self.MAX_TEXT_LENGTH),
            "image_sequence_length": Axis("image_sequence_length", default=16, min=1, max=self.MAX_LATENT_SIZE ** 2 // 4),
            "height": Axis("height", derive=lambda d: d["latent_height"] * scale),
            "width": Axis("width", derive=lambda d: d["latent_width"] * scale),
            **{name: Axis.static(name, self._size(size)) for name, size in self.SIZES.items()},
        }

    @property
    def input_specs(self) -> dict[str, TensorSpec]:
        config = self._normalized_config.config
        return {name: spec for name, spec in super().input_specs.items()
                if name not in self.OPTIONAL_INPUTS or self.OPTIONAL_INPUTS[name](config)}

    def _generators(self):
        generators = super()._generators()
        for generator in generators:
            generator.timestep_max = self.TIMESTEP_MAX
        return generators


# ---- autoencoders --------------------------------------------------------------------------------

class AutoencoderOnnxConfig(DiffusersOnnxConfig):
    """An autoencoder's encoder (``latent-encoding``) or decoder (``latent-decoding``), one model
    type each. ``IMAGE_SCALE`` is how many image pixels one latent position covers; the image sizes
    of an encoder's input step by it, so that every image maps onto whole latent positions."""

    ATOL_FOR_VALIDATION = 1e-3
    SIZES = {"in_channels": "in_channels", "out_channels": "out_channels", "latent_channels": "latent_channels"}
    IMAGE_SCALE = _num_blocks_scale("block_out_channels")
    ENCODE: ClassVar[str] = "latent_dist"  # the encoder output's field: a distribution, or the latent itself

    def axis_table(self):
        table = super().axis_table()
        scale = self.image_scale
        if self.task == "latent-encoding":  # the image is chosen; the latent follows
            for side in ("height", "width"):
                table[side] = Axis(side, default=8 * scale, min=scale, max=self.MAX_LATENT_SIZE * scale,
                                   multiple_of=scale)
                table[f"latent_{side}"] = Axis(f"latent_{side}", derive=lambda d, side=side: d[side] // scale)
        return table

    @property
    def input_specs(self):
        table = self.axis_table()
        name, axes = ("sample", IMAGE) if self.task == "latent-encoding" else ("latent_sample", LATENT)
        return {name: self._spec(name, axes, table)}

    def call_model(self, model, kwargs):
        if self.task == "latent-decoding":
            return model.decode(kwargs["latent_sample"])
        encoded = getattr(model.encode(kwargs["sample"]), self.ENCODE)
        if self.ENCODE == "latent_dist":  # the pipeline samples mean + std * noise, or takes the mean
            return {"latent_mean": encoded.mean, "latent_std": encoded.std}
        return {"latent": encoded}

    def flatten_outputs(self, model_output):
        if isinstance(model_output, dict):
            return {name: model_output[name] for name in self.output_specs}
        return {"sample": model_output.sample}


DECODED = {"latent-decoding": {"sample": ("batch_size", "out_channels", "height", "width")}}
ENCODED_DISTRIBUTION = {"latent-encoding": {"latent_mean": LATENT, "latent_std": LATENT}}


@register(("vae-decoder", "flux2-vae-decoder"), "latent-decoding", library="diffusers")
class VaeDecoderOnnxConfig(AutoencoderOnnxConfig):
    """The decoder of an ``AutoencoderKL``: latent sample in, image out (``model.decode``)."""

    INPUTS = {"latent_sample": LATENT}
    _TASK_TO_OUTPUTS = DECODED
    MAX_LATENT_SIZE = 128

    def axis_table(self):
        # diffusers' Upsample2D takes another code path from batch 64 on
        return {**super().axis_table(), "batch_size": BATCH.with_range(max=63)}


@register(("vae-encoder", "flux2-vae-encoder"), "latent-encoding", library="diffusers")
class VaeEncoderOnnxConfig(AutoencoderOnnxConfig):
    """The encoder of an ``AutoencoderKL``: image in, the latent distribution's mean and std out."""

    INPUTS = {"sample": IMAGE}
    _TASK_TO_OUTPUTS = ENCODED_DISTRIBUTION


@register("vae-tiny-decoder", "latent-decoding", library="diffusers")
@register("vae-tiny-encoder", "latent-encoding", library="diffusers")
class VaeTinyOnnxConfig(AutoencoderOnnxConfig):
    """``AutoencoderTiny`` (TAESD): a convolutional encoder and decoder, the latent itself in between."""

    INPUTS = {"sample": IMAGE}
    _TASK_TO_OUTPUTS = {**DECODED, "latent-encoding": {"latent": LATENT}}
    IMAGE_SCALE = _num_blocks_scale("encoder_block_out_channels")
    ENCODE = "latents"


@register("dc-ae-decoder", "latent-decoding", library="diffusers")
@register("dc-ae-encoder", "latent-encoding", library="diffusers")
class DcAeOnnxConfig(AutoencoderOnnxConfig):
    """``AutoencoderDC`` (deep compression): 32x and more per latent position, linear attention."""

    INPUTS = {"sample": IMAGE}
    _TASK_TO_OUTPUTS = {**DECODED, "latent-encoding": {"latent": LATENT}}
    SIZES = {"in_channels": "in_channels", "out_channels": "in_channels", "latent_channels": "latent_channels"}
    IMAGE_SCALE = _num_blocks_scale("encoder_block_out_channels")
    ENCODE = "latent"


# ---- denoisers -----------------------------------------------------------------------------------

class LatentDenoiserOnnxConfig(DiffusersOnnxConfig):
    """A denoiser: the noised latent, its timestep and text conditions in, the prediction out."""

    _TASK_TO_OUTPUTS = {"noise-prediction": {"sample": LATENT}}
    INPUTS = {"hidden_states": LATENT, "timestep": PER_ROW, "encoder_hidden_states": TEXT}
    LATENT_STEP = _patch
    CALL_KWARGS: ClassVar[dict[str, Any]] = {}  # fixed keywords of the call

    def model_kwargs(self, inputs):
        return {**inputs, **self.CALL_KWARGS}

    def call_model(self, model, kwargs):
        added = {name: kwargs.pop(name) for name in ("text_embeds", "time_ids") if name in kwargs}
        if added:
            kwargs["added_cond_kwargs"] = added
        return model(**kwargs, return_dict=False)

    def flatten_outputs(self, model_output):
        (name,) = self.output_specs
        return {name: model_output[0]}


def _sdxl(c) -> bool:
    return getattr(c, "addition_embed_type", None) == "text_time"


UNET_SIZES = {"latent_channels": "in_channels", "out_channels": "out_channels", "text_hidden_size": "cross_attention_dim",
              "text_embeds_size": lambda c: c.projection_class_embeddings_input_dim - 6 * c.addition_time_embed_dim if _sdxl(c) else 0,
              "time_ids_size": 6}


@register("unet-2d-condition", "noise-prediction", library="diffusers")
class UNet2DConditionOnnxConfig(LatentDenoiserOnnxConfig):
    """``UNet2DConditionModel``: Stable Diffusion 1.x/2.x, and SDXL's added conditions (the pooled
    text embeddings and the six size and crop numbers, ``time_ids``) where the config adds them."""

    INPUTS = {"sample": LATENT, "timestep": PER_ROW, "encoder_hidden_states": TEXT,
              "text_embeds": ("batch_size", "text_embeds_size"), "time_ids": ("batch_size", "time_ids_size")}
    _TASK_TO_OUTPUTS = {"noise-prediction": {"out_sample": ("batch_size", "out_channels", "latent_height", "latent_width")}}
    SIZES = UNET_SIZES
    LATENT_STEP = _num_blocks_scale("block_out_channels")
    OPTIONAL_INPUTS = {"text_embeds": _sdxl, "time_ids": _sdxl}

    def axis_table(self):
        # diffusers' Upsample2D takes another code path from batch 64 on
        return {**super().axis_table(), "batch_size": BATCH.with_range(max=63)}


@register("sd3-transformer-2d", "noise-prediction", library="diffusers")
class SD3TransformerOnnxConfig(LatentDenoiserOnnxConfig):
    """``SD3Transformer2DModel`` (MMDiT): joint attention over text and patch tokens, pooled text."""

    INPUTS = {**LatentDenoiserOnnxConfig.INPUTS, "pooled_projections": ("batch_size", "pooled_size")}
    SIZES = {"latent_channels": "in_channels", "text_hidden_size": "joint_attention_dim",
             "pooled_size": "pooled_projection_dim"}


def _rope_axes(c) -> int:
    return len(c.axes_dims_rope)


FLUX_INPUTS = {"hidden_states": TOKENS, "encoder_hidden_states": TEXT, "pooled_projections": ("batch_size", "pooled_size"),
               "timestep": PER_ROW, "img_ids": ("image_sequence_length", "rope_axes"),
               "txt_ids": ("sequence_length", "rope_axes"), "guidance": PER_ROW}


@register("flux-transformer-2d", "noise-prediction", library="diffusers")
class FluxTransformerOnnxConfig(LatentDenoiserOnnxConfig):
    """``FluxTransformer2DModel``: a latent packed into 2x2 patch tokens, each with its rotary
    position ids (``img_ids``), beside the text tokens' (``txt_ids``); guidance distilled models
    (FLUX.1-dev) take the guidance scale as an input. Timesteps are flow times in [0, 1)."""

    INPUTS = FLUX_INPUTS
    _TASK_TO_OUTPUTS = {"noise-prediction": {"sample": ("batch_size", "image_sequence_length", "out_channels")}}
    SIZES = {"latent_channels": "in_channels", "out_channels": lambda c: getattr(c, "out_channels", None) or c.in_channels,
             "text_hidden_size": "joint_attention_dim", "pooled_size": "pooled_projection_dim", "rope_axes": _rope_axes}
    OPTIONAL_INPUTS = {"guidance": lambda c: c.guidance_embeds}
    TIMESTEP_MAX = 1.0


@register("flux2-transformer-2d", "noise-prediction", library="diffusers")
class Flux2TransformerOnnxConfig(FluxTransformerOnnxConfig):
    """``Flux2Transformer2DModel``: Flux's layout with four rotary axes and no pooled text."""

    INPUTS = {name: axes for name, axes in FLUX_INPUTS.items() if name != "pooled_projections"}
    SIZES = {name: size for name, size in FluxTransformerOnnxConfig.SIZES.items() if name != "pooled_size"}


@register("sana-transformer-2d", "noise-prediction", library="diffusers")
class SanaTransformerOnnxConfig(LatentDenoiserOnnxConfig):
    """``SanaTransformer2DModel``: linear attention over the latent, cross-attention to a Gemma's
    hidden states under their mask."""

    INPUTS = {**LatentDenoiserOnnxConfig.INPUTS, "encoder_attention_mask": ("batch_size", "sequence_length")}
    INT_INPUTS = DiffusersOnnxConfig.INT_INPUTS | {"encoder_attention_mask"}
    SIZES = {"latent_channels": "in_channels", "text_hidden_size": "caption_channels"}


@register("pixart-transformer-2d", "noise-prediction", library="diffusers")
class PixArtTransformerOnnxConfig(LatentDenoiserOnnxConfig):
    """``PixArtTransformer2DModel`` (PixArt-alpha/sigma): a DiT with adaLN-single and cross-attention
    to T5 hidden states; it predicts the noise and its variance (``out_channels`` = 2 x latent)."""

    _TASK_TO_OUTPUTS = {"noise-prediction": {"sample": ("batch_size", "out_channels", "latent_height", "latent_width")}}
    SIZES = {"latent_channels": "in_channels", "out_channels": "out_channels", "text_hidden_size": "caption_channels"}
    CALL_KWARGS = {"added_cond_kwargs": {"resolution": None, "aspect_ratio": None}}


@register("wan-transformer-3d", "noise-prediction", library="diffusers")
class WanTransformerOnnxConfig(LatentDenoiserOnnxConfig):
    """``WanTransformer3DModel``: a video latent (batch, channels, frames, height, width) in
    1x2x2 patches, cross-attention to UMT5 hidden states; flow-matching timesteps."""

    INPUTS = {"hidden_states": VIDEO_LATENT, "timestep": PER_ROW, "encoder_hidden_states": TEXT}
    _TASK_TO_OUTPUTS = {"noise-prediction": {"sample": ("batch_size", "out_channels", "latent_frames", "latent_height",
                                                         "latent_width")}}
    SIZES = {"latent_channels": "in_channels", "out_channels": "out_channels", "text_hidden_size": "text_dim"}


@register("hunyuan-video-transformer-3d", "noise-prediction", library="diffusers")
class HunyuanVideoTransformerOnnxConfig(WanTransformerOnnxConfig):
    """``HunyuanVideoTransformer3DModel``: a video latent, the text's hidden states under their mask,
    a pooled CLIP embedding and the distilled guidance scale."""

    INPUTS = {**WanTransformerOnnxConfig.INPUTS, "encoder_attention_mask": ("batch_size", "sequence_length"),
              "pooled_projections": ("batch_size", "pooled_size"), "guidance": PER_ROW}
    INT_INPUTS = DiffusersOnnxConfig.INT_INPUTS | {"encoder_attention_mask"}
    SIZES = {"latent_channels": "in_channels", "out_channels": "out_channels", "text_hidden_size": "text_embed_dim",
             "pooled_size": "pooled_projection_dim"}
    OPTIONAL_INPUTS = {"guidance": lambda c: c.guidance_embeds}


@register("ltx-video-transformer-3d", "noise-prediction", library="diffusers")
class LTXVideoTransformerOnnxConfig(LatentDenoiserOnnxConfig):
    """``LTXVideoTransformer3DModel``: a video latent packed into tokens, whose rotary positions
    come as ``video_coords`` (batch, 3, tokens): frame, row and column of each token."""

    INPUTS = {"hidden_states": TOKENS, "encoder_hidden_states": TEXT,
              "encoder_attention_mask": ("batch_size", "sequence_length"), "timestep": PER_ROW,
              "video_coords": ("batch_size", "coordinates", "image_sequence_length")}
    INT_INPUTS = DiffusersOnnxConfig.INT_INPUTS | {"encoder_attention_mask"}
    _TASK_TO_OUTPUTS = {"noise-prediction": {"sample": ("batch_size", "image_sequence_length", "out_channels")}}
    SIZES = {"latent_channels": "in_channels", "out_channels": "out_channels", "text_hidden_size": "caption_channels",
             "coordinates": 3}
    # the model reads frames, height and width only to make video_coords when none are given
    CALL_KWARGS = {"num_frames": 1, "height": 1, "width": 1}


@register("qwen-image-transformer-2d", "noise-prediction", library="diffusers")
class QwenImageTransformerOnnxConfig(LatentDenoiserOnnxConfig):
    """``QwenImageTransformer2DModel``: packed 2x2 patch tokens and Qwen2.5-VL hidden states under
    their mask; the rotary positions come from the image's latent grid (``img_shapes``)."""

    INPUTS = {"hidden_states": TOKENS, "encoder_hidden_states": TEXT,
              "encoder_hidden_states_mask": ("batch_size", "sequence_length"), "timestep": PER_ROW}
    _TASK_TO_OUTPUTS = {"noise-prediction": {"sample": ("batch_size", "image_sequence_length", "out_channels")}}
    SIZES = {"latent_channels": "in_channels", "out_channels": lambda c: c.out_channels * 4,
             "text_hidden_size": "joint_attention_dim"}
    TIMESTEP_MAX = 1.0

    def model_kwargs(self, inputs):
        # img_shapes: (frames, latent rows, latent columns) in patches, per row; a square grid here
        kwargs = super().model_kwargs(inputs)
        tokens = kwargs["hidden_states"].shape[1]
        side = int(tokens ** 0.5)
        kwargs["img_shapes"] = [[(1, side, tokens // side)]] * kwargs["hidden_states"].shape[0]
        return kwargs


# ---- control networks ----------------------------------------------------------------------------

class ControlNetOnnxConfig(DiffusersOnnxConfig):
    """A ControlNet: its denoiser's inputs and a control image in, one residual per block of the
    denoiser out (``control-residuals``); how many, and their sizes, are read off the config."""

    _TASK_TO_OUTPUTS = {"control-residuals": {}}
    CALL_KWARGS: ClassVar[dict[str, Any]] = {"conditioning_scale": 1.0}

    def residuals(self) -> dict[str, tuple]:
        raise NotImplementedError

    @property
    def output_specs(self):
        table = self.axis_table()
        return {name: self._spec(name, axes, table) for name, axes in self.residuals().items()}

    def call_model(self, model, kwargs):
        return model(**kwargs, **self.CALL_KWARGS, return_dict=False)

    def flatten_outputs(self, model_output):
        flat = {}
        for group, samples in zip(self.RESIDUAL_GROUPS, model_output):
            for index, sample in enumerate(samples if isinstance(samples, (list, tuple)) else [samples]):
                flat[f"{group}.{index}" if isinstance(samples, (list, tuple)) else group] = sample
        return {name: flat[name] for name in self.output_specs}


@register("controlnet", "control-residuals", library="diffusers")
class SDControlNetOnnxConfig(ControlNetOnnxConfig):
    """``ControlNetModel`` (Stable Diffusion): the UNet's inputs and a control image at the image's
    size; a residual after every down-block layer and downsampler, and one for the mid block."""

    INPUTS = {"sample": LATENT, "timestep": PER_ROW, "encoder_hidden_states": TEXT,
              "controlnet_cond": ("batch_size", "conditioning_channels", "height", "width")}
    SIZES = {**{name: size for name, size in UNET_SIZES.items() if name != "out_channels"},
             "conditioning_channels": "conditioning_channels"}
    LATENT_STEP = _num_blocks_scale("block_out_channels")
    IMAGE_SCALE = _num_blocks_scale("conditioning_embedding_out_channels")
    RESIDUAL_GROUPS = ("down_block_res_samples", "mid_block_res_sample")

    def residuals(self):
        config = self._normalized_config.config
        widths, blocks = config.block_out_channels, len(config.block_out_channels)
        layers = config.layers_per_block
        out = {"down_block_res_samples.0": (widths[0], 0)}
        for block, width in enumerate(widths):
            for _ in range(layers):
                out[f"down_block_res_samples.{len(out)}"] = (width, block)
            if block < blocks - 1:
                out[f"down_block_res_samples.{len(out)}"] = (width, block + 1)
        out["mid_block_res_sample"] = (widths[-1], blocks - 1)
        return {name: ("batch_size", f"channels_{width}", f"latent_height_{level}", f"latent_width_{level}")
                for name, (width, level) in out.items()}

    def axis_table(self):
        table = super().axis_table()
        config = self._normalized_config.config
        for width in config.block_out_channels:
            table[f"channels_{width}"] = Axis.static(f"channels_{width}", width)
        for level in range(len(config.block_out_channels)):
            for side in ("height", "width"):
                name = f"latent_{side}_{level}"
                table[name] = (table[f"latent_{side}"] if level == 0 else
                               Axis(name, derive=lambda d, side=side, level=level: d[f"latent_{side}"] >> level))
        return table


@register("flux-controlnet", "control-residuals", library="diffusers")
class FluxControlNetOnnxConfig(ControlNetOnnxConfig):
    """``FluxControlNetModel``: Flux's inputs and the packed control latent; a residual for every
    double-stream and single-stream block it copies, over the image tokens."""

    INPUTS = {**{name: axes for name, axes in FLUX_INPUTS.items() if name == "hidden_states"},
              "controlnet_cond": TOKENS, "controlnet_mode": PER_ROW,
              **{name: axes for name, axes in FLUX_INPUTS.items() if name != "hidden_states"}}
    SIZES = {**FluxTransformerOnnxConfig.SIZES, "inner_size": lambda c: c.num_attention_heads * c.attention_head_dim}
    OPTIONAL_INPUTS = {"guidance": lambda c: c.guidance_embeds, "controlnet_mode": lambda c: c.num_mode is not None}
    TIMESTEP_MAX = 1.0
    RESIDUAL_GROUPS = ("controlnet_block_samples", "controlnet_single_block_samples")

    def residuals(self):
        config = self._normalized_config.config
        axes = ("batch_size", "image_sequence_length", "inner_size")
        return {**{f"controlnet_block_samples.{i}": axes for i in range(config.num_layers)},
                **{f"controlnet_single_block_samples.{i}": axes for i in range(config.num_single_layers)}}


# ---- text encoders -------------------------------------------------------------------------------

class TextEncodingOnnxConfig(OnnxConfig):
    """A pipeline's text encoder, a transformers model: built, it is the transformers
    feature-extraction config of the encoder's model type with the outputs the pipeline reads
    (as the sentence-transformers pipelines are)."""

    _TASK_TO_OUTPUTS = {"text-encoding": {"last_hidden_state": ("batch_size", "sequence_length", None)}}
    ATOL_FOR_VALIDATION = 1e-4

    def __new__(cls, config: Any = None, task: str = "text-encoding", **kwargs: Any):
        if getattr(cls, "ENCODER", None) is not None:
            return super().__new__(cls)
        model_type = getattr(config, "model_type", None)
        if not model_type:
            raise UnsupportedModelTypeError(f"{type(config).__name__} names no model_type: cannot tell the text encoder")
        return _encoding_over(cls, _encoder_config_class(normalize_model_type(model_type)))(config, task=task, **kwargs)

    def flatten_outputs(self, model_output):
        return {name: model_output[name] for name in self.output_specs}


class EncoderOnlyOnnxConfig(TextEncoderOnnxConfig):
    """The encoder half of an encoder-decoder (``T5EncoderModel``): token ids and their mask in."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig.with_args(hidden_size="d_model", num_layers="num_layers")
    INPUTS = {"input_ids": ("batch_size", "sequence_length"), "attention_mask": ("batch_size", "sequence_length")}

    def axis_table(self):
        # relative positions: no table bounds the length; pipelines pass up to 512 tokens
        return {**super().axis_table(), "sequence_length": Axis("sequence_length", default=16, min=1, max=512)}


# Model types whose transformers feature-extraction config is an encoder-decoder's: the pipeline
# holds their encoder alone.
ENCODER_ONLY = frozenset({"t5", "umt5", "mt5"})


def _encoder_config_class(model_type: str) -> type:
    from .sentence_embedding import encoder_config_class

    return EncoderOnlyOnnxConfig if model_type in ENCODER_ONLY else encoder_config_class(model_type)


@functools.cache
def _encoding_over(cls: type, encoder: type) -> type:
    return type(f"{cls.__name__}Over{encoder.__name__}", (cls, encoder),
                {"__module__": __name__, "ENCODER": encoder, "__doc__": f"{cls.__name__} over {encoder.__name__}."})


HIDDEN = ("batch_size", "sequence_length", None)


@register("clip-text-model", "text-encoding", library="diffusers")
class CLIPTextEncodingOnnxConfig(TextEncodingOnnxConfig):
    """``CLIPTextModel`` (Stable Diffusion 1.x/2.x, Flux's pooled text): hidden states and the
    pooled end-of-text state.

    CLIP's text model is causal and pools at the end-of-text token: the pipelines pad its prompts
    on the right (to 77 tokens); a left-padded row would start at a position that attends to nothing."""

    _TASK_TO_OUTPUTS = {"text-encoding": {"last_hidden_state": HIDDEN, "pooler_output": ("batch_size", None)}}
    PADDING_SIDES = ("right",)


@register("clip-text-model-with-projection", "text-encoding", library="diffusers")
class CLIPTextWithProjectionEncodingOnnxConfig(CLIPTextEncodingOnnxConfig):
    """``CLIPTextModelWithProjection`` (SDXL's and SD3's second encoders): the projected pooled
    embedding and the hidden states."""

    _TASK_TO_OUTPUTS = {"text-encoding": {"text_embeds": ("batch_size", None), "last_hidden_state": HIDDEN}}


@register(("t5-encoder-model", "umt5-encoder-model", "gemma2-model", "gemma3-text-model"), "text-encoding",
          library="diffusers")
class HiddenStatesTextEncodingOnnxConfig(TextEncodingOnnxConfig):
    """T5 and UMT5 encoders (SD3, Flux, PixArt, Wan), Gemma 2 and Gemma 3 (Sana, Lumina): the
    last hidden states."""
