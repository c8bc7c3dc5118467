"""Exports of real tiny models with both engines, their validation, atomicity and patching."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
import torch
import transformers

from exportkit import TasksManager
from exportkit.errors import AtolError, ExportError, OutputMissingError, ValidationError
from exportkit.exporters.onnx import (
    ModelPatcher,
    PatchingSpec,
    ValidationReport,
    export,
    export_models,
    validate_model_outputs,
)
from exportkit.exporters.onnx.models.encoders import BertOnnxConfig

pytestmark = pytest.mark.slow


def onnx_config(model, task: str):
    constructor = TasksManager.get_exporter_config_constructor("onnx", model, task=task)
    return constructor(model.config)


def listing(directory: Path) -> list[str]:
    """Every path under ``directory``, hidden ones included, relative to it."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def graph_dims(onnx_path: Path) -> dict[str, list]:
    model = onnx.load(str(onnx_path), load_external_data=False)
    dims = {}
    for value in [*model.graph.input, *model.graph.output]:
        dims[value.name] = list(value.type.tensor_type.shape.dim)
    return dims


def assert_dynamic_axes_are_symbolic(onnx_path: Path, config) -> None:
    """Every axis the config declares dynamic is a named symbol in the saved graph; static inputs are fixed."""
    dims = graph_dims(onnx_path)
    specs = {**config.input_specs, **config.output_specs}
    assert set(specs) == set(dims), (sorted(specs), sorted(dims))
    for name, spec in specs.items():
        assert len(dims[name]) == spec.rank, name
        for index, (axis, dim) in enumerate(zip(spec.axes, dims[name])):
            if axis.dynamic:
                assert not dim.HasField("dim_value"), f"{name}[{index}] ({axis.name}) was fixed to {dim.dim_value}"
                assert dim.dim_param == axis.name, f"{name}[{index}]: {dim.dim_param!r} != {axis.name!r}"
            elif name in config.input_specs and axis.default is not None:
                assert dim.dim_value == axis.default, f"{name}[{index}] should be fixed to {axis.default}"


# ---- shared exports ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bert(tiny):
    model = tiny.build(transformers.BertForSequenceClassification, tiny.bert())
    return SimpleNamespace(model=model, config=onnx_config(model, "text-classification"))


@pytest.fixture(scope="module", params=["torchscript", "dynamo"])
def bert_export(request, bert, tmp_path_factory):
    path = tmp_path_factory.mktemp(f"bert-{request.param}") / "model.onnx"
    result = export(bert.model, bert.config, path, engine=request.param)
    return SimpleNamespace(engine=request.param, path=path, result=result, **vars(bert))


@pytest.fixture(scope="module")
def gpt2_export(tiny, tmp_path_factory):
    model = tiny.build(transformers.GPT2LMHeadModel, tiny.gpt2())
    config = onnx_config(model, "text-generation-with-past")
    path = tmp_path_factory.mktemp("gpt2") / "model.onnx"
    result = export(model, config, path)
    return SimpleNamespace(model=model, config=config, path=path, result=result)


@pytest.fixture(scope="module")
def t5_export(tiny, tmp_path_factory):
    model = tiny.build(transformers.T5ForConditionalGeneration, tiny.t5())
    config = onnx_config(model, "text2text-generation-with-past")
    output_dir = tmp_path_factory.mktemp("t5") / "onnx"
    results = export_models(model, config, output_dir)
    return SimpleNamespace(model=model, config=config, output_dir=output_dir, results=results)


# ---- BERT with both engines -----------------------------------------------------------------------------

def test_bert_export_result(bert_export):
    result = bert_export.result
    assert result.path == bert_export.path and bert_export.path.is_file()
    assert result.engine == bert_export.engine
    assert result.opset == bert_export.config.DEFAULT_ONNX_OPSET
    assert result.input_names == ["input_ids", "attention_mask", "token_type_ids"]
    assert result.output_names == ["logits"]
    assert result.artefact_bytes == bert_export.path.stat().st_size > 0
    assert listing(bert_export.path.parent) == ["model.onnx"]  # no staging directory left behind
    onnx.checker.check_model(str(bert_export.path))


