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
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cases import Case, all_cases, select_cases
from conformance.certify import base_record, certify
from conformance.session import case_id_of
from conformance.strategies import (
    UNBOUNDED_CEILING,
    ExampleSpace,
    axis_sizes,
    boundary_examples,
    ceiling,
    examples,
)
from conformance.zoo import build_tiny_model
from reports import load_matrix
from exportkit.axes import Axis
from exportkit.exporters.onnx import ENGINES
from exportkit.exporters.onnx.models.encoders import BertOnnxConfig
from exportkit.padding import Padding
from exportkit.thresholds import Threshold

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
    cases = select_cases(all_cases(), model_type="gpt2", engine="torchscript", task="*-with-past")
    assert cases and all(c.model_type == "gpt2" and c.engine == "torchscript" and c.task.endswith("-with-past")
                         for c in cases)
    assert {c.model_type for c in select_cases(all_cases(), model_type="*bert*")} >= {"bert", "roberta", "modernbert"}
    assert select_cases(all_cases(), library="diffusers,timm") == [
        c for c in all_cases() if c.library in ("diffusers", "timm")]
    # transformers' spelling of a model type selects what the registry's does
    hyphens = select_cases(all_cases(), model_type="xlm-roberta,qwen3-moe")
    assert {c.model_type for c in hyphens} == {"xlm-roberta", "qwen3-moe"}
    assert select_cases(all_cases(), model_type="xlm_roberta,Qwen3_MoE") == hyphens


def test_case_id_is_read_back_from_node_ids():
    nodeid = "conformance/test_certify.py::test_certify[transformers/t5/onnx-dynamo/text2text-generation-with-past]"
    assert case_id_of(nodeid) == "transformers/t5/onnx-dynamo/text2text-generation-with-past"
    assert case_id_of("tests/test_axes.py::test_x") is None


# ---- strategies -----------------------------------------------------------------------------

SEQUENCE = Axis("sequence_length", default=16, min=1, max=24)
HEIGHT = Axis("height", default=64, min=32, max=512, multiple_of=8)


@settings(max_examples=50, deadline=None)
@given(size=axis_sizes(HEIGHT))
def test_drawn_sizes_respect_the_axis_specs(size):
    assert HEIGHT.accepts(size) and size % 8 == 0


def test_strategy_builders_validate_their_arguments():
    with pytest.raises(TypeError):
        axis_sizes("batch_size")
    with pytest.raises(ValueError, match="not chosen by the caller"):
        axis_sizes(Axis.static("channels", 3))
    with pytest.raises(ValueError, match="budget"):
        ExampleSpace.of(_bert_config("text-classification"), budget=0)


def test_an_unbounded_axis_is_drawn_past_its_thresholds():
    unbounded = Axis("encoder_sequence_length", default=16, min=1)
    assert ceiling(unbounded) == UNBOUNDED_CEILING
    far = Threshold("relative_attention_max_distance", 400, ("encoder_sequence_length",))
    assert ceiling(unbounded, [far]) > 2 * 400
    assert ceiling(SEQUENCE, [far]) == SEQUENCE.max  # a declared maximum is the ceiling


def _bert_config(task, max_positions=512):
    from conftest import tiny_bert_config

    config = tiny_bert_config()
    config.max_position_embeddings = max_positions
    return BertOnnxConfig(config, task=task)


def _decoder_config(**changes):
    from exportkit.exporters.onnx.models.decoders import LlamaOnnxConfig
    from conftest import tiny_llama_config

    config = tiny_llama_config()
    for name, value in changes.items():
        setattr(config, name, value)
    return LlamaOnnxConfig(config, task="text-generation", use_past=True)


def test_boundary_examples_cover_the_whole_declared_range():
    space = ExampleSpace.of(_bert_config("text-classification"))
    found = boundary_examples(space)
    dims = [e.dims for e in found]
    assert dims[0] == {"batch_size": 1, "sequence_length": 1}  # every axis at its smallest first
    assert {"batch_size": 64, "sequence_length": 1} in dims
    assert {"batch_size": 1, "sequence_length": 512} in dims  # the position table's limit, not 2x the export
    kinds = {pad.kind for e in found for pad in e.padding.values()}
    assert {"ragged-right", "ragged-left"} <= kinds  # padded batches on both declared sides


