"""Text-and-vision models."""

from ....tasks import register
from ..config import TextAndVisionOnnxConfig


@register("clip", "feature-extraction", "zero-shot-image-classification")
class CLIPOnnxConfig(TextAndVisionOnnxConfig):
    ATOL_FOR_VALIDATION = 1e-4
    _OUTPUTS = {
        "logits_per_image": ("image_batch_size", "text_batch_size"),
        "logits_per_text": ("text_batch_size", "image_batch_size"),
        "text_embeds": ("text_batch_size", None),
        "image_embeds": ("image_batch_size", None),
    }
    _TASK_TO_OUTPUTS = {"feature-extraction": _OUTPUTS, "zero-shot-image-classification": _OUTPUTS}


# Vision-language models whose export needs more than the derivation sees (see models/auto.py).
DECLARED = {
    # their vision towers take each prompt's images together, as one row of pixel_values
    **{model_type: {"IMAGES_GROUPED_BY_PROMPT": True}
       for model_type in ("idefics2", "idefics3", "smolvlm", "modernvbert", "ultravbert")},
    # their patch-grid towers return the merged tokens with a leading axis of one
    **{model_type: {"_TASK_TO_OUTPUTS": {"feature-extraction": {"last_hidden_state": (None, None, None)}}}
       for model_type in ("hunyuan-vl-vision", "hy-v4-vl-vision")},
    # their vision towers embed each patch with a 2-D convolution, as a small image
    **{model_type: {"PATCHES_AS_IMAGES": True} for model_type in ("paddleocr-vl", "kimi-k25")},
}
