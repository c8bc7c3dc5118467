"""timm by module: every timm module is a registry model type with a tiny zoo model, and the
input facts of a timm model are read off the model itself."""

from __future__ import annotations

import pytest
import timm
import torch

from conformance.zoo import timm_zoo
from exportkit import TasksManager
from exportkit.errors import ModelLoadingError
from exportkit.loading import infer_task, model_config
from exportkit.timm_models import model_facts, module_names, module_of, module_of_model


def config_for(model, task="image-classification"):
    constructor = TasksManager.get_exporter_config_constructor("onnx", model, task=task, library_name="timm")
    return constructor(model_config(model))


def test_every_timm_module_is_registered_for_both_tasks_and_has_a_tiny_model():
    registered = {(entry.model_type, str(entry.task)) for entry in TasksManager.list_registrations(library="timm")}
    modules = module_names()
    assert len(modules) == len(timm.list_modules())
    for module in modules:
        for task in timm_zoo.TASKS:
            assert (module, task) in registered, (module, task)
            assert timm_zoo.has_recipe(module, task), module


def test_each_tiny_architecture_is_filed_under_its_module():
    misplaced = {module: recipe.architecture for module, recipe in timm_zoo.RECIPES.items()
                 if module_of(recipe.architecture) != module}
    assert not misplaced


def test_a_model_class_built_directly_maps_to_its_module():
    model = timm.models.resnet.ResNet(timm.models.resnet.BasicBlock, layers=[1, 1, 1, 1], num_classes=2)
    assert module_of_model(model) == "resnet"
    with pytest.raises(ModelLoadingError, match="not a timm model class"):
        module_of_model(torch.nn.Linear(2, 2))


def test_a_convnet_takes_any_size_down_to_two_positions_of_its_last_map():
    model = timm.create_model("resnet10t", pretrained=False, num_classes=3)
    facts = model_facts(model)
    assert facts.dynamic_image_size and facts.total_stride == 32 and facts.feature_rank == 4
    height = config_for(model).axes["height"]
    assert (height.min, height.multiple_of) == (64, 32)  # resnet*t pools in ceil mode: multiples only
    assert model_facts(timm.create_model("resnet10t", pretrained=False, output_stride=16)).total_stride == 16


def test_a_vision_transformer_is_fixed_to_its_embedding_size_unless_it_resamples_positions():
    static = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=48, depth=1)
    facts = model_facts(static)
    # the size narrowed by img_size= is the embedding's, not the pretrained config's 224
    assert (facts.image_size, facts.dynamic_image_size, facts.feature_rank) == ((48, 48), False, 3)
    height = config_for(static).axis_table()["height"]
    assert not height.dynamic and height.default == 48

    dynamic = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=48, depth=1, dynamic_img_size=True)
    height = config_for(dynamic).axes["height"]
    # an unpadded patch embedding cuts whole patches only
    assert model_facts(dynamic).dynamic_image_size and (height.min, height.multiple_of) == (32, 16)


def test_feature_extraction_returns_the_pooled_features_and_the_map_where_there_is_one():
    model = timm.create_model("resnet10t", pretrained=False, num_classes=0)
    assert infer_task(model) == "feature-extraction"
    config = config_for(model, "feature-extraction")
    assert list(config.output_specs) == ["last_hidden_state", "pooler_output"]
    assert config.output_specs["last_hidden_state"].rank == 4
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        outputs = config.call_model(model.eval(), config.model_kwargs({"pixel_values": images}))
        # what timm returns from a model without a classifier
        torch.testing.assert_close(outputs["pooler_output"], model(images))
    assert outputs["last_hidden_state"].shape == (2, model.num_features, 2, 2)


def test_a_model_whose_features_are_not_one_tensor_exports_its_pooled_features_only():
    model = timm.create_model("crossvit_tiny_240", pretrained=False, num_classes=0)
    assert model_facts(model).feature_rank is None
    assert list(config_for(model, "feature-extraction").output_specs) == ["pooler_output"]


def test_a_model_that_takes_no_size_it_records_is_refused_with_the_sizes_tried():
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=48, depth=1)
    model.patch_embed.img_size = (40, 40)
    model.pretrained_cfg = {**model.pretrained_cfg, "input_size": (3, 56, 56)}
    with pytest.raises(ModelLoadingError, match="takes no 3x40x40 or 3x56x56 image"):
        model_facts(model)


def test_tiny_models_keep_their_activations_in_range_through_calibrated_batch_norms():
    from conformance.zoo import build_tiny_model

    tiny = build_tiny_model("timm", "inception-v3", "image-classification", seed=0)
    norm = next(m for m in tiny.model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not norm.training and norm.momentum == 0.1 and not torch.all(norm.running_var == 1)
    with torch.no_grad():
        logits = tiny.model(torch.randn(2, 3, 96, 96))
    # uncalibrated, a random Inception's logits reach 1e8 at this size: no float32 export matches them to 1e-3
    assert logits.abs().max() < 100


def test_facts_are_read_off_a_model_in_training_mode_without_changing_it():
    model = timm.create_model("resnest14d", pretrained=False, num_classes=3, layers=(1, 1, 1, 1))
    assert model.training
    before = {name: buffer.clone() for name, buffer in model.named_buffers()}
    assert model_facts(model).dynamic_image_size  # its split attention normalises a 1x1 map of one image
    assert model.training and all(torch.equal(buffer, before[name]) for name, buffer in model.named_buffers())