def test_boundary_examples_cross_every_threshold_of_a_derived_axis():
    config = _decoder_config(sliding_window=12, max_position_embeddings=64)
    space = ExampleSpace.of(config)
    assert [t.field for t in space.thresholds] == ["sliding_window"]
    totals = {e.dims["past_sequence_length"] + e.dims["sequence_length"] for e in boundary_examples(space)}
    assert {11, 12, 13} <= totals  # both sides of the window, through the cache
    assert 64 in totals  # past + new tokens at the position limit
    assert any(e.dims["sequence_length"] > 1 and e.dims["past_sequence_length"] + e.dims["sequence_length"] > 12
               and e.dims["past_sequence_length"] < 12 for e in boundary_examples(space))  # straddling the window


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_drawn_examples_stay_inside_the_bounds_and_the_budget(data):
    config = _decoder_config(max_position_embeddings=64)
    space = ExampleSpace.of(config, budget=5000)
    example = data.draw(examples(space, avoid=config.dims()))
    config.dims(**example.dims)  # inside every bound, derived ones included
    assert space.elements(example.dims) <= 5000
    assert example.dims != config.dims()
    rows, length = space.mask_rows_and_length("attention_mask", example.dims)
    pad = example.padding["attention_mask"]
    assert pad.kind == "none" or (len(pad.pads) == rows and max(pad.pads) < length)


# ---- padding --------------------------------------------------------------------------------

def test_padded_dummy_inputs_carry_pad_tokens_under_the_mask():
    config = _bert_config("text-classification")
    inputs = config.generate_dummy_inputs(batch_size=3, sequence_length=8,
                                          padding={"attention_mask": Padding("left", (0, 2, 5))})
    assert inputs["attention_mask"].tolist()[2] == [0] * 5 + [1] * 3
    pad = config.pad_token_id
    assert (inputs["input_ids"][inputs["attention_mask"] == 0] == pad).all()
    assert (inputs["input_ids"][inputs["attention_mask"] == 1] != pad).all()  # a real token is never padding
    assert (inputs["token_type_ids"][inputs["attention_mask"] == 0] == 0).all()
    # export dummies are padded too, so that a trace keeps the masked code path
    assert not config.generate_dummy_inputs()["attention_mask"].all()


def test_outputs_at_left_padded_positions_of_a_causal_decoder_are_declared_undefined():
    config = _decoder_config()
    dims = config.dims(batch_size=2, sequence_length=4, past_sequence_length=3)
    padding = {"attention_mask": Padding("left", (0, 5))}  # row 1: 3 cached + 2 new positions padded
    undefined = config.undefined_output_positions("logits", (2, 4, 99), dims, padding)
    assert undefined[:, :, 0].tolist() == [[False] * 4, [True, True, False, False]]
    present = config.undefined_output_positions("present.0.key", (2, 2, 7, 8), dims, padding)
    assert present[1, :, :5].all() and not present[1, :, 5:].any() and not present[0].any()
    right = {"attention_mask": Padding("right", (0, 5))}  # after right padding every position is defined
    assert config.undefined_output_positions("logits", (2, 4, 99), dims, right) is None


# ---- the checks can fail ----------------------------------------------------------------------

def _bert_build(config_cls):
    def build(case: Case, seed: int, variant=None):
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
    record = certify(CASE, build=_bert_build(ClassifierWithFakeDynamicOutput), variants=())
    assert record["status"] == "failed"
    assert record["stage"] == "dynamic-axes"
    assert "logits[1]" in record["reason"]


