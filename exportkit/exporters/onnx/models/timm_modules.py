"""timm models, one registry model type per timm module (``resnet``, ``vision-transformer``, ...).

Every module gets the same config: what differs between timm models (the image size, whether
other sizes are taken, the total stride, the feature map's rank) is read off the model itself
(:func:`exportkit.timm_models.model_facts`). What cannot be read is declared per module below.
"""

from __future__ import annotations

from ....axes import Axis, TensorSpec
from ....normalized_config import NormalizedVisionConfig
from ....tasks import register
from ....timm_models import module_names
from ..config import VisionOnnxConfig, image_axes

# module -> why its image sizes step by the total stride: pooling that rounds, attention over
# fixed blocks, or maps of several stages that must agree in size. (A patch embedding that does
# not pad takes multiples of its patch; that is read off the model.)
_ROUNDING = ("its strided convolutions and poolings round sizes in ways torch.export proves consistent "
             "on multiples of the total stride only")
SIZES_STEP_BY_STRIDE = {
    "resnet": "the average-pool downsampling of resnet*d / resnet*t rounds up (ceil mode)",
    **dict.fromkeys(("byobnet", "edgenext", "focalnet", "inception-resnet-v2", "inception-v3", "inception-v4",
                     "lowformer", "mobilenetv5", "nasnet", "nextvit", "nfnet", "pnasnet", "resnest", "senet", "vgg",
                     "vovnet"), _ROUNDING),
    "cpubone": "its stages add maps of branches that round apart",
    "csatv2": "its frequency stem splits the image into 8-pixel blocks",
    "dla": "its tree aggregation adds maps of stages that round apart",
    "hrnet": "its branches add maps upsampled from lower resolutions",
    "hieradet-sam2": "its windows and mask units tile the map",
    "tresnet": "its space-to-depth stem folds 4x4 pixel blocks",
    "naflexvit": "its patches are cut from the image without padding",
}

# module -> pixels its image sizes step by, where that is more than the total stride
SIZE_STEPS = {
    # halo attention splits the maps of its last three stages (strides 8, 16, 32) into 8x8 blocks
    "byoanet": 256,
    # MobileViT unfolds 2x2 patches of its maps down to the last (stride 32)
    "mobilevit": 64,
}

# module -> pixels per position of its last feature map, where its feature_info says otherwise
TOTAL_STRIDES = {
    # Gemma 4's encoder pools 3x3 blocks of its 16-pixel patches
    "gemma4-vit": 48,
}

# module -> positions of the last feature map the smallest image keeps, where two are too few
# (Inception's unpadded reduction blocks need 75 pixels at least)
MIN_FEATURE_SIZES = {"inception-v3": 3, "inception-v4": 3, "inception-resnet-v2": 3}


class TimmNormalizedConfig(NormalizedVisionConfig):
    ATTRIBUTES = {"num_channels": "num_channels", "image_size": "image_size", "total_stride": "total_stride"}


@register(module_names(), "feature-extraction", "image-classification", library="timm")
class TimmOnnxConfig(VisionOnnxConfig):
    """A timm model: ``pixel_values`` in; its logits (``model(x)``), or for feature extraction its
    pooled features (``forward_head(..., pre_logits=True)``, what a model built with
    ``num_classes=0`` returns) where it has a head, and, where ``forward_features`` returns one
    tensor, that map or token sequence as ``last_hidden_state``."""

    NORMALIZED_CONFIG_CLASS = TimmNormalizedConfig
    ATOL_FOR_VALIDATION = 1e-3
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"pooler_output": ("batch_size", None)},
        "image-classification": {"logits": ("batch_size", None)},
    }

    @property
    def DYNAMIC_IMAGE_SIZE(self) -> bool:  # noqa: N802 (the class attribute's name)
        return bool(self._config.dynamic_image_size)

    @property
    def MIN_FEATURE_SIZE(self) -> int:  # noqa: N802
        return MIN_FEATURE_SIZES.get(self._config.model_type, 2)

    def total_stride(self) -> int:
        return TOTAL_STRIDES.get(self._config.model_type) or super().total_stride()

    def image_size_step(self) -> int:
        """Pixels the image sizes step by: declared for the module, else the patch of an embedding
        that cuts whole patches only, else 1."""
        model_type = self._config.model_type
        if model_type in SIZE_STEPS:
            return SIZE_STEPS[model_type]
        if model_type in SIZES_STEP_BY_STRIDE or model_type in TOTAL_STRIDES:
            return self.total_stride()
        return self._config.patch_step

    def axis_table(self) -> dict[str, Axis]:
        table = super().axis_table()
        if self.DYNAMIC_IMAGE_SIZE:
            table.update(image_axes(self._normalized_config, dynamic=True,
                                    min_size=self.MIN_FEATURE_SIZE * self.total_stride(),
                                    multiple_of=self.image_size_step()))
        return table

    @property
    def output_specs(self) -> dict[str, TensorSpec]:
        if self.task != "feature-extraction":
            return super().output_specs
        table, rank = self.axis_table(), self._config.feature_rank
        specs = {}
        if rank:
            specs["last_hidden_state"] = self._spec("last_hidden_state", ("batch_size",) + (None,) * (rank - 1), table)
        if self._config.pools:
            specs["pooler_output"] = self._spec("pooler_output", ("batch_size", None), table)
        return specs

    def model_kwargs(self, inputs):
        return {"x": inputs["pixel_values"]}

    def call_model(self, model, kwargs):
        if self.task != "feature-extraction":
            return model(kwargs["x"])
        features = model.forward_features(kwargs["x"])
        outputs = {"last_hidden_state": features}
        if self._config.pools:
            outputs["pooler_output"] = model.forward_head(features, pre_logits=True)
        return outputs
