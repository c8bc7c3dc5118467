"""Tiny sentence-transformers pipelines over tiny transformers models.

- ``feature-extraction`` / ``sentence-similarity``: a SentenceTransformer, the encoder plus
  pooling (mean in the base; every other pooling mode, and a Dense projection, as variants),
  normalized for similarity;
- ``sparse-embedding``: a SparseEncoder (SPLADE), a masked-LM plus SpladePooling;
- ``text-ranking``: a CrossEncoder, a sequence classifier scoring each row;
- ``static-embedding`` (feature-extraction / sentence-similarity): a StaticEmbedding alone;
- ``router`` (feature-extraction / sentence-similarity): a Router, queries through a
  StaticEmbedding and documents through a BERT encoder with mean pooling.

``Transformer`` only loads from a directory, so the tiny model is saved with a tiny WordPiece
tokenizer into a temporary local directory and loaded back from there (no network). No export
uses the tokenizer; the module just cannot be built without one.
"""

from __future__ import annotations

import contextlib
import tempfile

from exportkit.loading import ROUTER, STATIC_EMBEDDING

from . import transformers_zoo
from .base import MissingRecipeError, describe

# task -> the transformers task of the model inside the pipeline
INNER_TASKS = {
    "feature-extraction": "feature-extraction",
    "sentence-similarity": "feature-extraction",
    "sparse-embedding": "fill-mask",
    "text-ranking": "text-classification",
}
SPECIAL_TOKENS = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                  "mask_token": "[MASK]"}

# Every pooling mode sentence-transformers has, beside the base's mean pooling; each is certified.
POOLING_VARIANTS = {
    "cls-pooling": "cls", "max-pooling": "max", "last-token-pooling": "lasttoken",
    "mean-sqrt-len-pooling": "mean_sqrt_len_tokens", "weighted-mean-pooling": "weightedmean",
}
# A Dense projection after mean pooling (to another width, through tanh), as many checkpoints end.
DENSE_VARIANT = "dense-projection"
# SPLADE's other pooling over the sequence (the base takes the max) and its other activation.
SPLADE_VARIANTS = {"sum-pooling": {"pooling_strategy": "sum"}, "log1p-relu": {"activation_function": "log1p_relu"}}
# A reranker scores with one logit; a cross-encoder for NLI (several labels) is the variant.
RANKING_VARIANTS = {"three-labels": 3}


STATIC_VOCABULARY, STATIC_WIDTH = 99, 32
# The processors a dual encoder of text and images is saved with: ``Transformer`` reads the
# modalities it takes from them. (processor class, image processor class)
PROCESSORS = {"clip": ("CLIPProcessor", "CLIPImageProcessor")}


def has_recipe(model_type: str, task: str) -> bool:
    if model_type in (STATIC_EMBEDDING, ROUTER):
        return INNER_TASKS.get(task) == "feature-extraction"
    return task in INNER_TASKS and transformers_zoo.has_recipe(model_type, INNER_TASKS[task])


def variants(model_type: str, task: str) -> tuple[str, ...]:
    if model_type in (STATIC_EMBEDDING, ROUTER) or model_type in PROCESSORS:
        return ()  # a mean over token embeddings, or a dual encoder's own pooled towers: no pooling to vary
    if task == "sparse-embedding":
        return tuple(SPLADE_VARIANTS)
    if task == "text-ranking":
        return tuple(RANKING_VARIANTS)
    return (*POOLING_VARIANTS, DENSE_VARIANT)


def build(model_type: str, task: str, variant: str | None = None):
    if not has_recipe(model_type, task):
        raise MissingRecipeError(f"no sentence-transformers recipe for {model_type!r} and task {task!r}")
    if variant is not None and variant not in variants(model_type, task):
        raise MissingRecipeError(f"sentence-transformers has no variant {variant!r} for {task!r}")
    if model_type == STATIC_EMBEDDING:
        return _static_pipeline(task)
    if model_type == ROUTER:
        return _routed_pipeline(task)
    inner_task = INNER_TASKS[task]
    overrides = {"num_labels": RANKING_VARIANTS.get(variant, 1)} if task == "text-ranking" else {}
    model, description = transformers_zoo.build(model_type, inner_task, **overrides)
    transformer = _transformer_module(model, inner_task, model_type)
    modules = [transformer, *_heads(task, variant, transformer, pooled=model_type in PROCESSORS)]
    pipeline = _pipeline_class(task)(modules=modules, device="cpu")
    heads = "".join(f" + {type(module).__name__}" for module in modules[1:])
    return pipeline, f"{type(pipeline).__name__}({description}){heads}"


