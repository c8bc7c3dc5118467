"""BERT and its close family: encoder-only text models."""

from ....normalized_config import NormalizedTextConfig
from ....tasks import register
from ...base import without
from ..config import TEXT_ENCODER_OUTPUTS, TextEncoderOnnxConfig

ENCODER_TASKS = tuple(TEXT_ENCODER_OUTPUTS)


@register(("bert", "electra"), *ENCODER_TASKS)
class BertOnnxConfig(TextEncoderOnnxConfig):
    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    ATOL_FOR_VALIDATION = 1e-4


@register(("roberta", "xlm-roberta", "camembert"), *ENCODER_TASKS)
class RobertaOnnxConfig(BertOnnxConfig):
    def reserved_positions(self) -> int:
        # position ids start after the padding id
        return (getattr(self._config, "pad_token_id", None) or 0) + 1


@register("albert", *ENCODER_TASKS)
class AlbertOnnxConfig(BertOnnxConfig):
    pass


@register("distilbert", *ENCODER_TASKS)
class DistilBertOnnxConfig(BertOnnxConfig):
    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig.with_args(
        hidden_size="dim", num_layers="n_layers", num_attention_heads="n_heads")
    INPUTS = without(BertOnnxConfig.INPUTS, "token_type_ids")