def test_bert_validates_on_other_sizes(bert_export):
    config = bert_export.config
    report = validate_model_outputs(config, bert_export.model, bert_export.path)
    assert isinstance(report, ValidationReport) and report.ok
    assert report.dims == config.validation_dims()
    export_dims = config.dims()
    assert report.dims["batch_size"] != export_dims["batch_size"]
    assert report.dims["sequence_length"] != export_dims["sequence_length"]
    logits = report.outputs["logits"]
    assert logits.reference_shape == (report.dims["batch_size"], 2)
    assert logits.max_abs_diff <= config.atol_for()


@pytest.mark.parametrize("shapes", [{"batch_size": 1, "sequence_length": 1}, {"batch_size": 5, "sequence_length": 40}])
def test_bert_validates_on_chosen_sizes(bert_export, shapes):
    report = validate_model_outputs(bert_export.config, bert_export.model, bert_export.path, input_shapes=shapes)
    assert report.dims == shapes
    assert report.outputs["logits"].onnx_shape == (shapes["batch_size"], 2)


def test_bert_dynamic_axes_are_symbolic(bert_export):
    assert_dynamic_axes_are_symbolic(bert_export.path, bert_export.config)


def test_validation_against_another_model_raises_atol_error(bert_export, tiny):
    other = tiny.build(transformers.BertForSequenceClassification, tiny.bert(), seed=1)
    with pytest.raises(AtolError, match="logits: max abs diff"):
        validate_model_outputs(bert_export.config, other, bert_export.path)


def test_validation_atol_is_honoured(bert_export):
    with pytest.raises(AtolError):
        validate_model_outputs(bert_export.config, bert_export.model, bert_export.path, atol=-1.0)


# ---- GPT-2 with a KV cache --------------------------------------------------------------------------------

@pytest.mark.parametrize("past", [0, 5])
def test_gpt2_with_past_validates(gpt2_export, past):
    report = validate_model_outputs(gpt2_export.config, gpt2_export.model, gpt2_export.path,
                                    input_shapes={"past_sequence_length": past})
    assert report.dims["past_sequence_length"] == past
    total = past + report.dims["sequence_length"]
    present = report.outputs["present.1.value"]
    assert present.onnx_shape == (report.dims["batch_size"], 4, total, 8)
    assert set(report.outputs) == set(gpt2_export.config.outputs)


def test_gpt2_graph_io(gpt2_export):
    assert gpt2_export.result.input_names == [
        "input_ids", "attention_mask",
        "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"]
    assert gpt2_export.result.output_names == [
        "logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"]
    assert_dynamic_axes_are_symbolic(gpt2_export.path, gpt2_export.config)


# ---- T5 in three parts ------------------------------------------------------------------------------------

def test_t5_export_models_writes_three_parts(t5_export):
    assert listing(t5_export.output_dir) == ["decoder_model.onnx", "decoder_with_past_model.onnx", "encoder_model.onnx"]
    assert list(t5_export.results) == ["encoder_model", "decoder_model", "decoder_with_past_model"]
    for stem, result in t5_export.results.items():
        assert result.path == t5_export.output_dir / f"{stem}.onnx"
    # no staging directory is left beside the output directory
    assert listing(t5_export.output_dir.parent) == ["onnx", *(f"onnx/{n}" for n in listing(t5_export.output_dir))]


@pytest.mark.parametrize("stem", ["encoder_model", "decoder_model", "decoder_with_past_model"])
def test_t5_parts_validate(t5_export, stem):
    part = t5_export.config.submodels()[stem]
    path = t5_export.results[stem].path
    assert t5_export.results[stem].input_names == list(part.inputs)
    assert t5_export.results[stem].output_names == list(part.outputs)
    report = validate_model_outputs(part, t5_export.model, path)
    assert set(report.outputs) == set(part.outputs)
    assert_dynamic_axes_are_symbolic(path, part)


