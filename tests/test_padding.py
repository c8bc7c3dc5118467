"""Padded batches, size thresholds and sizes derived from a model's configuration."""

from __future__ import annotations

import numpy as np
import pytest
import transformers

from exportkit import TasksManager
from exportkit.padding import Padding, undefined_positions
from exportkit.thresholds import THRESHOLD_FIELDS, thresholds_of


def test_padding_marks_rows_on_either_side():
    assert Padding("right", (0, 2)).valid((2, 4)).tolist() == [[True] * 4, [True, True, False, False]]
    assert Padding("left", (1, 3)).valid((2, 4)).tolist() == [[False, True, True, True], [False] * 3 + [True]]
    assert Padding.none().valid((2, 3)).all()
    # a multiple-choice mask: every (batch, choice) row is padded on its own
    assert Padding("right", (0, 1, 2, 0)).valid((2, 2, 3)).sum() == 12 - 3


def test_padding_kinds_and_descriptions():
    assert Padding.none().kind == "none"
    assert Padding("left", (2, 2)).kind == "left"
    assert Padding("right", (0, 3)).kind == "ragged-right"
    assert Padding("left", (0, 3)).describe() == "ragged-left [0, 3]"
    assert Padding("right", tuple(range(20))).describe() == "ragged-right [20 rows, 0-19 padded]"


def test_padding_refuses_what_no_tokenizer_makes():
    with pytest.raises(ValueError, match="side"):
        Padding("middle", (1,))
    with pytest.raises(ValueError, match="non-negative"):
        Padding("left", (-1,))
    with pytest.raises(ValueError, match="without a real token"):
        Padding("left", (4,)).valid((1, 4))
    with pytest.raises(ValueError, match="rows"):
        Padding("left", (1, 1)).valid((3, 4))


def test_typical_padding_is_ragged_and_keeps_a_token_per_row():
    assert Padding.typical(3, 16, "left") == Padding("left", (0, 4, 4))
    assert Padding.typical(1, 8) == Padding("right", (2,))
    assert Padding.typical(4, 1).kind == "none"  # one position cannot be padded


def test_undefined_positions_align_outputs_with_the_mask_from_the_right():
    valid = Padding("left", (0, 3)).valid((2, 5))
    # logits over 2 new tokens, mask over 3 cached + 2 new: the new tokens are the mask's last positions
    found = undefined_positions(("batch_size", "sequence_length", "vocab"), (2, 2, 7),
                                ("batch_size", "total_sequence_length"), {"total_sequence_length", "sequence_length"},
                                valid)
    assert found.shape == (2, 2, 7) and not found[0].any() and not found[1].any()
    found = undefined_positions(("batch_size", "heads", "total_sequence_length", "head_dim"), (2, 4, 5, 8),
                                ("batch_size", "total_sequence_length"), {"total_sequence_length"}, valid)
    assert found[1, :, :3].all() and not found[1, :, 3:].any()
    # a pooled output has no position axis: nothing is undefined
    assert undefined_positions(("batch_size", None), (2, 3), ("batch_size", "total_sequence_length"),
                               {"total_sequence_length"}, valid) is None


def test_thresholds_are_read_from_the_config_and_its_sub_configs():
    mistral = transformers.MistralConfig(sliding_window=12)
    axes = {"sequence_length", "total_sequence_length"}
    found = thresholds_of(mistral, THRESHOLD_FIELDS, axes)
    assert [(t.field, t.value) for t in found] == [("sliding_window", 12)]
    assert found[0].axes == ("sequence_length", "total_sequence_length")
    assert thresholds_of(transformers.MistralConfig(sliding_window=None), THRESHOLD_FIELDS, axes) == []
    t5 = transformers.T5Config(relative_attention_num_buckets=8, relative_attention_max_distance=16)
    values = {(t.field, t.value) for t in thresholds_of(t5, THRESHOLD_FIELDS, {"encoder_sequence_length"})}
    assert values == {("relative_attention_num_buckets", 8), ("relative_attention_max_distance", 16)}
    # an axis the export does not have takes no threshold
    assert thresholds_of(mistral, THRESHOLD_FIELDS, {"height"}) == []


