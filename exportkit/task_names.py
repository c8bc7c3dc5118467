"""Task names as users write them, parsed once into a typed :class:`Task`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .errors import UnknownTaskError

WITH_PAST_SUFFIX = "-with-past"

# Canonical task names. The value is a one-line description shown by `exportkit tasks`.
TASKS: dict[str, str] = {
    "feature-extraction": "hidden states of the last layer",
    "fill-mask": "masked-token logits",
    "text-generation": "next-token logits of a causal language model",
    "text2text-generation": "encoder-decoder generation logits",
    "text-classification": "sequence classification logits",
    "token-classification": "per-token classification logits",
    "question-answering": "extractive QA start/end logits",
    "multiple-choice": "multiple-choice logits",
    "image-classification": "image classification logits",
    "zero-shot-image-classification": "image-text similarity logits",
    "zero-shot-object-detection": "boxes and their similarity to text queries",
    "object-detection": "box logits and coordinates",
    "image-segmentation": "mask logits (instance, panoptic or universal segmentation)",
    "semantic-segmentation": "per-pixel class logits",
    "depth-estimation": "a depth map",
    "masked-im": "the image reconstructed from masked patches",
    "image-to-image": "an image made from an image (super-resolution)",
    "audio-classification": "audio classification logits",
    "audio-frame-classification": "per-frame audio classification logits",
    "audio-xvector": "speaker embeddings (x-vectors) and their logits",
    "automatic-speech-recognition": "speech recognition logits (CTC over audio frames, or a decoder's)",
    "sentence-similarity": "a pooled, normalized sentence embedding",
    "sparse-embedding": "a sparse embedding with one weight per vocabulary entry (SPLADE)",
    "text-ranking": "relevance scores of text pairs (a cross-encoder)",
    "latent-decoding": "an image decoded from a latent sample (VAE decoder)",
    "latent-encoding": "the latent of an image (VAE encoder)",
    "noise-prediction": "a diffusion denoiser's prediction for a noised latent at a timestep (UNet, DiT)",
    "control-residuals": "a ControlNet's residuals for its denoiser's blocks",
    "text-encoding": "a diffusion pipeline's text encoder's hidden states",
}

# Synonyms accepted at the edge, mapped to the canonical name.
SYNONYMS: dict[str, str] = {
    "default": "feature-extraction",
    "causal-lm": "text-generation",
    "seq2seq-lm": "text2text-generation",
    "summarization": "text2text-generation",
    "translation": "text2text-generation",
    "sequence-classification": "text-classification",
    "sentiment-analysis": "text-classification",
    "zero-shot-classification": "text-classification",
    "masked-lm": "fill-mask",
    "ner": "token-classification",
    "speech2seq-lm": "automatic-speech-recognition",
    "ctc": "automatic-speech-recognition",
    "image-feature-extraction": "feature-extraction",
    "sentence-embedding": "sentence-similarity",
    "sparse-encoding": "sparse-embedding",
    "reranking": "text-ranking",
    "cross-encoding": "text-ranking",
    "audio-ctc": "automatic-speech-recognition",
    "speech-recognition": "automatic-speech-recognition",
    "instance-segmentation": "image-segmentation",
    "panoptic-segmentation": "image-segmentation",
    "universal-segmentation": "image-segmentation",
    "masked-image-modeling": "masked-im",
    "super-resolution": "image-to-image",
}

# Library-scoped synonyms: the task names the seed registered diffusers components under, before
# they had tasks of their own ("semantic-segmentation" for every UNet, VAE and transformer,
# "feature-extraction" for text encoders). Each still names the one task of its component.
LIBRARY_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "diffusers": {
        "semantic-segmentation": ("latent-decoding", "latent-encoding", "noise-prediction", "control-residuals"),
        "feature-extraction": ("text-encoding",),
    },
}


def library_synonym(task: str, library: str | None, supported) -> str | None:
    """The task of ``supported`` that the library-scoped synonym ``task`` names, if exactly one."""
    candidates = LIBRARY_SYNONYMS.get((library or "").replace("-", "_"), {}).get(task, ())
    matches = [name for name in candidates if name in supported]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True, order=True)
class Task:
    """A canonical task plus whether the export carries a KV cache (``-with-past``)."""

    name: str
    with_past: bool = False

    def __str__(self) -> str:
        return self.name + (WITH_PAST_SUFFIX if self.with_past else "")

    @property
    def bare(self) -> Task:
        return Task(self.name)

    @classmethod
    def parse(cls, text: str | Task) -> Task:
        if isinstance(text, Task):
            return text
        if not isinstance(text, str) or not text:
            raise UnknownTaskError(f"a task must be a non-empty string, got {text!r}")
        raw = text.strip().lower().replace("_", "-")
        with_past = raw.endswith(WITH_PAST_SUFFIX)
        base = raw[: -len(WITH_PAST_SUFFIX)] if with_past else raw
        base = SYNONYMS.get(base, base)
        if base not in TASKS:
            raise UnknownTaskError(
                f"unknown task {text!r}{did_you_mean(base, [*TASKS, *SYNONYMS])}; "
                f"known tasks: {', '.join(sorted(TASKS))}"
            )
        return cls(base, with_past)


def did_you_mean(word: str, candidates, n: int = 3) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.5)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
