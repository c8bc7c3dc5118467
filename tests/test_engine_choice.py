"""`exportkit export` without --engine: the engine the support matrix certifies, the faster one."""

from __future__ import annotations

import pytest
import transformers

from exportkit.cli import main
from exportkit.support_matrix import choose_engine, engines_for, read_matrix


def cell(engine: str, status: str = "certified", seconds: float | None = 1.0, task: str = "text-classification",
         model_type: str = "bert", library: str = "transformers") -> dict:
    return {"library": library, "model_type": model_type, "exporter": "onnx", "engine": engine, "task": task,
            "status": status, "export_seconds": seconds}


def matrix(*cells: dict) -> dict:
    return {"cells": list(cells)}


def test_the_faster_certified_engine_is_chosen_and_the_reason_says_why():
    choice = choose_engine("transformers", "bert", "text-classification",
                           matrix=matrix(cell("dynamo", seconds=2.5), cell("torchscript", seconds=0.2)))
    assert choice.engine == "torchscript"
    assert "torchscript 0.20 s, dynamo 2.50 s" in choice.reason
    faster_dynamo = matrix(cell("dynamo", seconds=0.1), cell("torchscript", seconds=0.2))
    assert choose_engine("transformers", "bert", "text-classification", matrix=faster_dynamo).engine == "dynamo"


def test_only_certified_cells_of_the_same_library_model_type_and_task_count():
    cells = matrix(cell("torchscript", status="failed", seconds=0.1), cell("dynamo", seconds=3.0),
                   cell("torchscript", seconds=0.1, task="fill-mask"),
                   cell("torchscript", seconds=0.1, library="sentence_transformers"))
    choice = choose_engine("transformers", "bert", "text-classification", matrix=cells)
    assert (choice.engine, "dynamo only" in choice.reason) == ("dynamo", True)


def test_without_a_certified_cell_the_default_engine_is_used_and_said():
    choice = choose_engine("transformers", "bert", "text-classification",
                           matrix=matrix(cell("dynamo", status="failed"), cell("torchscript", status="xfail")))
    assert choice.engine == "dynamo" and "certifies no engine" in choice.reason
    assert choose_engine("transformers", "bert", "text-classification", allowed=("torchscript",),
                         matrix=matrix()).engine == "torchscript"


def test_flags_that_one_engine_cannot_honour_leave_the_other():
    assert engines_for() == ("dynamo", "torchscript")
    assert engines_for(dtype="fp16") == ("dynamo",)
    assert engines_for(opset=13) == ("torchscript",)
    assert engines_for(opset=23) == ("dynamo",)
    assert engines_for(opset=0) == ()
    both = matrix(cell("dynamo", seconds=2.0), cell("torchscript", seconds=0.1))
    assert choose_engine("transformers", "bert", "text-classification", allowed=engines_for(dtype="fp16"),
                         matrix=both).engine == "dynamo"


def test_export_without_engine_uses_the_shipped_matrixs_choice(capsys, tmp_path, bert_config):
    transformers.BertForSequenceClassification(bert_config).save_pretrained(tmp_path / "bert")
    shipped = read_matrix()
    expected = choose_engine("transformers", "bert", "text-classification", matrix=shipped)
    assert main(["export", "onnx", "--model", str(tmp_path / "bert"), "--task", "text-classification",
                 str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"engine: {expected.engine}: the support matrix certifies" in err
    assert f"exporting with the {expected.engine} engine" in err


@pytest.mark.parametrize("engine", ["dynamo", "torchscript"])
def test_engine_flag_overrides_the_matrix(capsys, tmp_path, bert_config, engine):
    transformers.BertForSequenceClassification(bert_config).save_pretrained(tmp_path / "bert")
    assert main(["export", "onnx", "--model", str(tmp_path / "bert"), "--task", "text-classification",
                 "--engine", engine, "--no-validate", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "the support matrix certifies" not in err and f"exporting with the {engine} engine" in err