def test_t5_decoder_with_empty_past_validates(t5_export):
    part = t5_export.config.submodels()["decoder_with_past_model"]
    report = validate_model_outputs(part, t5_export.model, t5_export.results["decoder_with_past_model"].path,
                                    input_shapes={"past_sequence_length": 0, "decoder_sequence_length": 1})
    assert report.outputs["present.0.decoder.key"].onnx_shape[2] == 1


# ---- typed validation errors ---------------------------------------------------------------------------

class WithoutEndLogits(BertOnnxConfig):
    @property
    def output_specs(self):
        return {name: spec for name, spec in super().output_specs.items() if name != "end_logits"}


def test_graph_missing_an_output_raises_output_missing(tiny, tmp_path):
    model = tiny.build(transformers.BertForQuestionAnswering, tiny.bert())
    full = onnx_config(model, "question-answering")
    assert set(full.outputs) == {"start_logits", "end_logits"}
    partial = WithoutEndLogits(model.config, task="question-answering")
    result = export(model, partial, tmp_path / "model.onnx", engine="torchscript")
    assert result.output_names == ["start_logits"]
    # the partial graph is fine against its own config
    assert validate_model_outputs(partial, model, result.path).ok
    with pytest.raises(OutputMissingError, match="end_logits"):
        validate_model_outputs(full, model, result.path)
    assert issubclass(OutputMissingError, ValidationError) and issubclass(AtolError, ValidationError)


# ---- atomicity --------------------------------------------------------------------------------------------

class Boom(RuntimeError):
    pass


class FailingBertConfig(BertOnnxConfig):
    def call_model(self, model, kwargs):
        raise Boom("the model refuses to run")


@pytest.mark.parametrize("engine, stage", [("torchscript", "translate"), ("dynamo", "capture")])
def test_failed_export_leaves_nothing(bert, tmp_path, engine, stage):
    config = FailingBertConfig(bert.model.config, task="text-classification")
    output = tmp_path / "out" / "model.onnx"
    with pytest.raises(ExportError) as info:
        export(bert.model, config, output, engine=engine)
    assert info.value.stage == stage
    assert "Boom" in str(info.value) or isinstance(info.value.__cause__, Boom)
    assert not output.exists()
    assert not output.parent.exists() or listing(output.parent) == []


