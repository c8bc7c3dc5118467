"""The controller's side of a conformance run: gather certificates, write the matrix.

Registered as a plugin object on the controller only (the process that reports results,
with or without xdist). Every collected test becomes exactly one cell: a certificate it
attached, or, when its worker crashed or it never ran, a record made here from its report.
With ``--baseline`` the cells are compared with the baseline matrix at the end and the
session's exit status is the gate's (:mod:`conformance.baseline`); each cell recorded is told
to the live progress (:mod:`conformance.progress`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reports.matrix import NOT_RUN_REASON, printable

from .plugin import CERTIFICATE_KEY

CASE_ID = re.compile(r"test_certify\[(?P<id>.+)\]$")


def case_id_of(nodeid: str) -> str | None:
    match = CASE_ID.search(nodeid)
    return match.group("id") if match else None


class CertificateCollector:
    """``out_dir`` receives the published matrix of a complete run; ``partial_dir`` the partial
    file of any other (filtered, sharded, deselected with ``-k``)."""

    def __init__(self, config, selection, out_dir: Path, partial_dir: Path, *, write: bool = True,
                 baseline: tuple[str, dict] | None = None, progress=None, stages=None):
        self.config = config
        self.selection = selection
        self.out_dir = out_dir
        self.partial_dir = partial_dir
        self.write = write  # False with --no-matrix
        self.baseline = baseline  # (its path as given, the matrix)
        self.progress = progress
        self.stages = stages  # each worker's current case and stage (a StageLog), read when one dies
        self.expected: list[str] = []  # case ids collected (after selection), in order
        self.records: dict[str, dict] = {}
        self.other_failures = 0  # failed tests that are not cases: the gate never hides them
        self.diff = None
        self._cases: dict | None = None

    # ---- what was collected --------------------------------------------------------------

    def _expect(self, nodeids) -> None:
        for nodeid in nodeids:
            case_id = case_id_of(nodeid)
            if case_id and case_id not in self.expected:
                self.expected.append(case_id)
        if self.progress is not None:
            self.progress.expect(self.expected)

    def pytest_unconfigure(self, config):
        if self.stages is not None:
            self.stages.remove()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        if self.stages is not None:
            from .stages import WORKERINPUT_KEY

            node.workerinput[WORKERINPUT_KEY] = str(self.stages.directory)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self._expect(ids)  # every worker collects the same ids; duplicates are ignored

    def pytest_collection_finish(self, session):
        self._expect(item.nodeid for item in session.items)

    # ---- results -------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report):
        case_id = case_id_of(report.nodeid)
        if case_id is None:
            self.other_failures += bool(report.failed)
            return
        for key, value in report.user_properties:
            if key == CERTIFICATE_KEY:
                self._record(case_id, json.loads(value))
                return
        if report.failed and case_id not in self.records:
            # No certificate: the worker died (native crash, or the hard timeout killed it)
            # or the test broke before it could certify.
            text = str(report.longrepr or "")
            status = "timeout" if "Timeout" in text else "crashed"
            reason, stage = None, None
            if "crashed while running" in text:
                from .plugin import hard_timeout

                place = self._where_it_died(report, text, case_id)
                stage = place and place["stage"]
                at = f" at stage {stage}" + (f" of variant {place['variant']}" if place["variant"] else "") if place else ""
                reason = (f"the worker process died while running this case{at} (a native crash, or the hard "
                          f"timeout of {hard_timeout(self.config):g} s)")
            record = self._record_without_certificate(case_id, status, text, reason)
            record["stage"] = stage
            self._record(case_id, record)
        elif report.skipped and report.when == "setup" and case_id not in self.records:
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self._record(case_id, self._record_without_certificate(case_id, "skipped", reason))

    def _where_it_died(self, report, text: str, case_id: str) -> dict | None:
        """The dead worker's last stage of this case, from the stage log."""
        node = getattr(report, "node", None)
        worker = getattr(node, "workerinput", {}).get("workerid") if node is not None else None
        if worker is None:  # xdist names it in its message: "worker 'gw1' crashed while running"
            match = re.search(r"worker '([^']+)' crashed", text)
            worker = match.group(1) if match else None
        if worker is None or self.stages is None:
            return None
        return self.stages.last(worker, case_id)

    def _record(self, case_id: str, record: dict) -> None:
        self.records[case_id] = record
        if self.progress is not None:
            self.progress.done(case_id, record["status"])

    def _case(self, case_id: str):
        from .cases import all_cases

        if self._cases is None:
            self._cases = {case.id: case for case in all_cases()}
        return self._cases[case_id]

    def _record_without_certificate(self, case_id: str, status: str, text: str, reason: str | None = None) -> dict:
        from .certify import base_record

        opt = self.config.getoption
        record = base_record(self._case(case_id), profile=_profile_name(), seed=opt("conformance_seed"))
        lines = [line for line in text.strip().splitlines() if line.strip()]
        record.update(status=status, reason=(reason or (lines[-1] if lines else status))[:300],
                      error=text[-4000:] or None)
        return record

    # ---- the matrix ----------------------------------------------------------------------

    def pytest_sessionfinish(self, session):
        if not self.expected or self.config.getoption("collectonly"):
            return  # nothing was meant to run: a collection is no matrix
        not_run = [case_id for case_id in self.expected if case_id not in self.records]
        for case_id in not_run:
            self.records[case_id] = self._record_without_certificate(case_id, "skipped", NOT_RUN_REASON)
        if not self.write and self.baseline is None:
            return
        from reports import build_matrix, write_matrix

        from .cases import all_cases
        from .certify import library_versions
        from .selection import registry_fingerprint

        registry = all_cases()
        registry_ids = sorted(case.id for case in registry)
        # an interrupted run (-x, Ctrl-C, a crash of the session) measured only some cells: a partial file
        complete = self.selection.complete and sorted(self.expected) == registry_ids and not not_run
        meta = {"versions": library_versions(), "profile": _profile_name(),
                "seed": self.config.getoption("conformance_seed"),
                "registry": {"fingerprint": registry_fingerprint(registry), "size": len(registry_ids)}}
        records = [self.records[i] for i in self.expected]
        if complete:
            matrix = build_matrix(records, **meta)
            out_dir, basename = self.out_dir, "support-matrix"
        else:
            shard = self.selection.shard
            matrix = build_matrix(records, **meta, partial={
                "selection": self._selection_text(not_run),
                "shard": str(shard) if shard else None, "registry_ids": registry_ids})
            out_dir, basename = self.partial_dir, shard.stem if shard else "partial"
        if self.baseline is not None:
            from .baseline import compare, exit_status

            name, baseline = self.baseline
            self.diff = compare(baseline, matrix, name=name, selected=self.expected, complete=complete)
            session.exitstatus = exit_status(session.exitstatus, self.diff, other_failures=self.other_failures)
        if self.write:
            self.json_path, self.html_path = write_matrix(matrix, out_dir, basename=basename, diff=self.diff)
            self.summary = matrix["summary"]
            self.partial_selection = None if complete else matrix["partial"]["selection"]

    def _selection_text(self, not_run: list[str]) -> str:
        interrupted = f"interrupted: {len(not_run)} of {len(self.expected)} selected cases not run" if not_run else ""
        return "; ".join(part for part in (self.selection.describe(), interrupted) if part) or "a deselection (-k / -m)"

    def pytest_terminal_summary(self, terminalreporter):
        self._matrix_summary(terminalreporter)
        if self.diff is not None:  # last: the verdict sits above pytest's own final line
            from .baseline import summary_lines

            terminalreporter.write_sep("=", f"exportkit baseline: changes since {printable(self.baseline[0])}")
            for line in summary_lines(self.diff):
                terminalreporter.write_line(line, red=line.startswith(("regressed", "baseline gate: FAILED")))

    def _matrix_summary(self, terminalreporter):
        summary = getattr(self, "summary", None)
        if summary is None:
            return
        counts = ", ".join(f"{n} {status}" for status, n in summary["by_status"].items() if status != "total" and n)
        terminalreporter.write_sep("=", "exportkit support matrix")
        terminalreporter.write_line(f"{summary['total']} cells: {counts}")
        if self.partial_selection:
            terminalreporter.write_line(f"a partial run ({self.partial_selection}): the "
                                        "published matrix is left as it is; merge shards with "
                                        "`python -m reports merge PART...`, or merge it onto the published "
                                        "matrix with `python -m reports merge --onto "
                                        "reports/support-matrix.json PART... --out reports`")
        terminalreporter.write_line(f"written: {self.json_path}")
        terminalreporter.write_line(f"         {self.html_path}")


def _profile_name() -> str:
    from hypothesis import settings

    return settings.get_current_profile_name()
