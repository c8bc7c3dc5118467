"""The certifier's --baseline gate: its decision, the controller's collector deciding a session's exit
status from hand-made certificates, and one real run under xdist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.baseline import compare, exit_status, summary_lines
from conformance.plugin import CERTIFICATE_KEY
from conformance.selection import Selection
from conformance.session import CertificateCollector
from reports import build_matrix, load_matrix, write_matrix

REPO = Path(__file__).resolve().parents[1]
OK, FAILED = pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED

# Real case ids: the collector checks them against the registry.
FILL, TEXT, QA, TOKEN, CHOICE = (f"transformers/bert/onnx-torchscript/{task}" for task in (
    "fill-mask", "text-classification", "question-answering", "token-classification", "multiple-choice"))
OTHER = "transformers/bert/onnx-dynamo/fill-mask"  # in the baseline, not selected by the runs below


def record(case_id: str, status: str = "certified", stage: str | None = None, reason: str | None = None) -> dict:
    library, model_type, column, task = case_id.split("/")
    return {"id": case_id, "library": library, "model_type": model_type, "exporter": "onnx",
            "engine": column.split("-", 1)[1], "column": column, "task": task, "status": status,
            "stage": stage if status != "certified" else None, "reason": reason, "error": None}


BASELINE = build_matrix([record(FILL), record(TEXT, "failed", "compare", "max abs diff 3e-3"),
                         record(QA, "xfail", "capture", "declared"), record(OTHER)],
                        versions={}, generated_at="2025-06-01T12:00:00Z")


class Terminal:
    def __init__(self):
        self.lines: list[str] = []

    def write_sep(self, sep, title, **markup):
        self.lines.append(f"== {title} ==")

    def write_line(self, line, **markup):
        self.lines.append(line)


def report(case_id: str | None, rec: dict | None = None, *, failed: bool = False, when: str = "call"):
    nodeid = f"conformance/test_certify.py::test_certify[{case_id}]" if case_id else "tests/test_x.py::test_x"
    return SimpleNamespace(nodeid=nodeid, when=when, failed=failed, skipped=False, longrepr=None,
                           user_properties=[(CERTIFICATE_KEY, json.dumps(rec))] if rec else [])


def run_collector(tmp_path: Path, records: list[dict], *, exitstatus=FAILED, baseline=BASELINE, extra_reports=(),
                  write=True):
    """A controller session of the cases of ``records``: what the gate leaves as exit status, and the summary."""
    options = {"conformance_seed": 0, "collectonly": False}
    config = SimpleNamespace(getoption=options.__getitem__)
    collector = CertificateCollector(config, Selection(model_type="bert"), tmp_path / "matrix", tmp_path / "partials",
                                     write=write, baseline=None if baseline is None else ("baseline.json", baseline))
    collector.pytest_collection_finish(SimpleNamespace(items=[
        SimpleNamespace(nodeid=report(r["id"]).nodeid) for r in records]))
    for rec in records:
        collector.pytest_runtest_logreport(report(rec["id"], rec, failed=rec["status"] != "certified"))
    for extra in extra_reports:
        collector.pytest_runtest_logreport(extra)
    session = SimpleNamespace(exitstatus=exitstatus)
    collector.pytest_sessionfinish(session)
    terminal = Terminal()
    collector.pytest_terminal_summary(terminal)
    return session.exitstatus, terminal.lines, collector


def test_known_failures_do_not_fail_the_session(tmp_path):
    status, lines, _ = run_collector(tmp_path, [
        record(FILL), record(TEXT, "failed", "capture", "another cause"), record(QA, "xfail", "capture", "declared")])
    assert status == OK  # pytest said 1: the failing test was already failing in the baseline
    assert lines[-1] == "baseline gate: passed: no regression (2 cells as in the baseline)"
    assert f"changed cause: {TEXT}: failed -> failed at capture: another cause (was compare: max abs diff 3e-3)" \
        in lines
    assert not any(OTHER in line for line in lines)  # not selected: neither removed nor compared


def test_a_regression_fails_the_session_and_is_named(tmp_path):
    status, lines, collector = run_collector(tmp_path, [
        record(FILL, "failed", "run", "onnxruntime error"), record(TEXT, "failed", "compare", "max abs diff 3e-3")],
        exitstatus=FAILED)
    assert status == FAILED
    assert f"regressed: {FILL}: certified -> failed at run: onnxruntime error" in lines
    assert lines[-1] == "baseline gate: FAILED: 1 regression"
    page = collector.html_path.read_text(encoding="utf-8")
    assert "Changes since" in page and 'data-change-count="regressions">1<' in page
    assert "partial" in collector.json_path.name and load_matrix(collector.json_path)["cells"]


def test_a_certified_cell_that_is_now_skipped_fails_a_passing_session(tmp_path):
    status, lines, _ = run_collector(tmp_path, [record(FILL, "skipped", None, "not run")], exitstatus=OK)
    assert status == FAILED and lines[-1] == "baseline gate: FAILED: 1 regression"


def test_a_fix_is_reported_and_passes(tmp_path):
    status, lines, _ = run_collector(tmp_path, [record(FILL), record(TEXT)], exitstatus=OK)
    assert status == OK
    assert f"fixed: {TEXT}: failed -> certified (was compare: max abs diff 3e-3)" in lines
    assert lines[-1] == "baseline gate: passed: no regression, 1 fixed (1 cell as in the baseline)"


def test_new_cells_fail_the_session_when_they_fail_not_when_declared(tmp_path):
    failing, lines, _ = run_collector(tmp_path, [record(FILL), record(TOKEN, "timeout", "run", "timed out")])
    assert failing == FAILED and lines[-1] == "baseline gate: FAILED: 1 new cell failing"
    assert f"new cell: {TOKEN}: new -> timeout at run: timed out" in lines
    declared, _, _ = run_collector(tmp_path, [record(FILL), record(CHOICE, "xfail", "capture", "declared"),
                                              record(TOKEN)])
    assert declared == OK


def test_without_a_baseline_the_exit_status_is_pytests(tmp_path):
    status, lines, collector = run_collector(tmp_path, [record(TEXT, "failed", "compare", "max abs diff 3e-3")],
                                             baseline=None)
    assert status == FAILED and collector.diff is None
    assert not any("baseline gate" in line or "exportkit baseline" in line for line in lines)
    status, _, _ = run_collector(tmp_path, [record(FILL)], exitstatus=OK, baseline=None)
    assert status == OK


def test_the_gate_needs_no_matrix_written(tmp_path):
    status, lines, _ = run_collector(tmp_path, [record(FILL, "failed", "run", "x")], exitstatus=FAILED, write=False)
    assert status == FAILED and lines[-1] == "baseline gate: FAILED: 1 regression"
    assert not any("exportkit support matrix" in line for line in lines)
    assert not (tmp_path / "partials").exists() and not (tmp_path / "matrix").exists()


def test_a_failing_test_that_is_no_case_is_never_hidden(tmp_path):
    status, _, _ = run_collector(tmp_path, [record(FILL)], extra_reports=[report(None, failed=True)])
    assert status == FAILED


@pytest.mark.parametrize("current", [pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR,
                                     pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED])
def test_the_gate_judges_only_runs_that_finished(current):
    diff = compare(BASELINE, BASELINE, name="b", selected=[FILL], complete=False)
    assert exit_status(current, diff) == current
    assert exit_status(FAILED, diff) == OK and exit_status(FAILED, diff, other_failures=1) == FAILED


def test_removed_cells_are_reported_by_a_complete_run_only():
    now = build_matrix([record(FILL)], versions={})
    partial = compare(BASELINE, now, name="b", selected=[FILL], complete=False)
    assert not partial.removed and partial.unchanged == 1
    complete = compare(BASELINE, now, name="b", selected=[FILL], complete=True)
    assert [c.id for c in complete.removed] == sorted([TEXT, QA, OTHER])
    assert summary_lines(complete)[-1].startswith("baseline gate: passed")  # removed cells do not fail it


def test_a_partial_baseline_speaks_for_its_own_cells_only():
    partial = build_matrix([record(FILL)], versions={}, partial={"selection": "--task fill-mask", "shard": None,
                                                                 "registry_ids": [FILL, TEXT]})
    now = build_matrix([record(FILL), record(TEXT, "failed", "run", "x")], versions={})
    diff = compare(partial, now, name="b", selected=[FILL, TEXT], complete=True)
    assert not diff.new and not diff.blocking and diff.compared == 1  # TEXT's baseline status is unknown


# ---- one real run ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_real_run_under_xdist_exits_by_the_gate(tmp_path):
    """A case that cannot finish in its time limit fails its test; the baseline knew it as a timeout, so
    the session passes. xdist's controller returns the gate's exit status."""
    baseline = build_matrix([record(TEXT, "timeout", "build", "timed out"), record(OTHER)], versions={})
    path = write_matrix(baseline, tmp_path / "baseline")[0]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-n", "1", "--model-type", "bert",
         "--task", "text-classification", "--engine", "torchscript", "--case-timeout", "0.01",
         "--baseline", str(path), "--partial-dir", str(tmp_path / "partials")],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 failed" in done.stdout  # pytest's own count: the test did fail
    assert "baseline gate: passed: no regression" in done.stdout
    assert OTHER not in done.stdout  # in the baseline, not selected
    assert "certifier: 1/1 cells (100%): 1 timeout; done in" in done.stdout  # the progress, as a plain line
    page = (tmp_path / "partials" / "partial.html").read_text(encoding="utf-8")
    assert "Changes since" in page
