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
    ExportResult,
    ValidationReport,
    compare_outputs,
    export,
    export_models,
    validate_model_outputs,
)
from .patcher import ModelPatcher, PatchingSpec

__all__ = [
    "AudioOnnxConfig", "ConfigBehavior", "ExportResult", "ModelPatcher", "OnnxConfig", "OnnxConfigWithPast",
    "OnnxSeq2SeqConfigWithPast", "PatchingSpec", "TextAndVisionOnnxConfig", "TextDecoderOnnxConfig",
    "TextEncoderOnnxConfig", "TextSeq2SeqOnnxConfig", "ValidationReport", "VisionOnnxConfig", "compare_outputs",
    "export", "export_models", "validate_model_outputs",
]
