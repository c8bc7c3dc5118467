"""The certifier's own tests: its checks can fail, its strategies follow the axis specs,
and a run leaves one matrix cell per collected test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings

from conformance.cases import Case, all_cases, select_cases
from conformance.certify import base_record, certify
from conformance.session import case_id_of
from conformance.strategies import axis_sizes, draw_ceiling, input_dims, smallest_dims
from conformance.zoo import build_tiny_model
from exportkit.axes import Axis
from exportkit.exporters.onnx.models.encoders import BertOnnxConfig

REPO = Path(__file__).resolve().parents[1]


# ---- collection -----------------------------------------------------------------------------

def test_every_registration_is_a_case_per_engine():
    from exportkit import TasksManager

    cases = all_cases()
    assert len(cases) == 2 * len(TasksManager.list_registrations())
    assert len({case.id for case in cases}) == len(cases)
    assert "transformers/bert/onnx-dynamo/text-classification" in {case.id for case in cases}
    assert cases == sorted(cases, key=lambda case: case.id)  # identical order on every worker


def test_case_selection_globs():
    cases = select_cases(all_cases(), model_type="gpt*", engine="torchscript", task="*-with-past")
    assert cases and all(c.model_type == "gpt2" and c.engine == "torchscript" and c.task.endswith("-with-past")
                         for c in cases)
    assert select_cases(all_cases(), library="diffusers,timm") == [
        c for c in all_cases() if c.library in ("diffusers", "timm")]


def test_case_id_is_read_back_from_node_ids():
    nodeid = "conformance/test_certify.py::test_certify[transformers/t5/onnx-dynamo/text2text-generation-with-past]"
    assert case_id_of(nodeid) == "transformers/t5/onnx-dynamo/text2text-generation-with-past"
    assert case_id_of("tests/test_axes.py::test_x") is None


# ---- strategies -----------------------------------------------------------------------------

SEQUENCE = Axis("sequence_length", default=16, min=1, max=24)
HEIGHT = Axis("height", default=64, min=32, max=512, multiple_of=8)


@settings(max_examples=50, deadline=None)
@given(dims=input_dims({"sequence_length": SEQUENCE, "height": HEIGHT}, avoid={"sequence_length": 16, "height": 64}))
def test_drawn_sizes_respect_the_axis_specs(dims):
    assert SEQUENCE.accepts(dims["sequence_length"]) and dims["sequence_length"] <= draw_ceiling(SEQUENCE)
    assert HEIGHT.accepts(dims["height"]) and dims["height"] % 8 == 0
    assert dims != {"sequence_length": 16, "height": 64}


def test_strategy_builders_validate_their_arguments():
    with pytest.raises(TypeError):
        axis_sizes("batch_size")
    with pytest.raises(ValueError, match="not chosen by the caller"):
        axis_sizes(Axis.static("channels", 3))
    assert smallest_dims({"height": HEIGHT, "past": Axis("past", default=8, min=0)}) == {"height": 32, "past": 0}


# ---- the checks can fail ----------------------------------------------------------------------

def _bert_build(config_cls):
    def build(case: Case, seed: int):
        tiny = build_tiny_model("transformers", "bert", case.task, seed=seed)
        return tiny.model, config_cls(tiny.config, task=case.task)
    return build


class ClassifierWithFakeDynamicOutput(BertOnnxConfig):
    """Declares the label axis of the logits dynamic, though the model fixes it."""

    _TASK_TO_OUTPUTS = {**BertOnnxConfig._TASK_TO_OUTPUTS, "text-classification": {"logits": ("batch_size", "sequence_length")}}


class SequenceBakedIn(BertOnnxConfig):
    """Reads the sequence length as a Python int while tracing: the export fixes it."""

    def call_model(self, model, kwargs):
        length = int(kwargs["input_ids"].shape[1])
        kwargs = {name: value[:, :length] + 0 * value[:, :1] for name, value in kwargs.items()}
        ids = kwargs["input_ids"].reshape(-1, length)
        return model(input_ids=ids, attention_mask=kwargs["attention_mask"].reshape(-1, length),
                     token_type_ids=kwargs["token_type_ids"].reshape(-1, length))


CASE = Case("transformers", "bert", "onnx", "dynamo", "text-classification")


def test_a_fixed_axis_declared_dynamic_fails_property_4():
    record = certify(CASE, build=_bert_build(ClassifierWithFakeDynamicOutput))
    assert record["status"] == "failed"
    assert record["stage"] == "dynamic-axes"
    assert "logits[1]" in record["reason"]


def test_a_baked_in_sequence_length_fails_property_5():
    torchscript = Case("transformers", "bert", "onnx", "torchscript", "text-classification")
    record = certify(torchscript, build=_bert_build(SequenceBakedIn))
    assert record["status"] == "failed", record
    assert record["stage"] in ("run", "shapes", "compare")
    shape = record["minimal_failing_shape"]
    assert shape is not None and shape["sequence_length"] != 16  # export length 16 would pass
    assert record["reproduce"].startswith("pytest 'conformance/test_certify.py::test_certify[")


def test_a_sound_export_is_certified_with_measurements():
    record = certify(Case("transformers", "bert", "onnx", "torchscript", "text-classification"),
                     build=_bert_build(BertOnnxConfig))
    assert record["status"] == "certified", record["error"]
    assert record["stage"] is None
    diff = record["outputs"]["logits"]
    assert 0 <= diff["max_abs_diff"] <= diff["atol"]
    sizes = record["shapes_tried"]
    assert {"batch_size": 1, "sequence_length": 1} in sizes
    assert {"batch_size": 2, "sequence_length": 16} not in sizes  # never the export's own sizes
    assert record["opset"] and record["artefact_bytes"] > 0 and record["export_seconds"] > 0
    assert record["versions"]["torch"] == torch.__version__.split("+")[0]


def test_a_build_error_is_a_failed_cell_not_an_exception():
    def broken(case, seed):
        raise RuntimeError("no such model")

    record = certify(CASE, build=broken)
    assert (record["status"], record["stage"]) == ("failed", "build")
    assert "no such model" in record["reason"]


def test_a_hang_becomes_a_timeout_cell():
    def slow(case, seed):
        import time

        time.sleep(30)

    record = certify(CASE, build=slow, time_limit_s=0.5)
    assert record["status"] == "timeout"
    assert "build" in record["reason"]


# ---- a whole run ----------------------------------------------------------------------------

CRASHING_PLUGIN = """
import os
import conformance.certify as certify

