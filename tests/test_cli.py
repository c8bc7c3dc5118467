"""The exportkit command, run in-process through its main()."""

from __future__ import annotations

import json

import pytest
import transformers

from exportkit.cli import build_parser, main
from reports import build_matrix, write_matrix


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit):
        main(["export", "onnx", "--help"])
    text = capsys.readouterr().out
    for action in build_parser()._subparsers._group_actions[0].choices["export"]._subparsers._group_actions[0] \
            .choices["onnx"]._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"
            assert action.option_strings[0] in text


def test_tasks_lists_tasks_with_their_libraries(capsys):
    assert main(["tasks", "bert"]) == 0
    out = capsys.readouterr().out
    assert "text-classification" in out and "sentence-similarity" in out
    assert "sentence_transformers, transformers" in next(line for line in out.splitlines()
                                                         if line.startswith("feature-extraction"))


def test_unknown_model_type_suggests_close_names(capsys):
    assert main(["tasks", "bertt"]) == 2
    err = capsys.readouterr().err
    assert "did you mean" in err and "'bert'" in err


def test_a_hub_id_fails_at_once_with_a_clear_message(capsys, tmp_path):
    assert main(["export", "onnx", "--model", "bert-base-uncased", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "local directories only" in err
    assert not (tmp_path / "out").exists()


def test_export_from_a_local_directory_validates_twice(capsys, tmp_path):
    config = transformers.GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                     bos_token_id=0, eos_token_id=0)
    transformers.GPT2LMHeadModel(config).save_pretrained(tmp_path / "gpt2")
    out = tmp_path / "onnx"
    code = main(["export", "onnx", "--model", str(tmp_path / "gpt2"), "--task", "causal-lm-with-past",
                 "--engine", "torchscript", "--batch-size", "3", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (out / "model.onnx").is_file()
    validated = [line for line in captured.err.splitlines() if "validated model" in line]
    assert len(validated) == 2
    assert "'past_sequence_length': 0" in validated[1]  # an empty cache is checked too


def cell(model_type, task, column, status, **extra):
    return {"id": f"transformers/{model_type}/{column}/{task}", "library": "transformers",
            "model_type": model_type, "exporter": "onnx", "column": column, "task": task,
            "status": status, "stage": None, **extra}


def _matrix(tmp_path):
    records = [
        cell("bert", "text-classification", "onnx-dynamo", "certified"),
        cell("bert", "fill-mask", "onnx-torchscript", "failed", stage="compare", reason="max abs diff 0.3"),
        cell("gpt2", "text-generation", "onnx-dynamo", "failed", stage="capture", reason="boom"),
    ]
    json_path, _ = write_matrix(build_matrix(records, versions={}), tmp_path)
    return json_path


def test_support_answers_from_the_matrix(capsys, tmp_path):
    path = _matrix(tmp_path)
    assert main(["support", "bert", "--matrix", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 cells certified" in out
    assert "[compare] max abs diff 0.3" in out

    assert main(["support", "gpt2", "--matrix", str(path)]) == 1  # nothing certified
    capsys.readouterr()
    assert main(["support", "bert", "--matrix", str(path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_support_for_an_unknown_model_type_or_missing_matrix(capsys, tmp_path):
    path = _matrix(tmp_path)
    assert main(["support", "berty", "--matrix", str(path)]) == 1
    assert "did you mean 'bert'" in capsys.readouterr().err
    assert main(["support", "bert", "--matrix", str(tmp_path / "nope.json")]) == 2
    assert "not a support matrix file" in capsys.readouterr().err


def test_support_answers_from_the_shipped_matrix_anywhere(capsys, tmp_path, monkeypatch):
    from exportkit.support_matrix import shipped_matrix
    from reports import load_matrix

    monkeypatch.chdir(tmp_path)  # outside a checkout: the matrix comes with the package
    assert main(["support", "bert"]) == 0
    out = capsys.readouterr().out
    shipped = [c for c in load_matrix(shipped_matrix())["cells"] if c["model_type"] == "bert"]
    certified = sum(c["status"] == "certified" for c in shipped)
    assert f"bert: {certified} of {len(shipped)} cells certified" in out


def test_support_reads_the_model_type_from_a_local_directory(capsys, tmp_path):
    path = _matrix(tmp_path)
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    assert main(["support", str(model_dir), "--matrix", str(path)]) == 0
    assert "bert: 1 of 2 cells certified" in capsys.readouterr().out


def test_support_warns_when_installed_versions_differ_from_the_certified_ones(capsys, tmp_path):
    records = [cell("bert", "feature-extraction", "onnx-dynamo", "certified")]
    path, _ = write_matrix(build_matrix(records, versions={"torch": "0.0.1"}), tmp_path)
    assert main(["support", "bert", "--matrix", str(path)]) == 0
    captured = capsys.readouterr()
    assert "(certified with 0.0.1)" in captured.err and "torch 0.0.1" in captured.out