def test_a_baked_in_sequence_length_fails_property_5():
    torchscript = Case("transformers", "bert", "onnx", "torchscript", "text-classification")
    record = certify(torchscript, build=_bert_build(SequenceBakedIn), variants=())
    assert record["status"] == "failed", record
    assert record["stage"] in ("run", "shapes", "compare")
    shape = record["minimal_failing_shape"]
    assert shape is not None and shape["sequence_length"] != 16  # export length 16 would pass
    assert record["reproduce"].startswith("pytest 'conformance/test_certify.py::test_certify[")


def test_a_sound_export_is_certified_with_measurements():
    record = certify(Case("transformers", "bert", "onnx", "torchscript", "text-classification"),
                     build=_bert_build(BertOnnxConfig), variants=())
    assert record["status"] == "certified", record["error"]
    assert record["stage"] is None
    diff = record["outputs"]["logits"]
    assert 0 <= diff["max_abs_diff"] <= diff["atol"]
    sizes = record["shapes_tried"]
    assert {"batch_size": 1, "sequence_length": 1} in sizes
    assert {"batch_size": 2, "sequence_length": 16} not in sizes  # never the export's own sizes
    assert {"batch_size": 1, "sequence_length": 512, "attention_mask": "right [128]"} in sizes \
        or any(s["sequence_length"] == 512 for s in sizes)  # the whole declared range
    assert {"ragged-right", "ragged-left", "none"} <= set(record["masks"])
    assert record["examples"] == len(sizes) >= 10
    assert record["largest_input"]["elements"] >= 512
    assert record["peak_memory_bytes"] > 0 and record["memory_budget_bytes"] > 0
    assert record["variants"] == [{"name": "base", "status": "certified", "stage": None, "reason": None,
                                   "examples": len(sizes), "minimal_failing_shape": None}]
    assert record["opset"] and record["artefact_bytes"] > 0 and record["export_seconds"] > 0
    assert record["versions"]["torch"] == torch.__version__.split("+")[0]


def test_a_build_error_is_a_failed_cell_not_an_exception():
    def broken(case, seed, variant=None):
        raise RuntimeError("no such model")

    record = certify(CASE, build=broken, variants=())
    assert (record["status"], record["stage"]) == ("failed", "build")
    assert "no such model" in record["reason"]


def test_a_hang_becomes_a_timeout_cell():
    def slow(case, seed, variant=None):
        import time

        time.sleep(30)

    record = certify(CASE, build=slow, time_limit_s=0.5, variants=())
    assert record["status"] == "timeout"
    assert "build" in record["reason"]


def test_a_hang_inside_code_that_catches_every_exception_still_times_out():
    # libraries retry or record what they catch: the time limit must pass through `except Exception`
    def stubborn(case, seed, variant=None):
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except Exception:  # noqa: BLE001  what a library under test might do
                pass

    record = certify(CASE, build=stubborn, time_limit_s=0.5, variants=())
    assert record["status"] == "timeout" and "build" in record["reason"]


def test_an_allocation_past_the_memory_budget_fails_at_stage_memory():
    class Greedy(BertOnnxConfig):
        def call_model(self, model, kwargs):
            if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
                torch.empty(2**31, dtype=torch.uint8).fill_(1)  # 2 GiB, past a 1 GiB budget
            return model(**kwargs)

    record = certify(Case("transformers", "bert", "onnx", "torchscript", "text-classification"),
                     build=_bert_build(Greedy), variants=(), memory_budget=2**30)
    assert (record["status"], record["stage"]) == ("failed", "memory"), record["reason"]
    assert record["memory_budget_bytes"] == 2**30


def test_address_space_reserved_but_never_touched_is_not_memory_used():
    """Thread pools and allocator arenas reserve address space they never touch: the budget is
    on resident memory, so a reservation past it does not fail the cell."""
    class Reserves(BertOnnxConfig):
        def call_model(self, model, kwargs):
            if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
                reserved = torch.empty(2**31, dtype=torch.uint8)  # 2 GiB of address space, untouched
                del reserved
            return model(**kwargs)

    record = certify(Case("transformers", "bert", "onnx", "torchscript", "text-classification"),
                     build=_bert_build(Reserves), variants=(), memory_budget=2**30)
    assert record["status"] == "certified", record["reason"]
    assert record["memory_growth_bytes"] < 2**30


