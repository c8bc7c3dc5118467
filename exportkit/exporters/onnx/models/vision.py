"""Vision models: transformers ViT and ResNet, and timm convnets."""

from ....axes import opaque
from ....normalized_config import NormalizedVisionConfig
from ....tasks import register
from ..config import VisionOnnxConfig


@register(("vit", "deit"), "feature-extraction", "image-classification")
class ViTOnnxConfig(VisionOnnxConfig):
    # Position embeddings are learned for one image size: height and width are static.
    DYNAMIC_IMAGE_SIZE = False
    ATOL_FOR_VALIDATION = 1e-4


@register("resnet", "feature-extraction", "image-classification")
class ResNetOnnxConfig(VisionOnnxConfig):
    DYNAMIC_IMAGE_SIZE = True
    ATOL_FOR_VALIDATION = 1e-3
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {"last_hidden_state": ("batch_size", None, "feature_height", "feature_width")},
        "image-classification": {"logits": ("batch_size", None)},
    }

    def total_stride(self) -> int:
        # stem: a stride-2 convolution and a stride-2 max pool; then every stage halves the
        # size but the first, which halves it only with downsample_in_first_stage
        config = self._config
        stages = len(config.hidden_sizes)
        return 4 * 2 ** (stages - 1) * (2 if config.downsample_in_first_stage else 1)

    def axis_table(self):
        return {**super().axis_table(), "feature_height": opaque("feature_height"), "feature_width": opaque("feature_width")}


class TimmNormalizedConfig(NormalizedVisionConfig):
    """timm's pretrained_cfg carries ``input_size = (channels, height, width)``; its feature info the total stride."""

    ATTRIBUTES = {"num_channels": "num_channels", "image_size": "image_size", "total_stride": "total_stride"}


@register(("convnext", "efficientnet", "mobilenetv3"), "image-classification", library="timm")
class TimmConvNetOnnxConfig(VisionOnnxConfig):
    NORMALIZED_CONFIG_CLASS = TimmNormalizedConfig
    DYNAMIC_IMAGE_SIZE = True
    ATOL_FOR_VALIDATION = 1e-3

    def model_kwargs(self, inputs):
        return {"x": inputs["pixel_values"]}

    def call_model(self, model, kwargs):
        return model(kwargs["x"])


@register("resnet", "image-classification", library="timm")
class TimmResNetOnnxConfig(TimmConvNetOnnxConfig):
    # The average-pool downsampling of resnet*d / resnet*t (ceil mode) makes torch.export
    # guard on sizes it can only prove for multiples of the total stride.
    IMAGE_SIZE_STEP_IS_STRIDE = True
