"""Longformer's and LED's masked-window attention, and Wav2Vec2-Conformer's in-graph position
tables, compute what the models' own length-dependent code computes."""

from __future__ import annotations

import pytest
import torch

from conformance.zoo import transformers_zoo
from exportkit.exporters.onnx.patcher import ModelPatcher
from exportkit.exporters.onnx.sequence_patches import position_table_patches, sliding_chunks_patches


class _Patches:
    """A config that asks for exactly ``specs``."""

    def __init__(self, specs):
        self.patching_specs = lambda model: specs


def _outputs(model, specs, **inputs):
    with torch.no_grad():
        expected = model(**inputs)
        with ModelPatcher(_Patches(specs), model):
            found = model(**inputs)
    return expected, found


@pytest.mark.parametrize("model_type,task", [("longformer", "question-answering"), ("led", "feature-extraction")])
@pytest.mark.parametrize("length", [3, 11, 29])
def test_the_masked_window_attention_is_the_chunked_one(model_type, task, length):
    torch.manual_seed(0)
    model, _ = transformers_zoo.build(model_type, task)
    model.eval()
    specs = sliding_chunks_patches(model)
    assert {spec.name for spec in specs} == {"forward", "_pad_to_window_size"}
    input_ids = torch.randint(3, model.config.vocab_size, (2, length))
    attention_mask = torch.ones(2, length, dtype=torch.long)
    attention_mask[1, length - length // 3:] = 0  # the second row padded on the right
    global_attention_mask = (torch.rand(2, length) < 0.3).long()
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "global_attention_mask": global_attention_mask}
    if model_type == "led":
        inputs["decoder_input_ids"] = input_ids[:, :4]
    expected, found = _outputs(model, specs, **inputs)
    for name, want in expected.items():
        if isinstance(want, torch.Tensor):
            got = found[name]
            if name in ("last_hidden_state", "encoder_last_hidden_state"):
                # a padded position's state is the model's own business; the real ones must agree
                keep = attention_mask.bool() if want.shape[1] == length else torch.ones(want.shape[:2], dtype=bool)
                want, got = want[keep], got[keep]
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_the_conformer_tables_follow_the_input_length():
    torch.manual_seed(0)
    model, _ = transformers_zoo.build("wav2vec2-conformer", "feature-extraction")
    model.eval()
    specs = position_table_patches(model)
    assert {spec.name for spec in specs} == {"forward", "_apply_relative_position_encoding"}
    frames_past_the_table = (model.config.max_source_positions + 8) * 320
    for samples in (1600, frames_past_the_table):
        expected, found = _outputs(model, specs, input_values=torch.randn(1, samples))
        torch.testing.assert_close(found.last_hidden_state, expected.last_hidden_state, atol=1e-5, rtol=1e-4)


def test_other_models_get_no_sequence_patch():
    model, _ = transformers_zoo.build("bert", "feature-extraction")
    assert sliding_chunks_patches(model) == [] and position_table_patches(model) == []


@pytest.mark.parametrize("task", ["question-answering", "multiple-choice"])
def test_longformer_takes_its_global_attention_as_an_input(task):
    from types import SimpleNamespace

    from conformance.certify import build_from_zoo

    case = SimpleNamespace(exporter="onnx", model_type="longformer", task=task, library="transformers")
    model, config = build_from_zoo(case, 0)
    assert "global_attention_mask" in config.input_specs
    inputs = config.generate_dummy_inputs()
    mask = inputs["global_attention_mask"]
    assert mask.shape == inputs["input_ids"].shape and set(mask.unique().tolist()) <= {0, 1}
    with torch.no_grad():
        model.eval()(**inputs)  # random ids hold no three separators: the model runs on the given mask