# ---- planted defects: each must go red on both engines, with its minimal failing example -------

class SkipsMaskWithoutPadding(BertOnnxConfig):
    """A model that skips its mask when nothing is padded, but keeps it as a graph input, exported
    from unpadded dummies: the trace keeps the no-padding path."""

    PAD_EXPORT_INPUTS = False

    def call_model(self, model, kwargs):
        mask = kwargs["attention_mask"]
        if bool(mask.all()):  # "no padding: the mask changes nothing"
            output = model(input_ids=kwargs["input_ids"], token_type_ids=kwargs["token_type_ids"])
            return {"logits": output.logits + 0 * mask.sum()}  # the mask stays an input of the graph
        return model(**kwargs)


class LongInputBranch(BertOnnxConfig):
    """A separate code path above 64 tokens (chunked or windowed attention, a long-input branch)."""

    def call_model(self, model, kwargs):
        output = model(**kwargs)
        if kwargs["input_ids"].shape[-1] > 64:
            return {"logits": output.logits + 2.0}
        return output


class SwitchesItselfOnShortInputs(BertOnnxConfig):
    """A model that, called on a short input, switches one of its modules to another attention for
    good (BigBird's block-sparse to full): exported from a short dummy, its graph and every later
    comparison are of the switched model, not of the one built."""

    def call_model(self, model, kwargs):
        if kwargs["input_ids"].shape[-1] <= 44:
            model.bert.encoder.attention_type = "original_full"
        output = model(**kwargs)
        if getattr(model.bert.encoder, "attention_type", "block_sparse") == "original_full":
            return {"logits": output.logits + 1.0}
        return output


def test_planted_e_a_model_that_switches_itself_during_the_export_is_found():
    record = certify(Case("transformers", "bert", "onnx", "torchscript", "text-classification"),
                     build=_bert_build(SwitchesItselfOnShortInputs), variants=())
    assert record["status"] == "failed", record
    assert record["stage"] == "capture"
    assert "changed its own settings during the export" in record["reason"]
    assert "attention_type: None -> original_full" in record["reason"]


def test_a_model_that_rewrites_its_config_while_run_fails_at_run():
    from conformance import checks

    tiny = build_tiny_model("transformers", "bert", "text-classification")
    before = checks.model_settings(tiny.model)
    checks.check_settings_unchanged(tiny.model, before, "run", "the examples")  # unchanged: passes
    tiny.model.config.position_embedding_type = "relative_key"
    with pytest.raises(checks.CheckFailed, match=r"config\.position_embedding_type: \S+ -> 'relative_key'") as raised:
        checks.check_settings_unchanged(tiny.model, before, "run", "the examples")
    assert raised.value.stage == "run"


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_planted_a_mask_skipped_without_padding_is_found_on_padded_batches(engine):
    record = certify(Case("transformers", "bert", "onnx", engine, "text-classification"),
                     build=_bert_build(SkipsMaskWithoutPadding), variants=())
    assert record["status"] == "failed", record
    if engine == "dynamo":  # torch.export refuses the branch on the mask's values
        assert record["stage"] == "capture" and "data-dependent" in record["reason"]
    else:
        assert record["stage"] == "compare"
        assert "attention_mask" in record["minimal_failing_shape"]  # the padding that broke it is shown


