"""The benchmark's breakdown of a dynamo export names functions the installed torch and
onnxscript still have: a renamed one would show as a silent zero."""

from __future__ import annotations

import cProfile
import pstats

from conformance.benchmark import DYNAMO_PARTS, dynamo_parts
from conformance.cases import Case
from conformance.certify import build_from_zoo
from exportkit.exporters.onnx import export_models


def test_every_part_of_a_dynamo_export_is_found_in_its_profile(tmp_path):
    model, config = build_from_zoo(Case("transformers", "bert", "onnx", "dynamo", "text-classification"), seed=0)
    profiler = cProfile.Profile()
    profiler.enable()
    export_models(model, config, tmp_path / "out", engine="dynamo")
    profiler.disable()
    parts, whole = dynamo_parts(pstats.Stats(profiler))
    assert set(parts) == {name for name, _, _ in DYNAMO_PARTS}
    missing = [name for name, seconds in parts.items() if seconds <= 0]
    assert not missing, f"not found in the profile: {missing}"
    assert sum(parts.values()) <= whole