def test_failed_check_leaves_nothing_and_keeps_unrelated_files(bert, tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "model.onnx.data.bak").write_bytes(b"\x00\x01")

    def refuse(*args, **kwargs):
        raise onnx.checker.ValidationError("refused by the test")

    monkeypatch.setattr(onnx.checker, "check_model", refuse)
    with pytest.raises(ExportError) as info:
        export(bert.model, bert.config, tmp_path / "model.onnx", engine="torchscript")
    assert info.value.stage == "check"
    assert listing(tmp_path) == ["model.onnx.data.bak", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_successful_export_keeps_unrelated_files(bert, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    export(bert.model, bert.config, tmp_path / "model.onnx", engine="torchscript")
    assert listing(tmp_path) == ["model.onnx", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "keep me"


class TwoPartBertConfig(BertOnnxConfig):
    """Two artefacts, the second of which fails: a failure after one file was already written."""

    def submodels(self):
        return {"model": BertOnnxConfig(self._config, task=self.task),
                "broken": FailingBertConfig(self._config, task=self.task)}


def test_failed_export_models_does_not_create_the_output_dir(bert, tmp_path):
    output_dir = tmp_path / "onnx"
    config = TwoPartBertConfig(bert.model.config, task="text-classification")
    with pytest.raises(ExportError):
        export_models(bert.model, config, output_dir, engine="torchscript")
    assert not output_dir.exists()
    assert listing(tmp_path) == []  # no staging directory either


def test_failed_export_models_leaves_an_existing_dir_unchanged(bert, tmp_path):
    output_dir = tmp_path / "onnx"
    output_dir.mkdir()
    (output_dir / "README.md").write_text("mine")
    (output_dir / "model.onnx").write_bytes(b"previous export")
    config = TwoPartBertConfig(bert.model.config, task="text-classification")
    with pytest.raises(ExportError):
        export_models(bert.model, config, output_dir, engine="torchscript")
    assert listing(output_dir) == ["README.md", "model.onnx"]
    assert (output_dir / "model.onnx").read_bytes() == b"previous export"
    assert (output_dir / "README.md").read_text() == "mine"
    assert listing(tmp_path) == ["onnx", "onnx/README.md", "onnx/model.onnx"]


def test_export_models_into_an_existing_dir_keeps_unrelated_files(bert, tmp_path):
    output_dir = tmp_path / "onnx"
    output_dir.mkdir()
    (output_dir / "README.md").write_text("mine")
    (output_dir / "model.onnx").write_bytes(b"previous export")
    results = export_models(bert.model, bert.config, output_dir, engine="torchscript")
    assert list(results) == ["model"] and results["model"].path == output_dir / "model.onnx"
    assert listing(output_dir) == ["README.md", "model.onnx"]
    assert (output_dir / "README.md").read_text() == "mine"
    assert (output_dir / "model.onnx").read_bytes() != b"previous export"
    validate_model_outputs(bert.config, bert.model, output_dir / "model.onnx")
    assert listing(tmp_path) == ["onnx", "onnx/README.md", "onnx/model.onnx"]


def test_unknown_engine(bert, tmp_path):
    with pytest.raises(ValueError, match="engine"):
        export(bert.model, bert.config, tmp_path / "model.onnx", engine="tracing")
    assert listing(tmp_path) == []


# ---- patching ---------------------------------------------------------------------------------------------

def original_op():
    return "original"


def patched_op():
    return "patched"


def make_patched_config(probe, seen, fail: bool):
    class PatchedBertConfig(BertOnnxConfig):
        PATCHING_SPECS = [
            PatchingSpec(o=probe, name="op", custom_op=patched_op),
            PatchingSpec(o=probe, name="scale", op_wrapper=lambda original: original * 10),
        ]

        def call_model(self, model, kwargs):
            seen.append((probe.op(), probe.scale, model.training, torch.is_grad_enabled()))
            if fail:
                raise Boom("failure while patched")
            return super().call_model(model, kwargs)

    return PatchedBertConfig


@pytest.mark.parametrize("fail", [False, True])
def test_patcher_restores_after_export(bert, tmp_path, fail):
    probe = SimpleNamespace(op=original_op, scale=3)
    seen = []
    config = make_patched_config(probe, seen, fail)(bert.model.config, task="text-classification")
    bert.model.train()
    try:
        if fail:
            with pytest.raises(ExportError):
                export(bert.model, config, tmp_path / "model.onnx", engine="torchscript")
        else:
            export(bert.model, config, tmp_path / "model.onnx", engine="torchscript")
        assert bert.model.training  # the caller's mode comes back
    finally:
        bert.model.eval()
    assert seen and seen[0] == ("patched", 30, False, False)  # patched, eval mode, no grad while capturing
    assert probe.op is original_op and probe.scale == 3
    assert (tmp_path / "model.onnx").exists() == (not fail)


def test_patcher_restores_when_a_later_patch_fails(bert):
    class WrapperError(Exception):
        pass

    def bad_wrapper(original):
        raise WrapperError("cannot wrap")

    probe = SimpleNamespace(op=original_op, other=original_op)

    class Config(BertOnnxConfig):
        PATCHING_SPECS = [PatchingSpec(o=probe, name="op", custom_op=patched_op),
                          PatchingSpec(o=probe, name="other", op_wrapper=bad_wrapper)]

    config = Config(bert.model.config, task="text-classification")
    bert.model.train()
    try:
        with pytest.raises(WrapperError):
            with config.patch_model_for_export(bert.model):
                pass
        assert bert.model.training
    finally:
        bert.model.eval()
    assert probe.op is original_op and probe.other is original_op
    assert torch.is_grad_enabled()


def test_patching_spec_failure_during_export_leaves_nothing(bert, tmp_path):
    probe = SimpleNamespace(op=original_op)

    def bad_wrapper(original):
        raise Boom("cannot wrap")

    class Config(BertOnnxConfig):
        PATCHING_SPECS = [PatchingSpec(o=probe, name="op", custom_op=patched_op),
                          PatchingSpec(o=probe, name="op", op_wrapper=bad_wrapper)]

    with pytest.raises((Boom, ExportError)):
        export(bert.model, Config(bert.model.config, task="text-classification"), tmp_path / "model.onnx",
               engine="torchscript")
    assert probe.op is original_op
    assert listing(tmp_path) == []


def test_patcher_with_orig_op_and_exception_inside(bert):
    probe = SimpleNamespace(op=original_op)

    class Config(BertOnnxConfig):
        PATCHING_SPECS = [PatchingSpec(o=probe, name="op", orig_op=patched_op, op_wrapper=lambda f: (lambda: f() + "!"))]

    with pytest.raises(Boom):
        with ModelPatcher(Config(bert.model.config, task="text-classification"), bert.model):
            assert probe.op() == "patched!"  # the wrapper wraps orig_op, not the attribute
            raise Boom("inside")
    assert probe.op is original_op
    assert torch.is_grad_enabled()



def test_weights_over_the_threshold_go_to_external_data(bert, tmp_path, monkeypatch):
    import exportkit.exporters.onnx.convert as convert

    monkeypatch.setattr(convert, "EXTERNAL_DATA_THRESHOLD", 0)  # every model counts as "over 2 GB"
    path = tmp_path / "out" / "model.onnx"
    result = export(bert.model, bert.config, path, engine="dynamo")
    external = [p for p in path.parent.iterdir() if p != path]
    assert external, "no external data file was written"
    graph = onnx.load(str(path), load_external_data=False)
    inline = [t.name for t in graph.graph.initializer
              if t.data_location != onnx.TensorProto.EXTERNAL and len(t.raw_data) > 1024]
    assert not inline, f"large weights kept inside the graph: {inline}"
    assert result.artefact_bytes == path.stat().st_size + sum(p.stat().st_size for p in external)
    report = validate_model_outputs(bert.config, bert.model, path)
    assert report.ok


def test_mixture_of_experts_blocks_export_through_the_kernel_that_traces():
    """transformers' CPU default experts kernel counts tokens with histc (no ONNX symbolic) and its
    eager loop visits only the routed experts: the export patches in the batched kernel, which
    computes the same outputs."""
    from conformance.zoo import build_tiny_model
    from exportkit.exporters.onnx.patcher import EXPORTABLE_EXPERTS, experts_patches

    model = build_tiny_model("transformers", "qwen3-moe", "text-generation", seed=0).model.eval()
    specs = experts_patches(model)
    assert specs and all(spec.custom_op == EXPORTABLE_EXPERTS for spec in specs)
    ids = torch.randint(0, model.config.vocab_size, (2, 7))
    with torch.no_grad():
        reference = model(input_ids=ids).logits
        config = specs[0].o
        saved = config._experts_implementation_internal
        config._experts_implementation_internal = EXPORTABLE_EXPERTS
        try:
            patched = model(input_ids=ids).logits
        finally:
            config._experts_implementation_internal = saved
    torch.testing.assert_close(patched, reference, atol=1e-5, rtol=1e-5)


# ---- torch.export dims ------------------------------------------------------------------------------------

def _dims_by_name(config) -> dict[str, object]:
    from exportkit.exporters.onnx.convert import dynamo_dynamic_shapes

    (shapes,) = dynamo_dynamic_shapes(config)
    return {getattr(dim, "__name__", None): dim for shape in shapes for dim in shape.values()}


def test_dynamo_dims_stop_below_a_position_table_and_bound_the_parts_of_a_bounded_sum():
    # BERT as a causal LM with a cache slices its 512 positions at past:past + sequence
    bert = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=37, vocab_size=99, is_decoder=True)
    def derived(task):
        return TasksManager.get_exporter_config_constructor("onnx", model_type="bert", task=task)(bert)

    with_past = derived("text-generation-with-past")
    dims = _dims_by_name(with_past)
    assert (dims["sequence_length"].max, dims["past_sequence_length"].max) == (510, 510)
    # without a cache there is no sum: only the whole-table slice (sequence == 512) is left out
    dims = _dims_by_name(derived("text-classification"))
    assert dims["sequence_length"].max == 511
    # the certifier still runs the declared bound itself
    assert with_past.axis_table()["sequence_length"].max == 512


def test_a_default_past_its_dynamo_bound_is_traced_at_the_bound():
    from exportkit.exporters.onnx.convert import dynamo_example_shapes

    # a 16-position table: 16 tokens (the default) take the whole table, so the trace uses 15
    bert = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=37, vocab_size=99, max_position_embeddings=16)
    config = TasksManager.get_exporter_config_constructor("onnx", model_type="bert", task="text-classification")(bert)
    assert config.axis_table()["sequence_length"].default == 16
    assert dynamo_example_shapes(config, {}) == {"sequence_length": 15}
    assert dynamo_example_shapes(config, {"sequence_length": 4}) == {"sequence_length": 4}  # asked for: kept
    assert _dims_by_name(config)["sequence_length"].max == 15


def test_summed_part_caps_need_a_bounded_total_over_input_axes():
    from exportkit.axes import Axis, derived
    from exportkit.exporters.onnx.convert import summed_part_caps

    parts = {"sequence_length": Axis("sequence_length", max=64), "past_sequence_length": Axis("past_sequence_length", min=0)}
    bounded = {**parts, "total_sequence_length": derived("total_sequence_length", sum, max=64)}
    assert summed_part_caps(bounded, set(parts)) == {"sequence_length": 62, "past_sequence_length": 62}
    unbounded = {**parts, "total_sequence_length": derived("total_sequence_length", sum)}
    assert summed_part_caps(unbounded, set(parts)) == {}
    assert summed_part_caps(bounded, {"sequence_length"}) == {}  # no cache input: no sum to bound


class _RMSNormWithTinyEpsilon(torch.nn.Module):
    def forward(self, x):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-8)


def test_translation_keeps_an_epsilon_near_zero(tmp_path):
    """onnxscript's no-op rule matches ``x + 0`` within abs 1e-8: the export must keep ``+ 1e-8``
    (Helium's RMSNorm epsilon), or a row of zeros normalises to NaN."""
    import io
    import contextlib

    import onnxruntime as ort

    from exportkit.exporters.onnx.convert import _translate

    module, x = _RMSNormWithTinyEpsilon(), torch.zeros(2, 4)
    program = torch.export.export(module, (x,), strict=False)
    with contextlib.redirect_stdout(io.StringIO()):
        onnx_program = _translate(program, (x,), ["x"], ["y"], 18)
    assert "Add" in [node.op_type for node in onnx_program.model.graph]
    path = tmp_path / "norm.onnx"
    onnx_program.save(str(path))
    (y,) = ort.InferenceSession(str(path)).run(None, {"x": x.numpy()})
    assert not np.isnan(y).any() and np.allclose(y, module(x).numpy())
