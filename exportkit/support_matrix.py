"""The support matrix shipped with exportkit, as the command line reads it: whether a model is
certified, with which versions, and which engine ``exportkit export`` uses when none is asked for.

The matrix is package data of ``reports`` (whose storage format it is); this module only reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from .errors import ExportKitError
from .exporters.onnx.convert import ENGINES, OPSET_RANGES

# Packages whose version decides what a certificate is worth: a user's may differ from the matrix's.
CERTIFIED_WITH = ("torch", "transformers", "timm", "diffusers", "sentence-transformers", "onnx", "onnxruntime")
# Without a certified cell to go by, torch's own default exporter.
FALLBACK_ENGINE = "dynamo"


class MatrixError(ExportKitError, ValueError):
    """A support-matrix file that cannot be read."""


def shipped_matrix() -> Path:
    """The support matrix published with this exportkit."""
    return Path(str(resources.files("reports").joinpath("support-matrix.json")))


def read_matrix(path: str | Path | None = None) -> dict:
    """The matrix at ``path`` (default: the shipped one), checked cell by cell."""
    from reports import load_matrix  # the matrix's storage format is the renderer's to know

    path = Path(path) if path is not None else shipped_matrix()
    if not path.is_file():  # also refuses a FIFO, which would block a reader
        raise MatrixError(f"{path} is not a support matrix file; pass --matrix support-matrix.json")
    try:
        return load_matrix(path)
    except (ValueError, OSError) as error:
        raise MatrixError(f"{path} is not a readable support matrix: {error}") from None


def version_drift(matrix: dict) -> list[str]:
    """``"torch 2.15.0 (certified with 2.14.1)"`` for each installed package the matrix saw another version of."""
    drift = []
    for package in CERTIFIED_WITH:
        certified = (matrix.get("versions") or {}).get(package)
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
        if certified and certified != installed:
            drift.append(f"{package} {installed} (certified with {certified})")
    return drift


@dataclass(frozen=True)
class EngineChoice:
    engine: str
    reason: str


def engines_for(*, opset: int | None = None, dtype: str = "fp32") -> tuple[str, ...]:
    """The engines that can write what the other flags ask for (an opset, half precision)."""
    engines = tuple(e for e in ENGINES if opset is None or OPSET_RANGES[e][0] <= opset <= OPSET_RANGES[e][1])
    if dtype == "fp16":  # TorchScript writes fp16 LayerNormalization nodes ONNX rejects
        engines = tuple(e for e in engines if e == "dynamo")
    return engines


def choose_engine(library: str, model_type: str, task: str, *, allowed: tuple[str, ...] = ENGINES,
                  matrix: dict | None = None) -> EngineChoice:
    """The engine to export ``(library, model_type, task)`` with: of the ``allowed`` engines the
    matrix certifies for it, the one whose certified export took the least time."""
    if not allowed:
        raise ValueError("no engine is allowed")
    if matrix is None:
        try:
            matrix = read_matrix()
        except MatrixError as error:
            return EngineChoice(_fallback(allowed), f"{error}; using the default engine")
    certified = {cell["engine"]: cell for cell in matrix["cells"]
                 if (cell["library"], cell["model_type"], cell["exporter"], cell["task"]) ==
                 (library, model_type, "onnx", task) and cell["status"] == "certified" and cell["engine"] in allowed}
    what = f"{library} {model_type} {task}"
    if not certified:
        engine = _fallback(allowed)
        return EngineChoice(engine, f"the support matrix certifies no engine for {what}; {engine} is the default")

    def seconds(engine: str) -> float:
        recorded = certified[engine].get("export_seconds")
        return recorded if isinstance(recorded, (int, float)) and math.isfinite(recorded) else math.inf

    engine = min(certified, key=lambda e: (seconds(e), ENGINES.index(e)))
    if len(certified) == 1:
        return EngineChoice(engine, f"the support matrix certifies {what} with {engine} only")
    timings = ", ".join(f"{e} {seconds(e):.2f} s" for e in sorted(certified, key=seconds))
    return EngineChoice(engine, f"the support matrix certifies {what} with {' and '.join(sorted(certified))}; "
                                f"{engine} exported fastest ({timings})")


def _fallback(allowed: tuple[str, ...]) -> str:
    return FALLBACK_ENGINE if FALLBACK_ENGINE in allowed else allowed[0]
