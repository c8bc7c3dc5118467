"""Run every property on one case and produce its certificate record.

A case is certified on its family's base tiny model and on every structural variant the zoo
declares for it; each is one *run*. A run goes through the stages build (tiny model and
config), capture / translate / check (the export), io, dynamic-axes, then run / shapes /
compare on examples: first the boundary examples (every axis at its smallest and largest,
both sides of every size threshold, ragged batches padded on each declared side), then the
examples hypothesis draws over the whole declared range. A failing boundary example is
shrunk by bisection, a drawn one by hypothesis. An allocation past the cell's memory budget
fails at stage ``memory``; a model that rewrites its own config while exported or run fails at
that stage (the export would be of another model than the one compared against).

The cell is certified only when every run passed. Otherwise the first failing run's stage,
its minimal failing example (sizes, padding, variant) and its error are what the record
(and the matrix cell) shows. Nothing here raises for a failing export: failures are data.
"""

from __future__ import annotations

import contextlib
import functools
import math
import platform
import signal
import subprocess
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed

from exportkit.errors import ExportError, RequirementError
from exportkit.exporters.onnx import artefact_size, export_models, onnx_session

from . import checks, profiles, strategies
from .cases import Case
from .known_failures import known_failure
from .memory import DEFAULT_MEMORY_BUDGET, MemoryWatch, release_memory
from .strategies import DEFAULT_EXAMPLE_BUDGET, Example, ExampleSpace

VERSIONED_PACKAGES = ("exportkit", "torch", "transformers", "timm", "diffusers", "sentence-transformers",
                      "onnx", "onnxruntime", "onnxscript", "hypothesis")

Build = Callable[[Case, int, "str | None"], tuple[Any, Any]]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


