"""Encoder-decoder text models."""

from ....normalized_config import T5LikeNormalizedTextConfig
from ....tasks import register
from ..config import TextSeq2SeqOnnxConfig

DECLARED = {
    # T5's derived heads are as precise as its declared family
    "t5": {"ATOL_FOR_VALIDATION": 1e-4},
}


@register("t5", "text2text-generation", "text2text-generation-with-past")
class T5OnnxConfig(TextSeq2SeqOnnxConfig):
    NORMALIZED_CONFIG_CLASS = T5LikeNormalizedTextConfig
    ATOL_FOR_VALIDATION = 1e-4