def test_padded_export_dummies_keep_the_masked_path_of_such_a_model():
    class PaddedExport(SkipsMaskWithoutPadding):
        PAD_EXPORT_INPUTS = True

    record = certify(Case("transformers", "bert", "onnx", "torchscript", "text-classification"),
                     build=_bert_build(PaddedExport), variants=())
    assert record["status"] == "certified", record["reason"]  # traced on a padded batch: the general path


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_planted_b_a_code_path_above_64_tokens_is_found(engine):
    record = certify(Case("transformers", "bert", "onnx", engine, "text-classification"),
                     build=_bert_build(LongInputBranch), variants=())
    assert record["status"] == "failed", record
    assert record["stage"] in ("capture", "compare")  # torch.export refuses a range it would split at 64
    if record["stage"] == "compare":
        assert record["minimal_failing_shape"]["sequence_length"] == 65  # shrunk to the threshold


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_planted_c_a_model_wrong_for_one_structural_variant_is_found(engine):
    def build(case, seed, variant):
        config_cls = SequenceBakedIn if variant == "baked-sequence" else BertOnnxConfig
        return _bert_build(config_cls)(case, seed)

    record = certify(Case("transformers", "bert", "onnx", engine, "text-classification"), build=build,
                     variants=("no-op", "baked-sequence"))
    assert record["status"] == "failed", record
    assert record["reason"].startswith("variant baked-sequence:")
    by_name = {run["name"]: run["status"] for run in record["variants"]}
    assert by_name == {"base": "certified", "no-op": "certified", "baked-sequence": "failed"}
    assert record["stage"] in ("capture", "compare", "shapes", "run")
    if record["stage"] != "capture":
        assert record["minimal_failing_shape"]["variant"] == "baked-sequence"


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_planted_d_a_cache_path_that_breaks_beyond_the_sliding_window_is_found(engine):
    from exportkit.exporters.onnx.models.decoders import LlamaOnnxConfig
    from conftest import build_model, tiny_llama_config

    window = 32

    class BreaksBeyondWindow(LlamaOnnxConfig):
        """Once cached + new tokens pass the window, the cache path takes a Python branch (the
        rolling-buffer bookkeeping of a sliding-window model) that the export does not keep."""

        def call_model(self, model, kwargs):
            output = model(**kwargs)
            if kwargs["attention_mask"].shape[-1] > window:
                output["logits"] = output["logits"] * 0.5
            return output

    def build(case, seed, variant=None):
        config = tiny_llama_config()
        config.max_position_embeddings, config.sliding_window = 128, window
        return build_model(transformers.LlamaForCausalLM, config, seed), BreaksBeyondWindow(
            config, task="text-generation", use_past=True)

    record = certify(Case("transformers", "llama", "onnx", engine, "text-generation-with-past"), build=build,
                     variants=())
    assert record["status"] == "failed", record
    assert {"field": "sliding_window", "value": window, "axes": ["sequence_length", "total_sequence_length"],
            "below": True, "above": True} in record["thresholds"]
    # torch.export either refuses the branch or keeps one side of it (the mask's length is
    # derived, so it may narrow it silently): the comparison across the window finds the latter
    assert record["stage"] in ("capture", "compare")
    if record["stage"] == "compare":
        failing = record["minimal_failing_shape"]
        assert failing["past_sequence_length"] + failing["sequence_length"] == window + 1


# ---- a whole run ----------------------------------------------------------------------------

CRASHING_PLUGIN = """
import os
import conformance.certify as certify

real_build = certify.build_from_zoo

def build_or_die(case, seed, variant=None):
    if case.id == {crash_id!r}:
        os.abort()  # a native crash: the worker process dies without reporting
    return real_build(case, seed, variant)

certify.build_from_zoo = build_or_die
"""


@pytest.mark.slow
def test_a_run_writes_one_cell_per_collected_test_even_when_a_worker_dies(tmp_path):
    """Through pytest and xdist: a selection, a certified case and a case whose worker crashes."""
    crash_id = "transformers/distilbert/onnx-torchscript/fill-mask"
    (tmp_path / "crash_one_case.py").write_text(CRASHING_PLUGIN.format(crash_id=crash_id))
    command = [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-p", "crash_one_case",
               "-q", "-n", "2", "--model-type", "distilbert", "--task", "text-classification,fill-mask",
               "--engine", "torchscript", "--partial-dir", str(tmp_path / "partials")]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 1, done.stdout[-3000:]  # one failed cell, and the session still finished
    matrix = load_matrix(tmp_path / "partials" / "partial.json")  # a filtered run: a partial file
    assert (tmp_path / "partials" / "partial.html").exists()
    statuses = {cell["id"]: cell["status"] for cell in matrix["cells"]}
    assert statuses == {
        "transformers/distilbert/onnx-torchscript/text-classification": "certified",
        crash_id: "crashed",
    }, done.stdout[-3000:]
    assert matrix["summary"]["total"] == 2
    assert "2 cells" in done.stdout
    crashed = next(cell for cell in matrix["cells"] if cell["id"] == crash_id)
    assert crashed["stage"] == "build"  # the worker's last stage, kept outside the process that died
    assert "died while running this case at stage build" in crashed["reason"]


