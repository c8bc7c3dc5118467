"""Run every property on one case and produce its certificate record.

Stages, in order: build (tiny model and config), capture / translate / check (the export),
io, dynamic-axes, then run / shapes / compare on hypothesis-drawn sizes. The first stage
that fails, and its error, are what the record (and the matrix cell) shows. Nothing here
raises for a failing export: failures are data.
"""

from __future__ import annotations

import contextlib
import math
import platform
import signal
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import seed as hypothesis_seed

from exportkit.errors import ExportError, RequirementError
from exportkit.exporters.onnx import artefact_size, export_models, onnx_session

from . import checks, profiles, strategies
from .cases import Case
from .known_failures import known_failure

VERSIONED_PACKAGES = ("exportkit", "torch", "transformers", "timm", "diffusers", "sentence-transformers",
                      "onnx", "onnxruntime", "onnxscript", "hypothesis")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


class CertifyTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`CertifyTimeout` in this thread after ``seconds`` (main thread only: SIGALRM)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise CertifyTimeout(f"exceeded the per-case time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    """What a run learned so far; turned into the record at the end."""

    stage: str = "build"
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)
    shapes_tried: list[dict[str, int]] = field(default_factory=list)
    minimal_failing_shape: dict[str, int] | None = None
    opset: int | None = None
    export_seconds: float | None = None
    artefact_bytes: int | None = None


def reproduce_command(case: Case, profile: str, seed: int) -> str:
    # --no-matrix: reproducing one cell must not overwrite the published matrix
    return (f"pytest 'conformance/test_certify.py::test_certify[{case.id}]' "
            f"--hypothesis-profile {profile} --conformance-seed {seed} --no-matrix")


def base_record(case: Case, *, profile: str, seed: int) -> dict[str, Any]:
    return {
        "id": case.id, "library": case.library, "model_type": case.model_type, "exporter": case.exporter,
        "engine": case.engine, "column": case.column, "task": case.task,
        "status": None, "stage": None, "reason": None, "error": None,
        "outputs": {}, "shapes_tried": [], "minimal_failing_shape": None,
        "opset": None, "export_seconds": None, "artefact_bytes": None,
        "versions": library_versions(), "seed": seed, "hypothesis_profile": profile,
        "reproduce": reproduce_command(case, profile, seed), "registered_at": case.origin,
        "duration_seconds": None,
    }


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def certify(case: Case, *, profile: str = profiles.DEFAULT_PROFILE, seed: int = 0, workdir: Path | None = None,
            time_limit_s: float | None = None, build=None) -> dict[str, Any]:
    """Certify one case; return its record. ``build(case, seed)`` returns ``(model, config)``."""
    record = base_record(case, profile=profile, seed=seed)
    outcome = Outcome()
    started = time.perf_counter()
    declared = known_failure(case.id)
    try:
        with time_limit(time_limit_s), tempfile.TemporaryDirectory(dir=workdir) as tmp:
            _run_properties(case, outcome, Path(tmp), seed, build or build_from_zoo, profile)
        status, reason, error = "certified", None, None
    except checks.CheckFailed as failure:
        status, reason, error = "failed", str(failure).splitlines()[0][:300], _error_text(failure)
        outcome.stage = failure.stage
    except ExportError as failure:
        outcome.stage = failure.stage
        cause = failure.__cause__ or failure
        status, reason, error = "failed", first_line(cause), _error_text(failure)
    except RequirementError as unmet:
        status, reason, error = "skipped", str(unmet), None
    except CertifyTimeout as failure:
        status, reason, error = "timeout", f"{str(failure)} (during {outcome.stage})", None
    except Exception as failure:  # noqa: BLE001  every failure becomes a cell
        status, reason, error = "failed", first_line(failure), _error_text(failure)
    if declared is not None:
        if status == "certified":
            status, reason = "failed", f"declared a known failure ({declared.reason}) but passed: remove the declaration"
            outcome.stage = "compare"  # the last stage, which passed when it was declared not to
        elif status == "failed":
            status = "xfail"
            reason = declared.reason + (f" [{declared.issue}]" if declared.issue else "") + f"; observed: {reason}"
    record.update(
        status=status, stage=None if status == "certified" else outcome.stage, reason=reason, error=error,
        outputs=outcome.outputs, shapes_tried=outcome.shapes_tried,
        minimal_failing_shape=outcome.minimal_failing_shape, opset=outcome.opset,
        export_seconds=outcome.export_seconds, artefact_bytes=outcome.artefact_bytes,
        duration_seconds=round(time.perf_counter() - started, 3),
    )
    return record


def _error_text(error: BaseException, limit: int = 4000) -> str:
    text = "".join(traceback.format_exception(error))
    return text if len(text) <= limit else "...\n" + text[-limit:]


def build_from_zoo(case: Case, seed: int):
    from exportkit import TasksManager

    from .zoo import build_tiny_model

    task = case.task.removesuffix("-with-past")
    tiny = build_tiny_model(case.library, case.model_type, task, seed=seed)
    constructor = TasksManager.get_exporter_config_constructor(
        case.exporter, model_type=case.model_type, task=case.task, library_name=case.library)
    return tiny.model, constructor(tiny.config)


def _run_properties(case: Case, outcome: Outcome, workdir: Path, seed: int, build, profile: str) -> None:
    outcome.stage = "build"
    model, config = build(case, seed)
    config.check_requirements()  # an unmet minimum version skips the case

    # (1) the export succeeds (its ExportError carries capture / translate / check)
    outcome.stage = "capture"
    tic = time.perf_counter()
    results = export_models(model, config, workdir / "onnx", engine=case.engine)
    outcome.export_seconds = round(time.perf_counter() - tic, 3)
    outcome.opset = next(iter(results.values())).opset
    outcome.artefact_bytes = sum(artefact_size(result.path) for result in results.values())

    parts = config.submodels()
    for stem, part in parts.items():
        path = results[stem].path
        prefix = f"{stem}/" if len(parts) > 1 else ""
        outcome.stage = "check"
        checks.check_onnx_model(path)  # (2)
        outcome.stage = "io"
        checks.check_io_names(path, part)  # (3)
        outcome.stage = "dynamic-axes"
        checks.check_dynamic_axes_symbolic(path, part)  # (4)
        outcome.stage = "run"
        _check_drawn_shapes(part, model, path, outcome, prefix, seed, stem if prefix else None, profile)  # (5)


def _check_drawn_shapes(config, model, path, outcome: Outcome, prefix: str, seed: int, submodel: str | None,
                        profile: str):
    session = onnx_session(path)
    atol = config.atol_for()
    axes = config.axes
    export_dims = config.dims()
    worst: dict[str, float] = {}
    last_failure: dict[str, Any] = {}

    def one_example(dims):
        try:
            config.dims(**dims)  # a draw outside a derived bound (past + new > max positions) is not a case
        except ValueError:
            reject()
        shown = {"submodel": submodel, **dims} if submodel else dict(dims)
        if shown not in outcome.shapes_tried:
            outcome.shapes_tried.append(shown)
        try:
            result = checks.check_outputs_match(config, model, session, dims, atol, seed=seed + 1)
        except checks.CheckFailed as failure:
            last_failure.update(dims=shown, failure=failure)
            for name, diff in failure.measured.items():
                worst[name] = max(worst.get(name, 0.0), diff)
            raise
        for name, diff in result.max_abs_diff.items():
            worst[name] = max(worst.get(name, 0.0), diff)

    smallest = strategies.smallest_dims(axes)
    prop = given(dims=strategies.input_dims(axes, avoid=export_dims))(one_example)
    if smallest != export_dims:
        prop = example(dims=smallest)(prop)
    prop = settings(settings.get_profile(profile), deadline=None, suppress_health_check=list(HealthCheck),
                    database=None, report_multiple_bugs=False)(prop)
    prop = hypothesis_seed(seed)(prop)
    try:
        prop()
    except checks.CheckFailed:
        # hypothesis replays the shrunk, minimal failing example last
        outcome.minimal_failing_shape = last_failure.get("dims")
        raise last_failure["failure"] from None
    finally:
        for name, diff in worst.items():
            outcome.outputs[prefix + name] = {"max_abs_diff": diff if math.isfinite(diff) else None, "atol": atol}
