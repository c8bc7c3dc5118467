"""Typed exceptions raised at exportkit's public boundary."""

from __future__ import annotations


class ExportKitError(Exception):
    """Base class of every error exportkit raises on purpose."""


class UnknownTaskError(ExportKitError, ValueError):
    pass


class UnsupportedModelTypeError(ExportKitError, KeyError):
    # KeyError's str() repr-quotes the message; keep it readable.
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnsupportedTaskError(ExportKitError, ValueError):
    pass


class RegistryError(ExportKitError):
    """A registration that would leave the registry inconsistent (a duplicate key, a missing output spec)."""


class RequirementError(ExportKitError):
    """The installed torch or transformers is older than an export config needs."""


class ModelLoadingError(ExportKitError, OSError):
    """A model could not be loaded from the given location (no network is ever used)."""


class ExportError(ExportKitError):
    """An export failed; ``stage`` names the step that failed (capture, translate, check, ...)."""

    def __init__(self, message: str, *, stage: str):
        super().__init__(f"[{stage}] {message}")
        self.stage = stage


class ValidationError(ExportKitError):
    """The exported model does not reproduce the PyTorch model."""


class OutputMissingError(ValidationError):
    pass


class ShapeMismatchError(ValidationError):
    pass


class AtolError(ValidationError):
    pass
