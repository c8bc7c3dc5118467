"""BERT and its close family: encoder-only text models."""

from ....normalized_config import NormalizedTextConfig
from ....tasks import register
from ...base import without
from ..config import TEXT_ENCODER_OUTPUTS, TextEncoderOnnxConfig

ENCODER_TASKS = tuple(TEXT_ENCODER_OUTPUTS)

# model type -> what the derivation cannot know (collected by auto.declared_facts)
DECLARED = {
    # X-MOD routes each row through its language's adapters: without lang_ids it needs a default
    # language its checkpoints do not set, so the language is a graph input
    "xmod": {"extra_inputs": {"lang_ids": ("batch_size",)}},
    # document models place each token on its page: without bbox they would embed every token at
    # the page's corner, and the export could not take a layout at all
    **{model_type: {"extra_inputs": {"bbox": ("batch_size", "sequence_length", "box_coordinates")}}
       for model_type in ("layoutlm", "lilt", "layoutlmv3", "bros")},
    # FNet mixes tokens by a 2-D Fourier transform: ONNX's DFT and torch's FFT round apart by more
    # than the default 1e-5 (1.1e-5 at 27 tokens, 1.2e-4 at 224: the error grows with the length);
    # BERT's tolerance, not more
    "fnet": {"ATOL_FOR_VALIDATION": 1e-4},
}


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