def test_a_config_names_the_thresholds_of_its_model(llama_config):
    llama_config.sliding_window = 12  # as Mistral sets it
    constructor = TasksManager.get_exporter_config_constructor("onnx", model_type="mistral",
                                                               task="text-generation-with-past")
    config = constructor(llama_config)
    assert [(t.field, t.value) for t in config.thresholds()] == [("sliding_window", 12)]
    # under a window, far right-padded positions attend to nothing as well
    assert config.padding_undefined_after() == {"left", "right"}


def test_an_encoder_with_local_attention_has_a_threshold_and_undefined_padded_positions():
    # ModernBERT's local layers: a padded position more than half the window from every real
    # token attends to padding only, on either side (its output differed by 1e-3 from PyTorch).
    modernbert = transformers.ModernBertConfig(hidden_size=32, num_attention_heads=4, intermediate_size=37,
                                               num_hidden_layers=2, local_attention=16, vocab_size=99)
    constructor = TasksManager.get_exporter_config_constructor("onnx", model_type="modernbert",
                                                               task="token-classification")
    config = constructor(modernbert)
    assert ("local_attention", 16) in [(t.field, t.value) for t in config.thresholds()]
    assert config.padding_undefined_after() == {"left", "right"}
    bert = TasksManager.get_exporter_config_constructor("onnx", model_type="bert", task="token-classification")
    assert bert(transformers.BertConfig()).padding_undefined_after() == frozenset()


def resnet_config(**changes):
    return transformers.ResNetConfig(**{"embedding_size": 16, "hidden_sizes": (16, 32, 64, 128),
                                        "depths": (1, 1, 1, 1), **changes})


def test_the_smallest_image_follows_the_total_stride_of_the_config():
    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", model_type="resnet", task="image-classification", library_name="transformers")
    plain = constructor(resnet_config()).axes["height"]
    assert plain.min == 64  # stride 32: two positions in the last feature map
    deep = constructor(resnet_config(downsample_in_first_stage=True)).axes["height"]
    assert deep.min == 128 and deep.default >= 128  # stride 64
    three_stages = constructor(resnet_config(hidden_sizes=(16, 32, 64), depths=(1, 1, 1))).axes["height"]
    assert three_stages.min == 32


def test_timm_image_sizes_follow_the_model_feature_info():
    import timm

    from exportkit.loading import model_config

    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", model_type="resnet", task="image-classification", library_name="timm")
    for output_stride, expected in ((32, 32), (16, 16)):
        model = timm.create_model("resnet10t", pretrained=False, num_classes=3, output_stride=output_stride)
        height = constructor(model_config(model)).axes["height"]
        assert (height.min, height.multiple_of) == (2 * expected, expected)


def test_validation_skips_only_the_positions_a_config_declares_undefined(tiny):
    import torch

    from exportkit.exporters.onnx import compare_outputs

    model = tiny.build(transformers.LlamaForCausalLM, tiny.llama())
    config = TasksManager.get_exporter_config_constructor("onnx", model, task="text-generation")(model.config)

    class Broken:  # an "ONNX session" that differs from PyTorch only at padded positions
        def __init__(self, fill):
            self.fill = fill

        def get_inputs(self):
            return [type("I", (), {"name": name}) for name in config.input_specs]

        def get_outputs(self):
            return [type("O", (), {"name": "logits"})]

        def run(self, names, feed):
            with torch.no_grad():
                logits = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()
            logits[feed["attention_mask"] == 0] = self.fill
            return [logits]

    dims = {"batch_size": 2, "sequence_length": 6}
    left = {"attention_mask": Padding("left", (0, 3))}
    report = compare_outputs(config, model, Broken(1e3), dims, padding=left)
    assert report.ok and report.outputs["logits"].skipped_positions == 3 * model.config.vocab_size
    right = {"attention_mask": Padding("right", (0, 3))}  # right-padded positions are defined: compared
    report = compare_outputs(config, model, Broken(1e3), dims, padding=right)
    assert not report.ok and report.outputs["logits"].max_abs_diff > 100
    assert np.isfinite(report.outputs["logits"].max_abs_diff)