def _heads(task: str, variant: str | None, transformer, pooled: bool) -> list:
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling
    from sentence_transformers.sparse_encoder.modules import SpladePooling

    if task == "sparse-embedding":
        return [SpladePooling(**SPLADE_VARIANTS.get(variant, {}))]
    if task == "text-ranking":
        return []
    width = transformer.get_embedding_dimension()
    # a dual encoder's towers pool themselves (CLIP's projected embeddings)
    heads = [] if pooled else [Pooling(width, POOLING_VARIANTS.get(variant, "mean"))]
    if variant == DENSE_VARIANT:
        heads.append(Dense(width, width // 2 + 3, activation_function=torch.nn.Tanh()))
    # Similarity models usually end in a unit-norm embedding; plain feature extraction is kept unnormalized.
    if task == "sentence-similarity":
        heads.append(Normalize())
    return heads


def _static_pipeline(task: str):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize

    static = _static_module()
    modules = [static, Normalize()] if task == "sentence-similarity" else [static]
    pipeline = SentenceTransformer(modules=modules, device="cpu")
    heads = "".join(f" + {type(module).__name__}" for module in modules[1:])
    return pipeline, f"SentenceTransformer({describe(static, f'vocabulary {STATIC_VOCABULARY}, width {STATIC_WIDTH}')}){heads}"


def _static_module():
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    return StaticEmbedding(_tiny_tokenizer(STATIC_VOCABULARY), embedding_dim=STATIC_WIDTH)


def _routed_pipeline(task: str):
    """Asymmetric retrieval as sentence-transformers documents it: cheap static query embeddings,
    a transformer for documents (of the same width), behind one Router."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Router
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    encoder, description = transformers_zoo.build("bert", "feature-extraction", hidden_size=STATIC_WIDTH)
    transformer = _transformer_module(encoder, "feature-extraction", "bert")
    router = Router.for_query_document(query_modules=[_static_module()],
                                       document_modules=[transformer, Pooling(STATIC_WIDTH, "mean")])
    modules = [router, Normalize()] if task == "sentence-similarity" else [router]
    pipeline = SentenceTransformer(modules=modules, device="cpu")
    heads = "".join(f" + {type(module).__name__}" for module in modules[1:])
    return pipeline, f"SentenceTransformer(Router(query: StaticEmbedding, document: {description} + Pooling)){heads}"


def _pipeline_class(task: str):
    from sentence_transformers import CrossEncoder, SentenceTransformer, SparseEncoder

    return {"sparse-embedding": SparseEncoder, "text-ranking": CrossEncoder}.get(task, SentenceTransformer)


def _transformer_module(model, inner_task: str, model_type: str):
    import transformers
    from sentence_transformers.base.modules import Transformer

    # sentence-transformers' names for what its Transformer module wraps
    transformer_task = {"fill-mask": "fill-mask", "text-classification": "sequence-classification"}.get(
        inner_task, "feature-extraction")
    with tempfile.TemporaryDirectory(prefix="tiny-st-") as directory, _no_progress_bars():
        model.save_pretrained(directory)
        text_config = getattr(model.config, "text_config", None) or model.config
        tokenizer = _tiny_tokenizer(text_config.vocab_size)
        if model_type in PROCESSORS:
            processor_class, image_processor_class = (getattr(transformers, name) for name in PROCESSORS[model_type])
            size = model.config.vision_config.image_size
            image_processor = image_processor_class(size={"shortest_edge": size}, crop_size=size)
            processor_class(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
        else:
            tokenizer.save_pretrained(directory)
        return Transformer(directory, transformer_task=transformer_task)


def _tiny_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL_TOKENS.values())
    words = [f"w{i}" for i in range(vocab_size - len(specials))]
    backend = Tokenizer(models.WordPiece({token: i for i, token in enumerate(specials + words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, **SPECIAL_TOKENS)


@contextlib.contextmanager
def _no_progress_bars():
    from transformers.utils import logging

    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()
