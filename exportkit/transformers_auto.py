"""What transformers says about its models, read in one place: which model class backs each
(model type, task), from its Auto classes.

The Auto mappings are read by name (``_model_mapping._model_mapping``: model type -> class
name), which imports no modelling code; a model class is imported only when asked for.
"""

from __future__ import annotations

import functools

# Task -> the transformers Auto classes whose mappings back it, in the order they are tried.
TRANSFORMERS_AUTO_CLASSES: dict[str, tuple[str, ...]] = {
    "feature-extraction": ("AutoModel",),
    "fill-mask": ("AutoModelForMaskedLM",),
    "text-generation": ("AutoModelForCausalLM",),
    "text2text-generation": ("AutoModelForSeq2SeqLM",),
    "text-classification": ("AutoModelForSequenceClassification",),
    "token-classification": ("AutoModelForTokenClassification",),
    "question-answering": ("AutoModelForQuestionAnswering",),
    "multiple-choice": ("AutoModelForMultipleChoice",),
    "image-classification": ("AutoModelForImageClassification",),
    "zero-shot-image-classification": ("AutoModelForZeroShotImageClassification",),
    "zero-shot-object-detection": ("AutoModelForZeroShotObjectDetection",),
    "object-detection": ("AutoModelForObjectDetection",),
    "image-segmentation": ("AutoModelForImageSegmentation", "AutoModelForUniversalSegmentation",
                           "AutoModelForInstanceSegmentation"),
    "semantic-segmentation": ("AutoModelForSemanticSegmentation",),
    "depth-estimation": ("AutoModelForDepthEstimation",),
    "masked-im": ("AutoModelForMaskedImageModeling",),
    "image-to-image": ("AutoModelForImageToImage",),
    "audio-classification": ("AutoModelForAudioClassification",),
    "audio-frame-classification": ("AutoModelForAudioFrameClassification",),
    "audio-xvector": ("AutoModelForAudioXVector",),
    "automatic-speech-recognition": ("AutoModelForCTC", "AutoModelForSpeechSeq2Seq"),
}


@functools.cache
def auto_mapping(auto_class: str) -> dict[str, str]:
    """``model_type -> model class name`` of one Auto class (transformers' own spelling of the type)."""
    import transformers

    names = getattr(transformers, auto_class)._model_mapping._model_mapping
    return {model_type: (name[0] if isinstance(name, (list, tuple)) else name) for model_type, name in names.items()}


def backing_auto_class(model_type: str, task: str) -> tuple[str, str] | None:
    """``(auto class, model class name)`` backing ``task`` for ``model_type`` (either spelling), or None."""
    for auto_class in TRANSFORMERS_AUTO_CLASSES.get(task, ()):
        mapping = auto_mapping(auto_class)
        for key in (model_type, model_type.replace("-", "_"), model_type.replace("_", "-")):
            if key in mapping:
                return auto_class, mapping[key]
    return None


def task_model_class(model_type: str, task: str):
    """The transformers model class for ``task`` and ``model_type``, or None where no Auto class maps it."""
    import transformers

    found = backing_auto_class(model_type, task)
    return getattr(transformers, found[1], None) if found else None


def auto_pairs() -> list[tuple[str, str, str, str]]:
    """Every ``(model_type, task, auto class, model class name)`` the Auto classes back, sorted."""
    pairs = {}
    for task, auto_classes in TRANSFORMERS_AUTO_CLASSES.items():
        for auto_class in auto_classes:
            for model_type, class_name in auto_mapping(auto_class).items():
                pairs.setdefault((model_type, task), (auto_class, class_name))
    return sorted((model_type, task, *found) for (model_type, task), found in pairs.items())
