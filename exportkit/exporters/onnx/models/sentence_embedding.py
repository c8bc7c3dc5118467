"""sentence-transformers pipelines, exported whole: a SentenceTransformer (an encoder, its pooling,
Dense and Normalize), a SparseEncoder (SPLADE: a masked-LM and its pooling over the vocabulary)
and a CrossEncoder (a sequence classifier scoring text pairs).

The model inside a pipeline is a transformers model, whose export facts (inputs, axes, dummy
inputs, reserved positions, padding sides) the transformers registry already holds for its
model type. A pipeline's config is that feature-extraction config with only what the pipeline
changes: the model takes its inputs as one features dict and returns the pipeline's outputs.
The modules after the transformer work on those and need no declaration of their own.
"""

from __future__ import annotations

import functools
from typing import Any

from ....errors import UnsupportedModelTypeError
from ....tasks import TasksManager, normalize_model_type, register
from ..base import OnnxConfig
from .auto import AutoOnnxConfig

PIPELINE_OUTPUTS = {
    "feature-extraction": {
        "token_embeddings": ("batch_size", "sequence_length", None),
        "sentence_embedding": ("batch_size", None),
    },
    "sentence-similarity": {"sentence_embedding": ("batch_size", None)},
    "sparse-embedding": {"sentence_embedding": ("batch_size", None)},  # one weight per vocabulary entry
    # one score per row (a reranker) or per label, after the activation predict() applies
    "text-ranking": {"scores": ("batch_size", None)},
}

# Model types of the encoders that sentence-transformers checkpoints are built on: the BERT
# family, the retrieval encoders that transformers now hosts (nomic-bert, gte, eurobert), and
# the decoders that last-token-pooled embedding models use (Qwen3-Embedding, EmbeddingGemma,
# e5-mistral). Any model type with a transformers feature-extraction config works the same.
ENCODER_MODEL_TYPES = (
    "bert", "roberta", "xlm-roberta", "mpnet", "distilbert", "deberta-v2", "modernbert", "electra", "albert",
    "camembert", "nomic-bert", "gte", "eurobert", "qwen2", "qwen3", "gemma3-text", "mistral", "llama",
)
# The masked-LMs that SPLADE models are trained from.
SPARSE_MODEL_TYPES = ("bert", "distilbert", "roberta", "xlm-roberta", "camembert", "modernbert", "deberta-v2",
                      "mpnet", "albert", "electra")
# Cross-encoders' sequence classifiers: the BERT family's rerankers, and decoders' (Qwen2/3).
RANKING_MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "deberta-v2", "modernbert",
                       "albert", "camembert", "mpnet", "qwen2", "qwen3")


@register(SPARSE_MODEL_TYPES, "sparse-embedding", library="sentence_transformers")
@register(RANKING_MODEL_TYPES, "text-ranking", library="sentence_transformers")
@register(ENCODER_MODEL_TYPES, "feature-extraction", "sentence-similarity", library="sentence_transformers")
class SentenceTransformersOnnxConfig(OnnxConfig):
    """Registered for every pipeline, and the root of each pipeline config: built, it is the
    pipeline config of the model type of the model inside (:func:`pipeline_config_class`)."""

    _TASK_TO_OUTPUTS = PIPELINE_OUTPUTS
    ATOL_FOR_VALIDATION = 1e-4

    def __new__(cls, config: Any = None, task: str = "feature-extraction", **kwargs: Any):
        if cls is not SentenceTransformersOnnxConfig:
            return super().__new__(cls)
        model_type = getattr(config, "model_type", None)
        if not model_type:
            raise UnsupportedModelTypeError(f"{type(config).__name__} names no model_type: cannot tell the "
                                            "pipeline's encoder")
        return pipeline_config_class(normalize_model_type(model_type))(config, task=task, **kwargs)

    def model_kwargs(self, inputs):
        # the pipeline's Transformer module passes its model the entries its forward names
        return {"input": super().model_kwargs(inputs)}

    def call_model(self, model, kwargs):
        output = model(kwargs["input"])
        if self.task == "text-ranking":  # as CrossEncoder.predict: sigmoid for one label, else as configured
            output["scores"] = model.activation_fn(output["scores"])
        return output


def pipeline_config_class(model_type: str) -> type:
    """The pipeline config over ``model_type``'s transformers feature-extraction config: the
    pipeline's calling convention and outputs first, the model's export facts after."""
    return _pipeline_over(encoder_config_class(model_type))


@functools.cache
def _pipeline_over(encoder: type) -> type:
    return type(f"SentenceTransformers{encoder.__name__}", (SentenceTransformersOnnxConfig, encoder),
                {"__module__": __name__, "__doc__": f"A sentence-transformers pipeline over {encoder.__name__}."})


def encoder_config_class(model_type: str) -> type:
    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", task="feature-extraction", model_type=model_type, library_name="transformers")
    while isinstance(constructor, functools.partial):
        constructor = constructor.func
    if constructor is AutoOnnxConfig:
        return AutoOnnxConfig.derive(model_type, "feature-extraction")
    return constructor