real_build = certify.build_from_zoo

def build_or_die(case, seed):
    if case.id == {crash_id!r}:
        os.abort()  # a native crash: the worker process dies without reporting
    return real_build(case, seed)

certify.build_from_zoo = build_or_die
"""


@pytest.mark.slow
def test_a_run_writes_one_cell_per_collected_test_even_when_a_worker_dies(tmp_path):
    """Through pytest and xdist: a selection, a certified case and a case whose worker crashes."""
    crash_id = "transformers/distilbert/onnx-torchscript/fill-mask"
    (tmp_path / "crash_one_case.py").write_text(CRASHING_PLUGIN.format(crash_id=crash_id))
    command = [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-p", "crash_one_case",
               "-q", "-n", "2", "--model-type", "distilbert", "--task", "text-classification,fill-mask",
               "--engine", "torchscript", "--matrix-dir", str(tmp_path / "matrix")]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 1, done.stdout[-3000:]  # one failed cell, and the session still finished
    matrix = json.loads((tmp_path / "matrix" / "support-matrix.json").read_text())
    assert (tmp_path / "matrix" / "support-matrix.html").exists()
    statuses = {cell["id"]: cell["status"] for cell in matrix["cells"]}
    assert statuses == {
        "transformers/distilbert/onnx-torchscript/text-classification": "certified",
        crash_id: "crashed",
    }, done.stdout[-3000:]
    assert matrix["summary"]["total"] == 2
    assert "2 cells" in done.stdout


class _Report:
    """The parts of a pytest TestReport the collector reads."""

    def __init__(self, nodeid, *, outcome="passed", when="call", user_properties=(), longrepr=None):
        self.nodeid, self.when, self.user_properties, self.longrepr = nodeid, when, list(user_properties), longrepr
        self.failed, self.skipped, self.passed = outcome == "failed", outcome == "skipped", outcome == "passed"


class _Config:
    def getoption(self, name):
        return {"conformance_seed": 0, "case_timeout": 600.0}[name]


def test_collector_makes_a_cell_of_every_collected_test(tmp_path):
    from conformance.plugin import CERTIFICATE_KEY
    from conformance.session import CertificateCollector

    cases = select_cases(all_cases(), model_type="gpt2", task="text-generation*")
    nodeids = [f"conformance/test_certify.py::test_certify[{case.id}]" for case in cases]
    collector = CertificateCollector(_Config(), tmp_path)
    collector.pytest_xdist_node_collection_finished(node=None, ids=nodeids)
    collector.pytest_xdist_node_collection_finished(node=None, ids=nodeids)  # a second worker: same ids

    certified = {**base_record(cases[0], profile="ci", seed=0), "status": "certified"}
    collector.pytest_runtest_logreport(_Report(nodeids[0], user_properties=[(CERTIFICATE_KEY, json.dumps(certified))]))
    collector.pytest_runtest_logreport(_Report(
        nodeids[1], outcome="failed", longrepr="[gw1] node down: Not properly terminated\nworker 'gw1' crashed while running"))
    collector.pytest_runtest_logreport(_Report(
        nodeids[2], outcome="failed", longrepr="+++ Timeout +++\nworker 'gw0' crashed while running"))
    collector.pytest_sessionfinish(session=None)  # nodeids[3] never reported: the session ended early

    matrix = json.loads((tmp_path / "support-matrix.json").read_text())
    statuses = {cell["id"]: cell["status"] for cell in matrix["cells"]}
    assert len(statuses) == len(nodeids) == 4
    assert statuses[cases[0].id] == "certified"
    assert statuses[cases[1].id] == "crashed"
    assert statuses[cases[2].id] == "timeout"
    assert statuses[cases[3].id] == "skipped"
    crashed = next(c for c in matrix["cells"] if c["id"] == cases[1].id)
    assert "worker process died" in crashed["reason"] and "crashed while running" in crashed["error"]


def test_an_unmet_minimum_version_is_a_skipped_cell():
    from packaging import version

    class NeedsFutureTorch(BertOnnxConfig):
        MIN_TORCH_VERSION = version.parse("99.0")

    record = certify(CASE, build=_bert_build(NeedsFutureTorch))
    assert (record["status"], record["stage"]) == ("skipped", "build")
    assert "needs torch >= 99.0" in record["reason"]