class _Report:
    """The parts of a pytest TestReport the collector reads."""

    def __init__(self, nodeid, *, outcome="passed", when="call", user_properties=(), longrepr=None):
        self.nodeid, self.when, self.user_properties, self.longrepr = nodeid, when, list(user_properties), longrepr
        self.failed, self.skipped, self.passed = outcome == "failed", outcome == "skipped", outcome == "passed"


class _Config:
    def getoption(self, name):
        return {"conformance_seed": 0, "case_timeout": 600.0, "collectonly": self.collect_only}[name]

    collect_only = False


def _collector(tmp_path, selection, stages=None):
    from conformance.session import CertificateCollector

    return CertificateCollector(_Config(), selection, tmp_path / "published", tmp_path / "partials", stages=stages)


def test_collector_makes_a_cell_of_every_collected_test(tmp_path):
    from conformance.plugin import CERTIFICATE_KEY
    from conformance.selection import Selection

    selection = Selection(model_type="gpt2", task="text-generation*")
    cases = selection.cases()
    nodeids = [f"conformance/test_certify.py::test_certify[{case.id}]" for case in cases]
    collector = _collector(tmp_path, selection)
    collector.pytest_xdist_node_collection_finished(node=None, ids=nodeids)
    collector.pytest_xdist_node_collection_finished(node=None, ids=nodeids)  # a second worker: same ids

    certified = {**base_record(cases[0], profile="ci", seed=0), "status": "certified"}
    collector.pytest_runtest_logreport(_Report(nodeids[0], user_properties=[(CERTIFICATE_KEY, json.dumps(certified))]))
    collector.pytest_runtest_logreport(_Report(
        nodeids[1], outcome="failed", longrepr="[gw1] node down: Not properly terminated\nworker 'gw1' crashed while running"))
    collector.pytest_runtest_logreport(_Report(
        nodeids[2], outcome="failed", longrepr="+++ Timeout +++\nworker 'gw0' crashed while running"))
    collector.pytest_sessionfinish(session=None)  # nodeids[3] never reported: the session ended early

    assert not (tmp_path / "published").exists()  # a filtered run never writes the published matrix
    matrix = load_matrix(tmp_path / "partials" / "partial.json")
    assert matrix["partial"]["selection"] == ("--model-type gpt2 --task text-generation*; "
                                              "interrupted: 1 of 4 selected cases not run")
    assert len(matrix["partial"]["registry_ids"]) == len(all_cases())
    statuses = {cell["id"]: cell["status"] for cell in matrix["cells"]}
    assert len(statuses) == len(nodeids) == 4
    assert statuses[cases[0].id] == "certified"
    assert statuses[cases[1].id] == "crashed"
    assert statuses[cases[2].id] == "timeout"
    assert statuses[cases[3].id] == "skipped"
    crashed = next(c for c in matrix["cells"] if c["id"] == cases[1].id)
    assert "worker process died" in crashed["reason"] and "crashed while running" in crashed["error"]


