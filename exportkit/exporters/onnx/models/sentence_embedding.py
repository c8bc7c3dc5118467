"""sentence-transformers pipelines: a transformer plus pooling (and normalization), exported whole."""

from ....normalized_config import NormalizedTextConfig
from ....tasks import register
from ..config import TextEncoderOnnxConfig
from .encoders import RobertaOnnxConfig


@register("bert", "feature-extraction", "sentence-similarity", library="sentence_transformers")
class SentenceTransformersOnnxConfig(TextEncoderOnnxConfig):
    """The exported graph returns the pooled ``sentence_embedding`` (and the token embeddings)."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    ATOL_FOR_VALIDATION = 1e-4
    INPUTS = {
        "input_ids": ("batch_size", "sequence_length"),
        "attention_mask": ("batch_size", "sequence_length"),
    }
    _TASK_TO_OUTPUTS = {
        "feature-extraction": {
            "token_embeddings": ("batch_size", "sequence_length", None),
            "sentence_embedding": ("batch_size", None),
        },
        "sentence-similarity": {"sentence_embedding": ("batch_size", None)},
    }

    def model_kwargs(self, inputs):
        return {"input": dict(inputs)}


@register(("roberta", "xlm-roberta", "mpnet"), "feature-extraction", "sentence-similarity",
          library="sentence_transformers")
class SentenceTransformersRobertaOnnxConfig(SentenceTransformersOnnxConfig):
    reserved_positions = RobertaOnnxConfig.reserved_positions
