"""`exportkit certify MODEL_DIR`: a user's checkpoint gets the matrix's checks and a certificate."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import save_file

from conftest import tiny_bert_config, tiny_gpt2_config
from conformance.zoo import build_tiny_model
from exportkit.cli import main
from exportkit.errors import EXIT_BAD_INPUT, EXIT_NO, EXIT_OK


def _bert(root: Path) -> Path:
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(tiny_bert_config()).save_pretrained(root / "bert")
    return root / "bert"


def _gpt2(root: Path) -> Path:
    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(tiny_gpt2_config()).save_pretrained(root / "gpt2")
    return root / "gpt2"


def _timm(root: Path) -> Path:
    import timm

    (root / "timm").mkdir()
    save_file(timm.create_model("resnet10t", pretrained=False, num_classes=3).state_dict(),
              str(root / "timm" / "model.safetensors"))
    (root / "timm" / "config.json").write_text(json.dumps({"architecture": "resnet10t", "num_classes": 3}))
    return root / "timm"


def _sentence_transformers(root: Path) -> Path:
    build_tiny_model("sentence_transformers", "bert", "sentence-similarity", seed=0).model.save(str(root / "st"))
    return root / "st"


CHECKPOINTS = {
    "tiny BERT, text-classification": (_bert, "text-classification", ["logits"]),
    "tiny GPT-2, text-generation with past": (_gpt2, "text-generation-with-past", ["logits", "present.0.key"]),
    "timm ResNet": (_timm, "image-classification", ["logits"]),
    "sentence-transformers directory": (_sentence_transformers, "sentence-similarity", ["sentence_embedding"]),
}


@pytest.mark.parametrize("make,task,outputs", CHECKPOINTS.values(), ids=CHECKPOINTS.keys())
def test_certify_writes_a_certificate_of_what_was_compared(capsys, tmp_path, make, task, outputs):
    model = make(tmp_path)
    out = tmp_path / "certificates.json"
    status = main(["certify", str(model), "--task", task, "--engine", "torchscript", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == EXIT_OK, printed.out + printed.err
    (record,) = json.loads(out.read_text())
    assert record["status"] == "certified" and record["task"] == task
    assert record["examples"] >= 8 and len(record["shapes_tried"]) == record["examples"]
    if task != "image-classification":  # text inputs: padded batches were among those compared
        assert {"right", "ragged-right", "ragged-left"} & set(record["masks"]), record["masks"]
    for name in outputs:
        compared = record["outputs"][name]
        assert compared["max_abs_diff"] <= compared["atol"]
    assert "certified" in printed.out and "sizes " in printed.out and "masks " in printed.out
    # progress while it ran: each stage and each example, as they started
    assert "base: capture (exporting with the torchscript engine)" in printed.err
    assert f"base: example {record['examples']}: " in printed.err
    page = (tmp_path / "certificates.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and record["id"] in page


PLANTED = '''
import torch
from transformers import BertForSequenceClassification


class PlantedBert(BertForSequenceClassification):
    """A defect a real checkpoint's own code can have: the batch size read as a Python number."""

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        out = super().forward(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              **kwargs)
        out.logits = out.logits + torch.zeros(int(input_ids.shape[0]), 1)
        return out
'''


def test_a_broken_export_is_shown_failing_with_its_stage_and_minimal_shape(capsys, tmp_path):
    model = _bert(tmp_path)
    config = json.loads((model / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_planted.PlantedBert"}
    (model / "config.json").write_text(json.dumps(config))
    (model / "modeling_planted.py").write_text(textwrap.dedent(PLANTED))
    out = tmp_path / "certificates.json"
    status = main(["certify", str(model), "--engine", "torchscript", "--trust-remote-code", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == EXIT_NO, printed.out + printed.err
    (record,) = json.loads(out.read_text())
    assert record["status"] == "failed"
    assert record["stage"] in ("run", "shapes", "compare")
    assert record["minimal_failing_shape"]["batch_size"] == 1  # shrunk to the smallest batch that differs
    assert "minimal failing shape" in printed.out and "reproduce: exportkit certify" in printed.out


def test_certify_refuses_an_unsupported_task_before_loading(capsys, tmp_path):
    model = _bert(tmp_path)
    status = main(["certify", str(model), "--task", "image-classification", "--out", str(tmp_path / "c.json")])
    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT and "does not support task 'image-classification'" in err
    assert "loading" not in err and not (tmp_path / "c.json").exists()