@functools.cache
def code_commit() -> str | None:
    """The git commit of the checkout this conformance code runs from (40 hex digits), with
    ``+dirty`` when tracked files differ from it; None outside a git checkout or without git.
    Asked once per process: every record of a run names the code that measured it."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, check=True,
                              timeout=60).stdout.strip()

    try:
        commit = git("rev-parse", "--verify", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    if len(commit) != 40 or any(ch not in "0123456789abcdef" for ch in commit):
        return None
    return commit + ("+dirty" if dirty else "")


class CertifyTimeout(BaseException):
    """A case past its time limit. Not an ``Exception``: the libraries a case runs through catch
    those (and would go on, or record an ordinary failure), as they let KeyboardInterrupt pass."""


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
class Run:
    """What certifying one model (the base, or one variant) learned."""

    variant: str | None
    stage: str = "build"
    status: str | None = None
    reason: str | None = None
    error: str | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tried: list[dict[str, Any]] = field(default_factory=list)  # shown examples, in order
    minimal_failing: dict[str, Any] | None = None
    masks: Counter = field(default_factory=Counter)
    thresholds: dict[tuple[str, int], dict] = field(default_factory=dict)
    largest: tuple[int, dict[str, Any]] | None = None  # (input elements, shown example)
    padding_policy: dict[str, list[str]] | None = None
    opset: int | None = None
    export_seconds: float | None = None
    artefact_bytes: int | None = None
    progress: Callable[[str], None] | None = field(default=None, repr=False)  # told each stage and example
    on_stage: Callable[[str | None, str], None] | None = field(default=None, repr=False)  # (variant, stage)

    @property
    def name(self) -> str:
        return self.variant or "base"

    def enter(self, stage: str, detail: str = "") -> None:
        self.stage = stage
        if self.on_stage is not None:
            self.on_stage(self.variant, stage)
        self.tell(f"{stage}{detail}")

    def tell(self, message: str) -> None:
        if self.progress is not None:
            self.progress(f"{self.name}: {message}")

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "stage": None if self.status == "certified" else self.stage,
                "reason": self.reason, "examples": len(self.tried), "minimal_failing_shape": self.minimal_failing}


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
        "variants": [], "examples": 0, "masks": {}, "thresholds": [], "largest_input": None,
        "padding": None, "peak_memory_bytes": None, "memory_growth_bytes": None, "memory_budget_bytes": None,
        "example_budget": None,
        "opset": None, "export_seconds": None, "artefact_bytes": None,
        "versions": library_versions(), "commit": code_commit(), "seed": seed, "hypothesis_profile": profile,
        "reproduce": reproduce_command(case, profile, seed), "registered_at": case.origin,
        "duration_seconds": None,
    }


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _error_text(error: BaseException) -> str:
    from reports.matrix import stored_error_text

    return stored_error_text("".join(traceback.format_exception(error)))


def certify(case: Case, *, profile: str = profiles.DEFAULT_PROFILE, seed: int = 0, workdir: Path | None = None,
            time_limit_s: float | None = None, build: Build | None = None, variants: Sequence[str] | None = None,
            example_budget: int = DEFAULT_EXAMPLE_BUDGET,
            memory_budget: int | None = DEFAULT_MEMORY_BUDGET,
            progress: Callable[[str], None] | None = None,
            on_stage: Callable[[str | None, str], None] | None = None) -> dict[str, Any]:
    """Certify one case on its base model and each variant; return its record.

    ``build(case, seed, variant)`` returns ``(model, export_config)`` (default: the zoo's);
    ``variants`` defaults to those the zoo declares for the case's family. ``on_stage(variant,
    stage)`` is told each stage as it starts (the harness keeps it outside the process, for a
    worker that dies mid-case). ``progress`` is
    told each stage and each example as they start (one line each).
    """
    record = base_record(case, profile=profile, seed=seed)
    build = build or build_from_zoo
    names = zoo_variants(case) if variants is None else tuple(variants)
    example_budget = zoo_example_budget(case) or example_budget
    runs: list[Run] = []
    started = time.perf_counter()
    release_memory()  # what earlier cases freed is not this case's memory
    watch = MemoryWatch(memory_budget)
    with time_limit(time_limit_s), watch:
        for variant in (None, *names):
            run = Run(variant, progress=progress, on_stage=on_stage)
            runs.append(run)
            _certify_run(case, run, build, seed, profile, workdir, example_budget)
            if watch.over_budget and run.status in ("certified", "xfail"):
                run.status, run.stage = "failed", "memory"
                run.reason = (f"resident memory grew by {watch.growth_bytes / 2**30:.2f} GiB, "
                              f"past the budget of {memory_budget / 2**30:.2f} GiB")
            if run.status in ("timeout", "skipped") or (variant is None and run.status not in ("certified", "xfail")):
                break  # variants of a base model that does not pass tell nothing more
    release_memory()
    _fill_record(record, runs, names, case)
    record.update(peak_memory_bytes=watch.peak_bytes, memory_growth_bytes=watch.growth_bytes,
                  memory_budget_bytes=memory_budget, example_budget=example_budget,
                  duration_seconds=round(time.perf_counter() - started, 3))
    return record


def _certify_run(case: Case, run: Run, build: Build, seed: int, profile: str, workdir: Path | None,
                 example_budget: int) -> None:
    try:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            _run_properties(case, run, Path(tmp), seed, build, profile, example_budget)
        run.status = "certified"
    except checks.CheckFailed as failure:
        run.status, run.stage = "failed", failure.stage
        run.reason, run.error = str(failure).splitlines()[0][:300], _error_text(failure)
    except checks.MemoryBudgetExceeded as exceeded:
        run.status, run.stage, run.reason = "failed", "memory", str(exceeded)[:300]
        run.minimal_failing, run.error = exceeded.example, _error_text(exceeded)
    except ExportError as failure:
        cause = failure.__cause__ or failure
        run.status, run.reason, run.error = "failed", first_line(cause), _error_text(failure)
        run.stage = "memory" if checks.is_out_of_memory(cause) else failure.stage
    except RequirementError as unmet:
        run.status, run.reason = "skipped", str(unmet)
    except CertifyTimeout as failure:
        run.status, run.reason = "timeout", f"{failure} (during {run.stage} of {run.name})"
    except Exception as failure:  # noqa: BLE001  every failure becomes a cell
        run.status, run.reason, run.error = "failed", first_line(failure), _error_text(failure)
        if checks.is_out_of_memory(failure):
            run.stage = "memory"
    declared = known_failure(case.id, run.variant)
    if declared is None:
        return
    if run.status == "certified":
        run.status, run.stage = "failed", "compare"  # the last stage, which passed when it was declared not to
        run.reason = f"declared a known failure ({declared.reason}) but passed: remove the declaration"
    elif run.status == "failed":
        run.status = "xfail"
        run.reason = declared.reason + (f" [{declared.issue}]" if declared.issue else "") + f"; observed: {run.reason}"


def _fill_record(record: dict[str, Any], runs: list[Run], names: Sequence[str], case: Case) -> None:
    base = runs[0]
    deciding = (next((r for r in runs if r.status in ("timeout", "skipped", "failed")), None)
                or next((r for r in runs if r.status == "xfail"), None))
    status = deciding.status if deciding else "certified"
    reason = None
    if deciding is not None:
        reason = deciding.reason if deciding.variant is None else f"variant {deciding.variant}: {deciding.reason}"
    summaries = [run.summary() for run in runs]
    ran = {run.variant for run in runs}
    summaries += [{"name": name, "status": "not run", "stage": None, "reason": "the base model did not pass",
                   "examples": 0, "minimal_failing_shape": None} for name in names if name not in ran]
    outputs: dict[str, dict[str, Any]] = {}
    for run in runs:  # the worst difference of each output over every run
        for name, measured in run.outputs.items():
            seen = outputs.get(name)
            if seen is None or _worse(measured["max_abs_diff"], seen["max_abs_diff"]):
                outputs[name] = dict(measured)
    masks = sum((run.masks for run in runs), Counter())
    thresholds: dict[tuple[str, int], dict] = {}
    for run in runs:
        for key, crossed in run.thresholds.items():
            seen = thresholds.setdefault(key, dict(crossed))
            seen["below"] |= crossed["below"]
            seen["above"] |= crossed["above"]
    largest = max((run.largest for run in runs if run.largest), key=lambda item: item[0], default=None)
    record.update(
        status=status, stage=None if status == "certified" else (deciding.stage if deciding else None),
        reason=reason, error=deciding.error if deciding else None,
        outputs=outputs, shapes_tried=base.tried, minimal_failing_shape=deciding.minimal_failing if deciding else None,
        variants=summaries, examples=sum(len(run.tried) for run in runs), masks=dict(sorted(masks.items())),
        thresholds=[thresholds[key] for key in sorted(thresholds)],
        largest_input={"elements": largest[0], "example": largest[1]} if largest else None,
        padding=base.padding_policy, opset=base.opset, export_seconds=base.export_seconds,
        artefact_bytes=base.artefact_bytes,
    )


def _worse(a: float | None, b: float | None) -> bool:
    """Is ``a`` a worse difference than ``b``? None stands for a non-finite difference."""
    if a is None:
        return b is not None
    return b is not None and a > b


def zoo_variants(case: Case) -> tuple[str, ...]:
    from .zoo import variants

    return variants(case.library, case.model_type, case.task)


def zoo_example_budget(case: Case) -> int | None:
    from .zoo import example_budget

    return example_budget(case.library, case.model_type)


def build_from_zoo(case: Case, seed: int, variant: str | None = None):
    from exportkit import TasksManager

    from .zoo import build_tiny_model

    task = case.task.removesuffix("-with-past")
    constructor = TasksManager.get_exporter_config_constructor(
        case.exporter, model_type=case.model_type, task=case.task, library_name=case.library)
    derive = getattr(getattr(constructor, "func", None), "derive", None)
    if derive is not None:  # a pair whose config cannot be derived fails before its model is built
        derive(case.model_type, task, use_past=case.task.endswith("-with-past"))
    tiny = build_tiny_model(case.library, case.model_type, task, seed=seed, variant=variant)
    return tiny.model, constructor(tiny.config)


def _run_properties(case: Case, run: Run, workdir: Path, seed: int, build: Build, profile: str,
                    example_budget: int) -> None:
    run.enter("build")
    model, config = build(case, seed, run.variant)
    config.check_requirements()  # an unmet minimum version skips the case
    run.padding_policy = {"sides": list(config.PADDING_SIDES), "not_compared_after": sorted(config.padding_undefined_after())}

    # (1) the export succeeds (its ExportError carries capture / translate / check)
    run.enter("capture", f" (exporting with the {case.engine} engine)")
    settings = checks.model_settings(model)
    tic = time.perf_counter()
    results = export_models(model, config, workdir / "onnx", engine=case.engine)
    run.export_seconds = round(time.perf_counter() - tic, 3)
    checks.check_settings_unchanged(model, settings, "capture", "the export")
    run.opset = next(iter(results.values())).opset
    run.artefact_bytes = sum(artefact_size(result.path) for result in results.values())

    parts = config.submodels()
    for stem, part in parts.items():
        path = results[stem].path
        submodel = stem if len(parts) > 1 else None
        on = f" of {stem}" if submodel else ""
        run.enter("check", on)
        checks.check_onnx_model(path)  # (2)
        run.enter("io", on)
        checks.check_io_names(path, part)  # (3)
        run.enter("dynamic-axes", on)
        checks.check_dynamic_axes_symbolic(path, part)  # (4)
        run.enter("run", on)
        _check_examples(part, model, path, run, seed, profile, submodel, example_budget)  # (5)
        checks.check_settings_unchanged(model, settings, "run", "the examples")


def _check_examples(config, model, path, run: Run, seed: int, profile: str, submodel: str | None,
                    example_budget: int) -> None:
    """Property 5 on the boundary examples, then on drawn ones; records what was tried."""
    # ONNX Runtime gets the threads torch has: the harness divides the cores between workers
    session = onnx_session(path, threads=torch.get_num_threads())
    atol = config.atol_for()
    space = ExampleSpace.of(config, budget=example_budget)
    prefix = f"{submodel}/" if submodel else ""
    tag = {key: value for key, value in (("variant", run.variant), ("submodel", submodel)) if value}
    worst: dict[str, float] = {}
    skipped: Counter = Counter()
    tried_dims: list[dict[str, int]] = []

    def check(example: Example) -> checks.ExampleResult:
        shown = {**tag, **example.shown()}
        run.tried.append(shown)
        run.tell(f"example {len(run.tried)}: {example.shown()}")
        tried_dims.append(dict(example.dims))
        run.masks.update(example.mask_kinds().values())
        elements = space.elements(example.dims)
        if run.largest is None or elements > run.largest[0]:
            run.largest = (elements, shown)
        try:
            result = checks.check_outputs_match(config, model, session, example, atol, seed=seed + 1)
        except checks.CheckFailed as failure:
            for name, diff in failure.measured.items():
                worst[name] = max(worst.get(name, 0.0), diff)
            failure.example = shown
            raise
        for name, diff in result.max_abs_diff.items():
            worst[name] = max(worst.get(name, 0.0), diff)
        skipped.update(result.skipped_positions)
        return result

    try:
        for example in strategies.boundary_examples(space):
            try:
                check(example)
            except checks.CheckFailed as failure:
                run.minimal_failing, failure = _shrink(space, example, failure, check)
                raise failure from None
        _check_drawn(space, config, check, run, seed, profile)
    finally:
        for name, diff in worst.items():
            run.outputs[prefix + name] = {"max_abs_diff": diff if math.isfinite(diff) else None, "atol": atol,
                                          **({"skipped_positions": skipped[name]} if skipped[name] else {})}
        for crossed in strategies.thresholds_crossed(space.thresholds, space.derived, tried_dims):
            key = (crossed["field"], crossed["value"])
            seen = run.thresholds.setdefault(key, {**crossed, "below": False, "above": False})
            seen["below"] |= crossed["below"]
            seen["above"] |= crossed["above"]


def _check_drawn(space: ExampleSpace, config, check, run: Run, seed: int, profile: str) -> None:
    failures: list[checks.CheckFailed] = []
    if not space.axes:  # a graph of fixed shapes (one image through a vision tower): its one shape has run
        return

    def one_example(example):
        try:
            check(example)
        except checks.CheckFailed as failure:
            failures.append(failure)
            raise

    chosen = settings.get_profile(profile)
    # A variant differs from its base in structure, which its boundary examples exercise; it
    # draws a quarter of the base's examples on top of them.
    drawn = chosen.max_examples if run.variant is None else max(2, chosen.max_examples // 4)
    prop = given(example=strategies.examples(space, avoid=config.dims()))(one_example)
    prop = settings(chosen, max_examples=drawn, deadline=None, suppress_health_check=list(HealthCheck),
                    database=None, report_multiple_bugs=False)(prop)
    prop = hypothesis_seed(seed)(prop)
    try:
        prop()
    except checks.CheckFailed:
        # hypothesis replays the shrunk, minimal failing example last
        run.minimal_failing = failures[-1].example
        raise failures[-1] from None


def _shrink(space: ExampleSpace, example: Example, failure: checks.CheckFailed, check):
    """A smaller example that still fails: each axis bisected towards its smallest size, then
    the padding dropped. Returns the shown minimal example and its failure."""
    best, best_failure = example, failure

    def fails(candidate: Example) -> checks.CheckFailed | None:
        try:
            check(candidate)
        except checks.CheckFailed as found:
            return found
        return None

    def with_dims(dims: dict[str, int]) -> Example:
        padding = {name: space.typical_padding(dims, pad.side)[name] if pad.kind != "none" else pad
                   for name, pad in best.padding.items()}
        return Example(dims, padding, best.label)

    for name in sorted(space.axes):
        axis = space.axes[name]
        step = axis.multiple_of
        low, high = axis.smallest // step, best.dims[name] // step
        while low < high:
            middle = (low + high) // 2
            candidate = with_dims({**best.dims, name: middle * step})
            found = fails(candidate) if space.allowed(candidate.dims) else None
            if found is None:
                low = middle + 1
            else:
                high, best, best_failure = middle, candidate, found
    if any(pad.kind != "none" for pad in best.padding.values()):
        unpadded = Example(best.dims, {}, best.label)
        found = fails(unpadded)
        if found is not None:
            best, best_failure = unpadded, found
    return best_failure.example, best_failure
