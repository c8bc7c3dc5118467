"""Coverage of transformers' Auto-backed pairs read off a matrix: reports.coverage and
`python -m reports coverage`."""

from __future__ import annotations

import json
from pathlib import Path

from exportkit.errors import EXIT_BAD_INPUT, EXIT_OK
from reports import build_matrix, write_matrix
from reports.__main__ import main
from reports.coverage import coverage, text_report

PUBLISHED = Path(__file__).resolve().parents[1] / "reports" / "support-matrix.json"


def cell(model_type: str, task: str, status: str = "certified", engine: str = "dynamo", stage: str | None = None,
         reason: str | None = None, library: str = "transformers") -> dict:
    column = f"onnx-{engine}"
    return {"id": f"{library}/{model_type}/{column}/{task}", "library": library, "model_type": model_type,
            "exporter": "onnx", "engine": engine, "column": column, "task": task, "status": status,
            "stage": stage, "reason": reason}


PAIRS = [("bert", "fill-mask"), ("bert", "text-classification"), ("gpt2", "text-generation"),
         ("llama", "text-generation"), ("gpt_neo", "text-generation"), ("t5", "text2text-generation"),
         ("opt", "text-generation")]

CELLS = [
    cell("bert", "fill-mask"),
    cell("bert", "fill-mask", "failed", "torchscript", "run", "onnxruntime error\nsecond line"),
    cell("bert", "text-classification", "failed", stage="compare", reason="max abs diff 3e-3"),
    cell("gpt2", "text-generation"), cell("gpt2", "text-generation-with-past"),
    cell("llama", "text-generation"),  # certified, but its cache is neither certified nor declared
    cell("gpt-neo", "text-generation"),  # the other spelling of gpt_neo
    cell("gpt-neo", "text-generation-with-past", "xfail", stage="capture", reason="declared: cache layout"),
    cell("t5", "text2text-generation", "timeout", stage="run", reason="case timed out"),
    cell("resnet", "image-classification", library="timm"),  # another library: not a transformers pair
]


def test_pairs_are_counted_by_their_base_task_with_either_spelling():
    report = coverage({"cells": CELLS}, PAIRS)
    assert report["pairs"] == 7 and report["model_types"] == 6
    # opt has no cell; every other pair has one
    assert report["with_cell"] == 6 and report["model_types_with_cell"] == 5
    # bert/fill-mask (dynamo), gpt2, llama, gpt_neo; not bert/text-classification, t5
    assert report["certified"] == 4
    assert report["per_task"]["text-generation"] == {"pairs": 4, "with_cell": 3, "certified": 3}
    assert report["per_task"]["text-classification"] == {"pairs": 1, "with_cell": 1, "certified": 0}
    assert report["with_cell_percent"] == round(100 * 6 / 7, 1)


def test_generation_certified_without_its_cache_is_listed_unless_declared():
    report = coverage({"cells": CELLS}, PAIRS)
    assert report["certified_without_past"] == ["llama/text-generation"]


def test_causes_are_counted_by_stage_and_first_line_and_engines_apart():
    more = CELLS + [cell("bert", "fill-mask", "failed", "torchscript", "run", "onnxruntime error\nother detail")]
    report = coverage({"cells": more}, PAIRS)
    assert report["commonest_causes"][0] == {"stage": "run", "cause": "onnxruntime error", "cells": 2}
    assert report["per_engine"]["onnx-torchscript"] == {"failed": 2}
    assert report["per_engine"]["onnx-dynamo"] == {"certified": 4, "failed": 1, "timeout": 1}
    assert "with-past" not in json.dumps(report["per_engine"])  # base tasks only


def test_cells_of_pairs_no_auto_class_backs_are_named():
    report = coverage({"cells": CELLS + [cell("bert", "image-classification")]}, PAIRS)
    assert report["cells_outside_auto_pairs"] == ["bert/image-classification"]
    assert report["pairs"] == 7


def test_text_report_names_a_different_installed_transformers():
    report = coverage({"cells": CELLS}, PAIRS)
    drift = ["torch 2.16.0 (certified with 2.15.0)", "transformers 5.1.0 (certified with 5.0.0)"]
    lines = text_report(report, drift=drift)
    assert lines[0] == "note: pairs read from transformers 5.1.0 (certified with 5.0.0)"
    assert not lines[1].startswith("note")  # another package's drift does not change the pairs
    assert any(line.strip().startswith("text-generation") and line.split()[1:] == ["4", "3", "3"] for line in lines)
    assert not text_report(report)[0].startswith("note")


def test_the_command_reads_the_published_matrix(capsys):
    from exportkit.transformers_auto import auto_pairs
    from reports.matrix import load_matrix

    assert main(["coverage", str(PUBLISHED), "--json"]) == EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    assert printed["pairs"] == len(auto_pairs())
    assert printed == coverage(load_matrix(PUBLISHED))
    assert main(["coverage"]) == EXIT_OK  # the published matrix by default, wherever it is run
    assert "transformers Auto-backed pairs:" in capsys.readouterr().out


def test_the_command_reads_a_written_matrix_and_refuses_a_bad_file(tmp_path, capsys):
    write_matrix(build_matrix(CELLS, versions={}), tmp_path)
    assert main(["coverage", str(tmp_path / "support-matrix.json"), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["with_cell"] == 6
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["coverage", str(tmp_path / "bad.json")]) == EXIT_BAD_INPUT
    assert "invalid JSON" in capsys.readouterr().err
