"""Certify a checkpoint from a local directory with the very checks the zoo's cells pass.

The case is the directory's (library, model type, task) on each engine; the model is the
checkpoint itself instead of a tiny zoo model, and it has no structural variants. Everything
else (the export, its checks, the boundary and drawn examples, shrinking a failure to its
minimal shape) is :func:`conformance.certify.certify`, so a certificate of a user's
checkpoint means what a matrix cell means.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from exportkit import TasksManager
from exportkit.loading import (
    _local_dir,
    infer_library,
    infer_model_type_from_dir,
    infer_task,
    load_model,
    model_config,
)

from .cases import Case
from .certify import certify
from .profiles import DEFAULT_PROFILE
from .strategies import DEFAULT_EXAMPLE_BUDGET


def local_cases(model_dir: str | Path, task: str | None, library: str | None, engines: Sequence[str]) -> list[Case]:
    """The cases of a local checkpoint, checked against the registry before anything is loaded."""
    path = _local_dir(model_dir)
    library = (library or infer_library(path)).replace("-", "_")
    task = task or infer_task(path)
    model_type = infer_model_type_from_dir(path, library)
    TasksManager.get_exporter_config_constructor("onnx", task=task, model_type=model_type, library_name=library)
    return [Case(library, model_type, "onnx", engine, task, origin=str(path)) for engine in engines]


def certify_directory(
    model_dir: str | Path,
    cases: Sequence[Case],
    *,
    profile: str = DEFAULT_PROFILE,
    seed: int = 0,
    example_budget: int = DEFAULT_EXAMPLE_BUDGET,
    memory_budget: int | None = None,
    load_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> list[dict[str, Any]]:
    """One certificate record per case; the checkpoint is loaded once and shared by every engine."""
    case = cases[0]
    model = load_model(model_dir, task=case.task, library=case.library, **(load_options or {}))
    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", model=model, task=case.task, library_name=case.library)

    def build(case: Case, seed: int, variant: str | None):
        return model, constructor(model_config(model))

    records = []
    with tempfile.TemporaryDirectory(prefix="exportkit-certify-") as workdir:
        for case in cases:
            progress(f"certifying {case.model_type} {case.task} with the {case.engine} engine")
            record = certify(case, profile=profile, seed=seed, workdir=Path(workdir), build=build, variants=(),
                             example_budget=example_budget, memory_budget=memory_budget,
                             progress=lambda message: progress(f"  {message}"))
            record["reproduce"] = reproduce_command(model_dir, case, profile, seed)
            records.append(record)
            progress(f"  {record['status']} after {record['examples']} examples "
                     f"({record['duration_seconds']:.1f} s)")
    return records


def reproduce_command(model_dir: str | Path, case: Case, profile: str, seed: int) -> str:
    return shlex.join(["exportkit", "certify", str(model_dir), "--task", case.task, "--library", case.library,
                       "--engine", case.engine, "--hypothesis-profile", profile, "--seed", str(seed)])
