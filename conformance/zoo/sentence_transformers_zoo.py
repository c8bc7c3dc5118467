"""Tiny sentence-transformers pipelines: a tiny transformers encoder + mean pooling (+ normalization).

``models.Transformer`` only loads from a directory, so the tiny encoder is saved with a tiny
WordPiece tokenizer into a temporary local directory and loaded back from there (no network).
No export uses the tokenizer; the module just cannot be built without one.
"""

from __future__ import annotations

import contextlib
import tempfile

from . import transformers_zoo
from .base import MissingRecipeError

TASKS = ("feature-extraction", "sentence-similarity")
SPECIAL_TOKENS = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                  "mask_token": "[MASK]"}


# Pooling modes other than the base's mean pooling, each certified beside it.
POOLING_VARIANTS = {"cls-pooling": "cls", "max-pooling": "max"}


def has_recipe(model_type: str, task: str) -> bool:
    return task in TASKS and transformers_zoo.has_recipe(model_type, "feature-extraction")


def variants(model_type: str) -> tuple[str, ...]:
    return tuple(POOLING_VARIANTS)


def build(model_type: str, task: str, variant: str | None = None):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    if not has_recipe(model_type, task):
        raise MissingRecipeError(f"no sentence-transformers recipe for {model_type!r} and task {task!r}")
    encoder, encoder_description = transformers_zoo.build(model_type, "feature-extraction")
    with tempfile.TemporaryDirectory(prefix="tiny-st-") as directory, _no_progress_bars():
        encoder.save_pretrained(directory)
        _tiny_tokenizer(encoder.config.vocab_size).save_pretrained(directory)
        transformer = Transformer(directory)
    if variant is not None and variant not in POOLING_VARIANTS:
        raise MissingRecipeError(f"sentence-transformers has no variant {variant!r}")
    pooling = POOLING_VARIANTS[variant] if variant else "mean"
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling)]
    # Similarity models usually end in a unit-norm embedding; plain feature extraction is kept unnormalized.
    if task == "sentence-similarity":
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, device="cpu")
    heads = " + ".join(type(module).__name__ for module in modules[1:])
    return model, f"SentenceTransformer({encoder_description}) + {heads}"


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
