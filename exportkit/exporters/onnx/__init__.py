"""ONNX export: the seed's config classes, export and validation."""

from .base import ConfigBehavior, OnnxConfig, OnnxConfigWithPast, OnnxSeq2SeqConfigWithPast
from .config import (
    AudioOnnxConfig,
    TextAndVisionOnnxConfig,
    TextDecoderOnnxConfig,
    TextEncoderOnnxConfig,
    TextSeq2SeqOnnxConfig,
    VisionOnnxConfig,
)
from .convert import (
    ENGINES,
    ExportResult,
    artefact_size,
    ValidationReport,
    compare_outputs,
    export,
    export_models,
    onnx_session,
    validate_model_outputs,
)
from .patcher import ModelPatcher, PatchingSpec

__all__ = [
    "ENGINES", "artefact_size", "onnx_session",
    "AudioOnnxConfig", "ConfigBehavior", "ExportResult", "ModelPatcher", "OnnxConfig", "OnnxConfigWithPast",
    "OnnxSeq2SeqConfigWithPast", "PatchingSpec", "TextAndVisionOnnxConfig", "TextDecoderOnnxConfig",
    "TextEncoderOnnxConfig", "TextSeq2SeqOnnxConfig", "ValidationReport", "VisionOnnxConfig", "compare_outputs",
    "export", "export_models", "validate_model_outputs",
]
