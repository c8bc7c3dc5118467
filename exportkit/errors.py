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


class UnsupportedOpsetError(ExportKitError, ValueError):
    """An opset the chosen engine does not write."""


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


# Exit statuses shared by every command line (`exportkit ...`, `python -m reports ...`);
# README "Exit status" documents them.
EXIT_OK = 0
EXIT_NO = 1  # a question answered no: not certified, not in the matrix, a regression found
EXIT_BAD_INPUT = 2  # the request was wrong (arguments, files, model directory); nothing was changed
EXIT_EXPORT_FAILED = 3  # the model could not be exported; nothing was changed
EXIT_VALIDATION_FAILED = 4  # the export does not reproduce the model; nothing was changed
EXIT_INTERNAL = 70  # a defect of exportkit itself (EX_SOFTWARE): rerun with --debug and report it
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; nothing was changed
