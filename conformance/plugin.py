"""pytest plugin of the conformance harness: options, hooks and fixtures only.

Collection comes straight from the registry, identically on every xdist worker. Each test
leaves its certificate on its report (``user_properties``), which xdist carries to the
controller. On the controller, a :class:`~conformance.session.CertificateCollector` gathers
them, turns crashed workers into cells too, and writes the matrix at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import settings

from .profiles import DEFAULT_PROFILE

CERTIFICATE_KEY = "exportkit-certificate"
# The slowest published case took 45 s on two busy cores (p99 40 s, with up to seven models
# per case): four times that bounds a healthy case on a slower machine.
DEFAULT_CASE_TIMEOUT = 180.0
SELECTION = pytest.StashKey()
BASELINE = pytest.StashKey()  # (path as given, the loaded matrix): on the controller, with --baseline


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "exportkit conformance harness")
    group.addoption("--library", help="certify only these libraries (comma-separated)")
    group.addoption("--model-type", help="certify only model types matching this glob (comma-separated)")
    group.addoption("--exporter", help="certify only this exporter (e.g. onnx)")
    group.addoption("--engine", help="certify only these engines: dynamo, torchscript")
    group.addoption("--task", help="certify only tasks matching this glob (comma-separated)")
    group.addoption("--conformance-seed", type=int, default=0, help="seed of tiny models, inputs and hypothesis, >= 0 (default 0)")
    group.addoption("--case-timeout", type=float, default=DEFAULT_CASE_TIMEOUT,
                    help=f"seconds one case may take before it is recorded as timed out (default "
                         f"{DEFAULT_CASE_TIMEOUT:g})")
    group.addoption("--example-budget", type=int, default=None,
                    help="elements of all inputs of one example; larger draws are shrunk to it (default 2**20)")
    group.addoption("--memory-budget", type=float, default=None,
                    help="GiB one case may allocate; past it the case fails at stage 'memory' (default 4)")
    group.addoption("--sample", action="store_true",
                    help="certify only the cheapest case of every config class on every engine (a partial run)")
    group.addoption("--shard", metavar="I/N",
                    help="run the I-th of N cost-balanced shares of the selected cases (writes a partial file)")
    group.addoption("--matrix-dir", default=None,
                    help="where a complete run writes support-matrix.json and .html (default: reports/ under the "
                         "rootdir)")
    group.addoption("--partial-dir", default=None,
                    help="where a filtered or sharded run writes its partial file (default: "
                         "conformance-artefacts/partials/ under the rootdir); `python -m reports merge` joins them")
    group.addoption("--no-matrix", action="store_true", help="write neither the matrix nor a partial file")
    group.addoption("--baseline", metavar="MATRIX.json", default=None,
                    help="compare the run with this matrix: the run fails when a cell certified there is not now, "
                         "or a new cell fails; known failures do not fail it")
    group.addoption("--no-progress", action="store_true",
                    help="no live progress (cells done, counts by status, time left) while the cases run")


def published_matrix(config) -> Path:
    """The published matrix: where a complete run writes, and whose durations balance shards."""
    return Path(config.rootpath) / "reports" / "support-matrix.json"


@pytest.hookimpl(tryfirst=True)  # before hypothesis's own plugin loads the profile
def pytest_configure(config):
    check_options(config)
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile(DEFAULT_PROFILE)
    from .selection import Selection

    try:
        selection = Selection.from_options(config.getoption)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    if not selection.complete and not selection.cases(costs_from=published_matrix(config)):
        raise pytest.UsageError(f"no registered case matches {selection.describe()}; "
                                "`exportkit tasks MODEL_TYPE` lists what is registered")
    config.stash[SELECTION] = selection
    if hasattr(config, "workerinput"):
        from .cores import share_cores

        share_cores(config.workerinput["workercount"])
    else:
        register_controller(config, selection)


def register_controller(config, selection) -> None:
    """The controller's plugins: the certificate collector (the matrix, the baseline gate) and the
    live progress."""
    from .session import CertificateCollector

    progress = None
    if not config.getoption("no_progress"):
        from .progress import Progress, ProgressReporter
        from .shards import case_costs, recorded_costs

        def costs():  # what each case took in the published matrix weights the estimate of the time left
            cases = selection.cases(costs_from=published_matrix(config))
            return case_costs(cases, recorded_costs(published_matrix(config)))

        progress = Progress(costs)
        config.pluginmanager.register(ProgressReporter(config, progress), "exportkit-progress")
    baseline = config.stash.get(BASELINE, None)
    if config.getoption("no_matrix") and baseline is None and progress is None:
        return
    chosen, partial = config.getoption("matrix_dir"), config.getoption("partial_dir")
    out_dir = Path(chosen) if chosen else published_matrix(config).parent
    partial_dir = Path(partial) if partial else Path(config.rootpath) / "conformance-artefacts" / "partials"
    from .stages import StageLog

    stages = StageLog.create()
    config.pluginmanager.register(
        CertificateCollector(config, selection, out_dir, partial_dir, write=not config.getoption("no_matrix"),
                             baseline=baseline, progress=progress, stages=stages),
        "exportkit-certificates")


def check_options(config) -> None:
    """Bad option values are a usage error naming the option (pytest exit status 4), not a crash
    or a matrix of failed cells."""
    import math

    profile = config.getoption("hypothesis_profile", None)
    if profile is not None:
        try:
            settings.get_profile(profile)
        except Exception:  # hypothesis raises InvalidArgument for an unregistered name
            from .profiles import PROFILES

            raise pytest.UsageError(f"--hypothesis-profile {profile!r} is not a profile; the harness has "
                                    f"{', '.join(PROFILES)}") from None
    positive = {"case_timeout": "--case-timeout", "memory_budget": "--memory-budget",
                "example_budget": "--example-budget"}
    for dest, flag in positive.items():
        value = config.getoption(dest)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise pytest.UsageError(f"{flag} must be a finite number > 0, not {value}")
    if config.getoption("conformance_seed") < 0:
        raise pytest.UsageError(f"--conformance-seed must be >= 0, not {config.getoption('conformance_seed')}")
    for dest, flag in (("matrix_dir", "--matrix-dir"), ("partial_dir", "--partial-dir")):
        chosen = config.getoption(dest)
        if chosen is not None and Path(chosen).exists() and not Path(chosen).is_dir():
            raise pytest.UsageError(f"{flag} {chosen} exists and is not a directory")
    baseline = config.getoption("baseline")
    if baseline is not None and not hasattr(config, "workerinput"):  # the controller alone compares
        from .baseline import load_baseline

        try:
            config.stash[BASELINE] = (baseline, load_baseline(baseline))
        except ValueError as error:
            raise pytest.UsageError(f"--baseline: {error}") from None


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    config = metafunc.config
    cases = config.stash[SELECTION].cases(costs_from=published_matrix(config))
    marks = []
    if hasattr(metafunc.config, "workerinput"):
        # Backstop for a hang in native code, which --case-timeout (a Python signal) cannot
        # interrupt: pytest-timeout ends the worker, and the controller records the cell.
        marks.append(pytest.mark.timeout(hard_timeout(metafunc.config), method="thread"))
    metafunc.parametrize("case", [pytest.param(case, id=case.id, marks=marks) for case in cases])


def hard_timeout(config) -> float:
    return config.getoption("case_timeout") * 1.5 + 120


@pytest.fixture
def certificate(request):
    """Attach a certificate record to this test's report (it travels to the xdist controller)."""

    def attach(record: dict) -> None:
        request.node.user_properties.append((CERTIFICATE_KEY, json.dumps(record)))

    return attach


@pytest.fixture
def certify_options(request, tmp_path, case):
    from .memory import DEFAULT_MEMORY_BUDGET
    from .stages import WORKERINPUT_KEY, StageLog
    from .strategies import DEFAULT_EXAMPLE_BUDGET

    opt = request.config.getoption
    memory_gib = opt("memory_budget")
    workerinput = getattr(request.config, "workerinput", {})
    on_stage = None
    if WORKERINPUT_KEY in workerinput:  # tell the controller where this worker is, should it die
        on_stage = StageLog(Path(workerinput[WORKERINPUT_KEY])).writer(workerinput["workerid"], case.id)
    return {
        "on_stage": on_stage,
        "profile": settings.get_current_profile_name(),
        "seed": opt("conformance_seed"),
        "time_limit_s": opt("case_timeout"),
        "workdir": tmp_path,
        "example_budget": opt("example_budget") or DEFAULT_EXAMPLE_BUDGET,
        "memory_budget": int(memory_gib * 2**30) if memory_gib else DEFAULT_MEMORY_BUDGET,
    }
