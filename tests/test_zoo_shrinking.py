"""How the transformers zoo shrinks a config: sizes shrink, structural choices stay."""

from __future__ import annotations

from conformance.zoo.sizes import TINY_SIZES
from conformance.zoo.transformers_zoo import build, tiny_config


def test_a_backbone_keeps_the_stages_its_parent_reads():
    # RT-DETR's encoder reads three backbone stages; the backbone class alone defaults to its last
    config = tiny_config("rt-detr", "object-detection")
    assert config.backbone_config.out_features == ["stage2", "stage3", "stage4"]
    assert config.backbone_config.depths == [1, 1, 1, 1]  # and is shrunk all the same


def test_stages_a_shrunk_backbone_lacks_are_not_kept():
    # Depth Anything reads DINOv2 layers 9 to 12; the tiny DINOv2 has two layers, so the
    # backbone keeps its own default rather than failing to build
    config = tiny_config("depth-anything", "depth-estimation")
    assert set(config.backbone_config.out_features) <= set(config.backbone_config.stage_names)


def test_a_sub_config_takes_its_own_familys_overrides():
    # Gemma 3n's text model needs layers of both kinds before its KV-shared ones, in the
    # composite config as in the text config alone
    alone, composite = tiny_config("gemma3n-text"), tiny_config("gemma3n", "text-generation")
    assert alone.num_kv_shared_layers == composite.text_config.num_kv_shared_layers == 2
    assert alone.layer_types == composite.text_config.layer_types


def test_a_part_of_a_composite_type_is_built_from_its_own_config():
    model, _ = build("musicgen", "text-generation")
    assert type(model).__name__ == "MusicgenForCausalLM"
    assert type(model.config).__name__ == "MusicgenDecoderConfig"


def test_detection_queries_fit_the_smallest_image():
    # RT-DETR picks its queries among the anchors of every feature level: 21 at 32 pixels
    assert tiny_config("rt-detr", "object-detection").num_queries == TINY_SIZES["num_queries"] <= 21


def test_m_rope_sections_split_the_tiny_heads_rotary_half():
    for model_type in ("qwen2-vl-text", "qwen2-5-vl-text", "glm4v-text", "glm-image-text", "glm-ocr-text"):
        config = tiny_config(model_type)
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        assert sum(config.rope_parameters["mrope_section"]) == head_dim // 2, model_type


def test_kv_shared_layers_have_no_cache_of_their_own():
    # Gemma 3n's last num_kv_shared_layers attend with an earlier layer's keys and values
    from exportkit import TasksManager

    config = tiny_config("gemma3n-text", "text-generation")
    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", model_type="gemma3n-text", task="text-generation-with-past", library_name="transformers")
    export_config = constructor(config)
    cached = config.num_hidden_layers - config.num_kv_shared_layers
    assert [name for name in export_config.inputs if name.startswith("past_key_values.")] == [
        f"past_key_values.{layer}.{kind}" for layer in range(cached) for kind in ("key", "value")]


def test_document_models_take_each_tokens_box():
    # LayoutLM and kin embed each token's page position: the export takes bbox, boxes in order
    from exportkit import TasksManager

    for model_type, task in (("layoutlm", "token-classification"), ("lilt", "text-classification"),
                             ("layoutlmv3", "question-answering")):
        config = tiny_config(model_type, task)
        export_config = TasksManager.get_exporter_config_constructor(
            "onnx", model_type=model_type, task=task, library_name="transformers")(config)
        assert export_config.inputs["bbox"] == {0: "batch_size", 1: "sequence_length"}, model_type
        boxes = export_config.generate_dummy_inputs(batch_size=3, sequence_length=7)["bbox"]
        assert boxes.shape == (3, 7, 4) and not boxes.is_floating_point()
        assert (boxes[..., 0] <= boxes[..., 2]).all() and (boxes[..., 1] <= boxes[..., 3]).all()
        assert boxes.min() >= 0 and boxes.max() < config.max_2d_position_embeddings
