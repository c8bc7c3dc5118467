"""sentence-transformers pipelines, exported whole: a SentenceTransformer (an encoder, its pooling,
Dense and Normalize; CLIP's two towers, one graph each; a StaticEmbedding; a Router, one graph per
route), a SparseEncoder (SPLADE: a masked-LM and its pooling over the vocabulary) and a
CrossEncoder (a sequence classifier scoring text pairs).

The model inside a pipeline is a transformers model, whose export facts (inputs, axes, dummy
inputs, reserved positions, padding sides) the transformers registry already holds for its
model type. A pipeline's config is that feature-extraction config with only what the pipeline
changes: the model takes its inputs as one features dict and returns the pipeline's outputs.
The modules after the transformer work on those and need no declaration of their own.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import torch

from ....axes import Axis
from ....errors import UnsupportedModelTypeError
from ....input_generators import DummyTextInputGenerator
from ....loading import ROUTER, STATIC_EMBEDDING
from ....normalized_config import NormalizedConfig, NormalizedTextConfig
from ....tasks import TasksManager, normalize_model_type, register
from ..base import OnnxConfig
from ..patcher import PatchingSpec, while_exporting
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
# Dual encoders of text and images (CLIP): encode() runs one tower per call, so their pipeline
# exports one graph per modality, ``text_model`` and ``image_model``.
MULTIMODAL_MODEL_TYPES = ("clip",)
MODALITY_INPUTS = {"text": ("input_ids", "attention_mask", "token_type_ids", "position_ids"), "image": ("pixel_values",)}
# The masked-LMs that SPLADE models are trained from.
SPARSE_MODEL_TYPES = ("bert", "distilbert", "roberta", "xlm-roberta", "camembert", "modernbert", "deberta-v2",
                      "mpnet", "albert", "electra")
# Cross-encoders' sequence classifiers: the BERT family's rerankers, and decoders' (Qwen2/3).
RANKING_MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "deberta-v2", "modernbert",
                       "albert", "camembert", "mpnet", "qwen2", "qwen3")


@register(SPARSE_MODEL_TYPES, "sparse-embedding", library="sentence_transformers")
@register(RANKING_MODEL_TYPES, "text-ranking", library="sentence_transformers")
@register((*ENCODER_MODEL_TYPES, *MULTIMODAL_MODEL_TYPES), "feature-extraction", "sentence-similarity",
          library="sentence_transformers")
class SentenceTransformersOnnxConfig(OnnxConfig):
    """Registered for every pipeline, and the root of each pipeline config: built, it is the
    pipeline config of the model type of the model inside (:func:`pipeline_config_class`)."""

    _TASK_TO_OUTPUTS = PIPELINE_OUTPUTS
    ATOL_FOR_VALIDATION = 1e-4
    modality: str | None = None  # set on each part of a multimodal pipeline (:meth:`submodels`)
    route: str | None = None  # set on each route's part of a Router pipeline (:class:`RouterOnnxConfig`)

    def __new__(cls, config: Any = None, task: str = "feature-extraction", **kwargs: Any):
        if cls is not SentenceTransformersOnnxConfig:
            return super().__new__(cls)
        model_type = getattr(config, "model_type", None)
        if not model_type:
            raise UnsupportedModelTypeError(f"{type(config).__name__} names no model_type: cannot tell the "
                                            "pipeline's encoder")
        return pipeline_config_class(normalize_model_type(model_type))(config, task=task, **kwargs)

    def modalities(self) -> list[str]:
        """The modalities the model inside takes, by its inputs."""
        names = set(super().input_specs)
        return [modality for modality, inputs in MODALITY_INPUTS.items() if names & set(inputs)]

    def submodels(self):
        modalities = self.modalities()
        if self.modality is not None or len(modalities) < 2:
            return {"model": self}
        parts = {}
        for modality in modalities:
            parts[f"{modality}_model"] = part = copy.copy(self)
            part.modality = modality
        return parts

    @property
    def input_specs(self):
        specs = super().input_specs
        if self.modality is None:
            return specs
        return {name: spec for name, spec in specs.items() if name in MODALITY_INPUTS[self.modality]}

    @property
    def output_specs(self):
        if len(self.modalities()) < 2:
            return super().output_specs
        # a multimodal pipeline pools each modality's tower into one embedding per row of that modality
        batch = next(iter(self.input_specs.values())).axes[0].name
        return {"sentence_embedding": self._spec("sentence_embedding", (batch, None), self.axis_table())}

    def patching_specs(self, model):
        return super().patching_specs(model) + splade_pooling_patches(model)

    def model_kwargs(self, inputs):
        # the pipeline's Transformer module passes its model the entries its forward names, and
        # picks the tower by the modality
        features = super().model_kwargs(inputs)
        # ...and a Router picks its route by the features' task, as encode_query() sets it
        chosen = {"modality": self.modality, "task": self.route}
        return {"input": {**features, **{key: value for key, value in chosen.items() if value is not None}}}

    def call_model(self, model, kwargs):
        output = model(kwargs["input"])
        if self.task == "text-ranking":  # as CrossEncoder.predict: sigmoid for one label, else as configured
            output["scores"] = model.activation_fn(output["scores"])
        return output


def _splade_pooling_in_one_pass(module):
    """SpladePooling's forward over the whole sequence at once, as it computes it when there is one
    chunk: its loop over chunks (``range(0, seq_len, chunk_size)``) fixes the sequence length
    under torch.export."""

    def forward(features):
        logits = features["token_embeddings"]
        scores = torch.log1p(torch.relu(logits * features["attention_mask"].unsqueeze(-1).to(logits.dtype)))
        if module.activation_function == "log1p_relu":
            scores = torch.log1p(scores)
        features["sentence_embedding"] = scores.amax(dim=1) if module.pooling_strategy == "max" else scores.sum(dim=1)
        return features

    return forward


def splade_pooling_patches(model) -> list[PatchingSpec]:
    """Export each unchunked SpladePooling through :func:`_splade_pooling_in_one_pass` under torch.export."""
    return [PatchingSpec(o=module, name="forward",
                         op_wrapper=lambda original, module=module: while_exporting(
                             original, _splade_pooling_in_one_pass(module)))
            for module in model.modules()
            if type(module).__name__ == "SpladePooling" and not (module.chunk_size and module.chunk_size > 0)]


def pipeline_config_class(model_type: str) -> type:
    """The pipeline config over ``model_type``'s transformers feature-extraction config: the
    pipeline's calling convention and outputs first, the model's export facts after."""
    if model_type == STATIC_EMBEDDING:
        return StaticEmbeddingOnnxConfig
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


@register(STATIC_EMBEDDING, "feature-extraction", "sentence-similarity", library="sentence_transformers")
class StaticEmbeddingOnnxConfig(SentenceTransformersOnnxConfig):
    """A StaticEmbedding pipeline (an EmbeddingBag: each row's embedding is the mean of its tokens').

    It takes what its tokenizer gives: the ids of every row concatenated (``input_ids``) and where
    each row starts in them (``offsets``). Rows of any length are its padding-free batch: the
    dummy rows here have random lengths, empty ones among them (an empty text embeds as zeros).
    """

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)
    INPUTS = {"input_ids": ("total_tokens",), "offsets": ("batch_size",)}
    INT_INPUTS = OnnxConfig.INT_INPUTS | {"offsets"}
    _TASK_TO_OUTPUTS = {task: {"sentence_embedding": ("batch_size", None)}
                        for task in ("feature-extraction", "sentence-similarity")}

    def axis_table(self):
        return {**super().axis_table(), "total_tokens": Axis("total_tokens", default=16, min=0, max=4096)}

    def generate_dummy_inputs(self, framework: str = "pt", seed: int = 0, padding=None, **shape_kwargs):
        if framework not in ("pt", "np"):
            raise ValueError(f"framework must be 'pt' or 'np', got {framework!r}")
        dims = self.dims(**shape_kwargs)
        rng = torch.Generator().manual_seed(seed)
        input_ids = self._generators()[0].token_ids((dims["total_tokens"],), rng)
        # row 0 starts at 0, the others at sorted random cuts: rows of random lengths, some empty
        cuts = torch.randint(0, dims["total_tokens"] + 1, (dims["batch_size"] - 1,), generator=rng).sort().values
        inputs = {"input_ids": input_ids, "offsets": torch.cat([cuts.new_zeros(1), cuts]).to(input_ids.dtype)}
        return {name: tensor.numpy() for name, tensor in inputs.items()} if framework == "np" else inputs


@register(ROUTER, "feature-extraction", "sentence-similarity", library="sentence_transformers")
class RouterOnnxConfig(OnnxConfig):
    """A pipeline whose Router sends queries and documents through different modules (asymmetric
    retrieval: a static query encoder beside a transformer for documents, say). It exports one
    graph per route, ``{route}_model``: the pipeline config of that route's model, called with the
    route as ``encode_query()`` and ``encode_document()`` call it. Its own inputs and outputs are
    those of its first route."""

    NORMALIZED_CONFIG_CLASS = NormalizedConfig
    _TASK_TO_OUTPUTS = {task: {"sentence_embedding": ("batch_size", None)}
                        for task in ("feature-extraction", "sentence-similarity")}

    def __init__(self, config: Any, task: str = "feature-extraction", **kwargs: Any):
        super().__init__(config, task=task, **kwargs)
        self.routes = {}
        for route, route_config in config.routes.items():
            self.routes[route] = part = SentenceTransformersOnnxConfig(route_config, task=task, **kwargs)
            part.route = route

    def submodels(self):
        return {f"{route}_model": part for route, part in self.routes.items()}

    @property
    def first_route(self) -> SentenceTransformersOnnxConfig:
        return next(iter(self.routes.values()))

    def axis_table(self):
        return self.first_route.axis_table()

    @property
    def input_specs(self):
        return self.first_route.input_specs

    @property
    def output_specs(self):
        return self.first_route.output_specs

    def generate_dummy_inputs(self, framework: str = "pt", **kwargs):
        return self.first_route.generate_dummy_inputs(framework, **kwargs)
