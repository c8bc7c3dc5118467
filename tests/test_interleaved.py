"""Vision- and audio-language models (LLaVA, Voxtral and their kin) export as three graphs that
compose to the model."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import torch

from conformance.zoo import transformers_zoo
from exportkit.exporters.onnx.interleaved import VisionLanguageOnnxConfig
from exportkit.exporters.onnx.convert import export_models
from exportkit.exporters.onnx.models.auto import AutoOnnxConfig, DerivedConfigError, derived_config_class

PLACEHOLDER = 7  # an id inside the tiny vocabulary stands for the image's or clip's features


def test_a_vision_language_model_is_derived_to_three_graphs():
    config = AutoOnnxConfig(transformers_zoo.tiny_config("llava", "feature-extraction"), task="feature-extraction")
    assert isinstance(config, VisionLanguageOnnxConfig)
    parts = config.submodels()
    assert tuple(parts) == ("vision_encoder", "embed_tokens", "language_model")
    assert {stem: set(part.input_specs) for stem, part in parts.items()} == {
        "vision_encoder": {"pixel_values"},
        "embed_tokens": {"input_ids"},
        "language_model": {"inputs_embeds", "attention_mask"},
    }
    assert {stem: set(part.output_specs) for stem, part in parts.items()} == {
        "vision_encoder": {"image_features"},
        "embed_tokens": {"inputs_embeds"},
        "language_model": {"last_hidden_state"},
    }
    # the text axes are dynamic; the vision tower takes one image of its config's size
    assert parts["language_model"].inputs["inputs_embeds"] == {0: "batch_size", 1: "sequence_length"}
    assert parts["vision_encoder"].inputs["pixel_values"] == {}


def test_an_audio_language_model_generates_with_its_cache_in_the_language_model_graph():
    config = AutoOnnxConfig(transformers_zoo.tiny_config("voxtral", "text2text-generation"),
                            task="text2text-generation", use_past=True)
    parts = config.submodels()
    assert tuple(parts) == ("audio_encoder", "embed_tokens", "language_model")
    language = parts["language_model"]
    assert {"inputs_embeds", "attention_mask"} < set(language.input_specs)
    assert language.inputs["attention_mask"] == {0: "batch_size", 1: "total_sequence_length"}
    assert any(name.startswith("past_key_values.") for name in language.input_specs)
    assert "logits" in language.output_specs and any(name.startswith("present.") for name in language.output_specs)
    assert set(parts["audio_encoder"].input_specs) == {"input_features"}  # Voxtral's tower takes no mask
    assert set(parts["audio_encoder"].output_specs) == {"audio_features"}


@pytest.mark.parametrize(("model_type", "cause"), [
    ("chameleon", "names no image size"),
    ("molmo2", "needs image_grids, image_token_pooling besides the pixels"),
    ("llava-next", "image_grid_pinpoints"),
    ("mllama", "no get_image_features"),
    ("tvp", "takes no inputs_embeds"),
    ("omniasr", "needs input_values besides log-mel frames"),
])
def test_a_vision_language_model_that_does_not_fit_is_refused_with_what_keeps_it_out(model_type, cause):
    with pytest.raises(DerivedConfigError, match=cause):
        derived_config_class(model_type, "feature-extraction")


@pytest.mark.parametrize(("model_type", "placeholder_field"), [("llava", "image_token_id"),
                                                             ("voxtral", "audio_token_id")])
def test_the_three_graphs_composed_as_a_runtime_does_give_what_the_model_gives(tmp_path, model_type,
                                                                              placeholder_field):
    torch.manual_seed(0)
    model, _ = transformers_zoo.build(model_type, "feature-extraction", **{placeholder_field: PLACEHOLDER})
    model.eval()
    config = AutoOnnxConfig(model.config, task="feature-extraction")
    results = export_models(model, config, tmp_path, engine="torchscript")
    run = {stem: onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
           for stem, result in results.items()}

    tower = config.TOWER
    item = config.submodels()[tower].generate_dummy_inputs(padding={})  # one image or clip
    (features,) = run[tower].run(None, {name: value.numpy() for name, value in item.items()})
    # a prompt: text, the item's placeholders, more text; the second row left-padded
    text = torch.randint(PLACEHOLDER + 1, model.config.get_text_config().vocab_size, (2, 9))
    ids = torch.cat([text[:, :4], torch.full((2, len(features)), PLACEHOLDER), text[:, 4:]], dim=1)
    mask = torch.ones_like(ids)
    mask[1, :2] = 0
    ids[1, :2] = model.config.get_text_config().pad_token_id or 0
    (embeds,) = run["embed_tokens"].run(None, {"input_ids": ids.numpy()})
    merged = embeds.copy()
    for row in range(len(ids)):  # the runtime's write: each feature over its placeholder
        merged[row, (ids[row] == PLACEHOLDER).numpy()] = features
    (hidden,) = run["language_model"].run(None, {"inputs_embeds": merged, "attention_mask": mask.numpy()})

    with torch.no_grad():  # each row with its own copy of the item
        expected = model(input_ids=ids, attention_mask=mask,
                         **{name: value.expand(2, *value.shape[1:]) for name, value in item.items()})
    real = mask.bool().numpy()
    np.testing.assert_allclose(hidden[real], expected.last_hidden_state.numpy()[real], atol=1e-4)


def test_a_patch_grid_vision_tower_exports_one_static_grid():
    from exportkit.exporters.onnx.config import PatchGridVisionOnnxConfig

    config = AutoOnnxConfig(transformers_zoo.tiny_config("qwen2-5-vl-vision", "feature-extraction"),
                            task="feature-extraction")
    assert isinstance(config, PatchGridVisionOnnxConfig)
    assert config.PIXELS_ARGUMENT == "hidden_states"  # the tower's own name for the patches
    assert config.inputs["pixel_values"] == {}  # every axis static: the grid is the export's constant
    side = config.GRID_SIDE
    kwargs = config.model_kwargs(config.generate_dummy_inputs())
    assert kwargs["grid_thw"].tolist() == [[1, side, side]]
    assert kwargs["hidden_states"].shape[0] == side * side


def test_a_patch_grid_vision_language_model_takes_its_multimodal_positions_as_an_input():
    from exportkit.exporters.onnx.interleaved import PatchGridVisionLanguageOnnxConfig

    config = AutoOnnxConfig(transformers_zoo.tiny_config("qwen2-vl", "feature-extraction"), task="feature-extraction")
    assert isinstance(config, PatchGridVisionLanguageOnnxConfig) and config.MULTIMODAL_POSITIONS
    parts = config.submodels()
    assert set(parts["language_model"].input_specs) == {"inputs_embeds", "attention_mask", "position_ids"}
    assert parts["language_model"].inputs["position_ids"] == {1: "batch_size", 2: "sequence_length"}
    assert parts["vision_encoder"].inputs["pixel_values"] == {}  # one grid of GRID_SIDE x GRID_SIDE patches
    # a vision-language model whose language model numbers its own positions takes none
    plain = derived_config_class("lfm3-vl", "feature-extraction")
    assert issubclass(plain, PatchGridVisionLanguageOnnxConfig) and not plain.MULTIMODAL_POSITIONS


def test_the_dummy_multimodal_positions_place_an_image_grid_mid_prompt():
    from exportkit.exporters.onnx.interleaved import multimodal_positions

    positions = multimodal_positions(3, 2, 10)
    assert positions.shape == (3, 2, 10)
    assert positions[:, 0, :2].tolist() == [[0, 1]] * 3  # text before the image counts up on every row
    assert positions[:, 0, 2:6].tolist() == [[2, 2, 2, 2], [2, 2, 3, 3], [2, 3, 2, 3]]  # time, rows, columns
    assert positions[:, 0, 6:].tolist() == [[4, 5, 6, 7]] * 3  # after the image: on from the largest position
    assert torch.equal(positions[:, 0], positions[:, 1])
    assert multimodal_positions(4, 1, 5)[0, 0].tolist() == [0, 1, 2, 3, 4]  # a leading text-position row


def test_a_patch_grid_vision_language_model_composes_with_positions_from_get_rope_index(tmp_path):
    torch.manual_seed(0)
    model, _ = transformers_zoo.build("qwen2-vl", "feature-extraction", image_token_id=PLACEHOLDER)
    model.eval()
    config = AutoOnnxConfig(model.config, task="feature-extraction")
    results = export_models(model, config, tmp_path, engine="torchscript")
    run = {stem: onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
           for stem, result in results.items()}

    item = config.submodels()["vision_encoder"].generate_dummy_inputs(padding={})
    (features,) = run["vision_encoder"].run(None, {"pixel_values": item["pixel_values"].numpy()})
    text = torch.randint(PLACEHOLDER + 1, model.config.get_text_config().vocab_size, (2, 9))
    ids = torch.cat([text[:, :4], torch.full((2, len(features)), PLACEHOLDER), text[:, 4:]], dim=1)
    mask = torch.ones_like(ids)
    mask[1, :2] = 0
    types = (ids == PLACEHOLDER).int()  # the processor's mm_token_type_ids: 1 for an image's tokens
    grid = torch.tensor([[1, config.GRID_SIDE, config.GRID_SIDE]] * 2)
    positions, _ = model.get_rope_index(ids, types, image_grid_thw=grid, attention_mask=mask)
    (embeds,) = run["embed_tokens"].run(None, {"input_ids": ids.numpy()})
    merged = embeds.copy()
    for row in range(len(ids)):
        merged[row, (ids[row] == PLACEHOLDER).numpy()] = features
    (hidden,) = run["language_model"].run(None, {"inputs_embeds": merged, "attention_mask": mask.numpy(),
                                                 "position_ids": positions.numpy()})

    with torch.no_grad():  # both rows with the same image, its patches as the processor flattens them
        expected = model(input_ids=ids, attention_mask=mask, mm_token_type_ids=types, image_grid_thw=grid,
                         pixel_values=torch.cat([item["pixel_values"]] * 2))
    real = mask.bool().numpy()
    np.testing.assert_allclose(hidden[real], expected.last_hidden_state.numpy()[real], atol=1e-4)