def test_a_cell_whose_worker_died_says_at_which_stage(tmp_path):
    from conformance.selection import Selection
    from conformance.stages import StageLog

    selection = Selection(model_type="gpt2", task="text-generation")
    cases = selection.cases()
    nodeids = [f"conformance/test_certify.py::test_certify[{case.id}]" for case in cases]
    stages = StageLog(tmp_path / "stages")
    stages.directory.mkdir()
    collector = _collector(tmp_path, selection, stages)
    collector.pytest_xdist_node_collection_finished(node=None, ids=nodeids)
    stages.writer("gw1", cases[0].id)(None, "build")
    stages.writer("gw1", cases[0].id)("untied-embeddings", "capture")  # the last entry counts
    stages.writer("gw0", cases[0].id)(None, "run")  # another worker's entry is not this crash's
    stages.writer("gw0", "some/other/case")(None, "compare")
    collector.pytest_runtest_logreport(_Report(
        nodeids[0], outcome="failed", longrepr="[gw1] node down: Not properly terminated\nworker 'gw1' crashed while running"))
    collector.pytest_runtest_logreport(_Report(
        nodeids[1], outcome="failed", longrepr="worker 'gw0' crashed while running"))  # gw0 was elsewhere
    first, second = (collector.records[case.id] for case in cases[:2])
    assert (first["status"], first["stage"]) == ("crashed", "capture")
    assert "died while running this case at stage capture of variant untied-embeddings" in first["reason"]
    assert (second["status"], second["stage"]) == ("crashed", None)
    collector.pytest_unconfigure(config=None)
    assert not stages.directory.exists()


def _unfiltered_collector_with_all_but_one_certified(tmp_path):
    from conformance.plugin import CERTIFICATE_KEY
    from conformance.selection import Selection

    selection = Selection()
    cases = selection.cases()
    collector = _collector(tmp_path, selection)
    collector.pytest_xdist_node_collection_finished(
        node=None, ids=[f"conformance/test_certify.py::test_certify[{case.id}]" for case in cases])
    for case in cases[:-1]:
        certified = {**base_record(case, profile="ci", seed=0), "status": "certified"}
        collector.pytest_runtest_logreport(_Report(f"conformance/test_certify.py::test_certify[{case.id}]",
                                                   user_properties=[(CERTIFICATE_KEY, json.dumps(certified))]))
    return collector


def test_an_interrupted_full_run_writes_a_partial_file_not_the_published_matrix(tmp_path):
    _unfiltered_collector_with_all_but_one_certified(tmp_path).pytest_sessionfinish(session=None)
    assert not (tmp_path / "published").exists()
    matrix = load_matrix(tmp_path / "partials" / "partial.json")
    assert matrix["partial"]["selection"] == f"interrupted: 1 of {len(all_cases())} selected cases not run"
    assert sum(cell["status"] == "skipped" for cell in matrix["cells"]) == 1


def test_a_collection_writes_no_matrix(tmp_path):
    collector = _unfiltered_collector_with_all_but_one_certified(tmp_path)
    collector.config.collect_only = True
    collector.pytest_sessionfinish(session=None)
    assert not (tmp_path / "published").exists() and not (tmp_path / "partials").exists()


def test_an_unmet_minimum_version_is_a_skipped_cell():
    from packaging import version

    class NeedsFutureTorch(BertOnnxConfig):
        MIN_TORCH_VERSION = version.parse("99.0")

    record = certify(CASE, build=_bert_build(NeedsFutureTorch), variants=())
    assert (record["status"], record["stage"]) == ("skipped", "build")
    assert "needs torch >= 99.0" in record["reason"]


def test_every_declared_failure_matches_a_registered_case():
    from conformance.known_failures import KnownFailure, stale_declarations

    from exportkit.exporters.onnx.models.auto import REGISTERED_MODEL_TYPES
    from exportkit.tasks import normalize_model_type
    from exportkit.transformers_auto import auto_pairs

    case_ids = [case.id for case in all_cases()]
    registered = {normalize_model_type(t) for t in REGISTERED_MODEL_TYPES}
    pending = {normalize_model_type(t) for t, *_ in auto_pairs()} - registered
    assert stale_declarations(case_ids, pending=pending) == []
    unregistered = KnownFailure("transformers/no-such-type/*/feature-extraction", "cause")
    assert stale_declarations(case_ids, [unregistered], pending=pending) == [unregistered]
    waiting = KnownFailure("transformers/a-future-type/onnx-*/feature-extraction", "cause")
    assert stale_declarations(case_ids, [waiting], pending={"a-future-type"}) == []
