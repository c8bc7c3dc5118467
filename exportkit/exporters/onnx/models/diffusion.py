"""diffusers components."""

from ....axes import Axis
from ....input_generators import DummyLatentInputGenerator
from ....normalized_config import NormalizedConfig
from ....tasks import register
from ...base import BATCH
from ..base import OnnxConfig


@register("vae-decoder", "latent-decoding", library="diffusers")
class VaeDecoderOnnxConfig(OnnxConfig):
    """The decoder of an ``AutoencoderKL``: latent sample in, image out (``model.decode``)."""

    NORMALIZED_CONFIG_CLASS = NormalizedConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyLatentInputGenerator,)
    ATOL_FOR_VALIDATION = 1e-3
    INPUTS = {"latent_sample": ("batch_size", "latent_channels", "latent_height", "latent_width")}
    _TASK_TO_OUTPUTS = {"latent-decoding": {"sample": ("batch_size", "out_channels", "height", "width")}}

    @property
    def upscale(self) -> int:
        return 2 ** (len(self._normalized_config.block_out_channels) - 1)

    def axis_table(self):
        nc, upscale = self._normalized_config, self.upscale
        return {
            **super().axis_table(),
            # diffusers' Upsample2D takes another code path from batch 64 on
            "batch_size": BATCH.with_range(max=63),
            "latent_channels": Axis.static("latent_channels", nc.latent_channels),
            "out_channels": Axis.static("out_channels", nc.out_channels),
            "latent_height": Axis("latent_height", default=8, min=1, max=128, kwarg="latent_height"),
            "latent_width": Axis("latent_width", default=8, min=1, max=128, kwarg="latent_width"),
            "height": Axis("height", derive=lambda d: d["latent_height"] * upscale),
            "width": Axis("width", derive=lambda d: d["latent_width"] * upscale),
        }

    def call_model(self, model, kwargs):
        return model.decode(kwargs["latent_sample"])
