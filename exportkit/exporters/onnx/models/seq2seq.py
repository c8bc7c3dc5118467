"""Encoder-decoder text models."""

from ....normalized_config import T5LikeNormalizedTextConfig
from ....tasks import register
from ..config import TextSeq2SeqOnnxConfig

DECLARED = {
    # T5's derived heads are as precise as its declared family
    "t5": {"ATOL_FOR_VALIDATION": 1e-4},
    "mt5": {"ATOL_FOR_VALIDATION": 1e-4},  # T5 v1.1's architecture, T5's tolerance
    "umt5": {"ATOL_FOR_VALIDATION": 1e-4},  # mT5 with per-layer relative positions
}


@register("t5", "text2text-generation", "text2text-generation-with-past")
class T5OnnxConfig(TextSeq2SeqOnnxConfig):
    NORMALIZED_CONFIG_CLASS = T5LikeNormalizedTextConfig
    ATOL_FOR_VALIDATION = 1e-4
