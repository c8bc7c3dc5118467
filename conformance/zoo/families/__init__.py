"""What the tiny transformers zoo needs to know per family, one module per kind of model
(mirroring ``exportkit/exporters/onnx/models/``). Each module may define:

* ``OVERRIDES``: model type -> config fields the general shrinking rule would get wrong;
* ``VARIANTS``: model type -> variant name -> config fields changed, each certified beside the
  base tiny model (a cell is certified only when every variant passes);
* ``KNOWN_FAILURES``: :class:`~conformance.known_failures.KnownFailure` entries, each with its cause;
* ``CALIBRATED_BATCH_NORMS``: model types whose batch norms' running statistics are set from one
  pass over random images after the build (:func:`~conformance.zoo.base.calibrate_batch_norms`).

Model types are written as the registry writes them (``xlm-roberta``).
"""

from __future__ import annotations

from typing import Any

from . import audio, decoders, encoders, multimodal, other, seq2seq, vision

MODULES = (decoders, encoders, seq2seq, vision, audio, multimodal, other)


def _merged(name: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for module in MODULES:
        for key, value in getattr(module, name, {}).items():
            if key in merged:
                raise ValueError(f"{name}[{key!r}] is declared twice ({module.__name__} and another family module)")
            merged[key] = value
    return merged


OVERRIDES: dict[str, dict[str, Any]] = _merged("OVERRIDES")
VARIANTS: dict[str, dict[str, dict[str, Any]]] = _merged("VARIANTS")
KNOWN_FAILURES = [entry for module in MODULES for entry in getattr(module, "KNOWN_FAILURES", [])]
CALIBRATED_BATCH_NORMS: frozenset[str] = frozenset().union(
    *(getattr(module, "CALIBRATED_BATCH_NORMS", ()) for module in MODULES))
