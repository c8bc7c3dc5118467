"""diffusers components: each registered for what it does, inferred from the model or its
directory, and exported on the sizes its axes declare."""

from __future__ import annotations

import fnmatch
import functools

import pytest

from conformance.known_failures import known_failure
from conformance.zoo import build_tiny_model, diffusers_zoo
from exportkit.errors import UnsupportedTaskError
from exportkit.exporters.onnx import export
from exportkit.exporters.onnx.convert import validate_model_outputs
from exportkit.exporters.onnx.models import diffusion
from exportkit.loading import DIFFUSERS_COMPONENTS, infer_model_type, infer_task, load_model, model_class_for_task
from exportkit.task_names import TASKS, Task
from exportkit.tasks import TasksManager

COMPONENT_TASKS = {"latent-decoding", "latent-encoding", "noise-prediction", "control-residuals", "text-encoding"}


def registered() -> dict[str, str]:
    return {entry.model_type: str(entry.task) for entry in TasksManager.list_registrations(library="diffusers")}


def config_class(constructor):
    while isinstance(constructor, functools.partial):
        constructor = constructor.func
    return constructor


def test_every_component_class_is_registered_for_its_tasks():
    tasks = registered()
    assert len(tasks) >= 25
    for class_name, by_task in DIFFUSERS_COMPONENTS.items():
        for task, model_type in by_task.items():
            assert tasks.get(model_type) == task, (class_name, model_type)
    assert set(tasks.values()) == COMPONENT_TASKS
    assert COMPONENT_TASKS <= set(TASKS)


@pytest.mark.parametrize("model_type, task, config_name", [
    ("unet-2d-condition", "noise-prediction", "UNet2DConditionOnnxConfig"),
    ("vae-encoder", "latent-encoding", "VaeEncoderOnnxConfig"),
    ("vae-decoder", "latent-decoding", "VaeDecoderOnnxConfig"),
    ("dc-ae-encoder", "latent-encoding", "DcAeOnnxConfig"),
    ("flux-transformer-2d", "noise-prediction", "FluxTransformerOnnxConfig"),
    ("controlnet", "control-residuals", "SDControlNetOnnxConfig"),
    ("t5-encoder-model", "text-encoding", "HiddenStatesTextEncodingOnnxConfig"),
])
def test_components_are_registered_under_the_diffusers_library(model_type, task, config_name):
    constructor = TasksManager.get_exporter_config_constructor("onnx", model_type=model_type, task=task,
                                                               library_name="diffusers")
    assert config_class(constructor) is getattr(diffusion, config_name)
    assert task in TasksManager._DIFFUSERS_SUPPORTED_MODEL_TYPE[model_type]["onnx"]


@pytest.mark.parametrize("placeholder, model_type, task", [
    ("semantic-segmentation", "unet-2d-condition", "noise-prediction"),
    ("semantic-segmentation", "vae-encoder", "latent-encoding"),
    ("semantic-segmentation", "vae-decoder", "latent-decoding"),
    ("semantic-segmentation", "sd3-transformer-2d", "noise-prediction"),
    ("semantic-segmentation", "controlnet", "control-residuals"),
    ("feature-extraction", "clip-text-model", "text-encoding"),
    ("feature-extraction", "t5-encoder-model", "text-encoding"),
])
def test_the_seeds_placeholder_tasks_name_each_components_task(placeholder, model_type, task):
    # clip-text-model is a transformers model type too, whose feature-extraction is its own
    for library in ("diffusers",) if model_type == "clip-text-model" else ("diffusers", None):
        constructor = TasksManager.get_exporter_config_constructor("onnx", model_type=model_type, task=placeholder,
                                                                   library_name=library)
        assert constructor.keywords["task"] == task
    # the placeholders stay their own tasks everywhere else
    assert Task.parse(placeholder).name == placeholder
    assert TasksManager.get_exporter_config_constructor("onnx", model_type="segformer", task="semantic-segmentation",
                                                        library_name="transformers").keywords["task"] == "semantic-segmentation"


def test_a_component_refuses_another_components_task():
    with pytest.raises(UnsupportedTaskError, match="noise-prediction"):
        TasksManager.get_exporter_config_constructor("onnx", model_type="unet-2d-condition", task="latent-decoding",
                                                     library_name="diffusers")


def test_model_class_for_each_task_and_model_type():
    import diffusers
    import transformers

    assert model_class_for_task(Task("noise-prediction"), "diffusers") is diffusers.UNet2DConditionModel
    assert model_class_for_task(Task("latent-encoding"), "diffusers") is diffusers.AutoencoderKL
    assert model_class_for_task(Task("noise-prediction"), "diffusers", "flux-transformer-2d") is \
        diffusers.FluxTransformer2DModel
    assert model_class_for_task(Task("text-encoding"), "diffusers", "t5-encoder-model") is transformers.T5EncoderModel


@pytest.mark.parametrize("model_type, task", [
    ("unet-2d-condition", "noise-prediction"),
    ("vae-tiny-encoder", "latent-encoding"),
    ("dc-ae-decoder", "latent-decoding"),
    ("sana-transformer-2d", "noise-prediction"),
    ("flux-controlnet", "control-residuals"),
])
def test_a_saved_component_is_inferred_and_loaded_from_its_directory(model_type, task, tmp_path):
    model = build_tiny_model("diffusers", model_type, task).model
    model.save_pretrained(tmp_path)
    assert TasksManager.infer_library_from_model(tmp_path) == "diffusers"
    by_task = DIFFUSERS_COMPONENTS[type(model).__name__]
    assert infer_task(tmp_path) == next(iter(by_task))
    assert infer_model_type(model) == next(iter(by_task.values()))
    loaded = load_model(tmp_path, task=task)
    assert type(loaded) is type(model)
    constructor = TasksManager.get_exporter_config_constructor("onnx", loaded, task=task)
    assert constructor.keywords["task"] == task
    assert registered()[model_type] == task


def test_an_autoencoder_is_two_components():
    vae = build_tiny_model("diffusers", "vae-decoder", "latent-decoding").model
    encoder = TasksManager.get_exporter_config_constructor("onnx", vae, task="latent-encoding")
    decoder = TasksManager.get_exporter_config_constructor("onnx", vae, task="semantic-segmentation")
    assert config_class(encoder) is diffusion.VaeEncoderOnnxConfig
    assert config_class(decoder) is diffusion.VaeDecoderOnnxConfig
    config = encoder(vae.config, task="latent-encoding")
    dims = config.dims(height=12, width=6)
    assert config.output_specs["latent_mean"].shape(dims) == (2, 4, 6, 3)
    with pytest.raises(ValueError, match="steps of 2"):
        config.dims(height=7)


def test_a_text_encoder_under_diffusers_keeps_its_transformers_inputs(tmp_path):
    clip = build_tiny_model("diffusers", "clip-text-model-with-projection", "text-encoding").model
    constructor = TasksManager.get_exporter_config_constructor("onnx", clip, task="text-encoding", library_name="diffusers")
    config = constructor(clip.config)
    assert list(config.input_specs) == ["input_ids", "attention_mask"]
    assert list(config.output_specs) == ["text_embeds", "last_hidden_state"]
    clip.save_pretrained(tmp_path)
    loaded = load_model(tmp_path, task="text-encoding", library="diffusers")
    assert type(loaded) is type(clip)


def test_latent_axes_step_by_the_components_own_multiple():
    unet = build_tiny_model("diffusers", "unet-2d-condition", "noise-prediction", variant="sdxl-added-conditions")
    config = TasksManager.get_exporter_config_constructor("onnx", unet.model, task="noise-prediction")(unet.config)
    assert list(config.input_specs) == ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"]
    assert config.axes["latent_height"].multiple_of == 2  # two blocks: one downsampler
    assert config.axes["sequence_length"].dynamic
    wan = build_tiny_model("diffusers", "wan-transformer-3d", "noise-prediction")
    config = TasksManager.get_exporter_config_constructor("onnx", wan.model, task="noise-prediction")(wan.config)
    assert {"batch_size", "latent_frames", "latent_height", "latent_width", "sequence_length"} <= set(config.axes)
    controlnet = build_tiny_model("diffusers", "controlnet", "control-residuals")
    config = TasksManager.get_exporter_config_constructor("onnx", controlnet.model, task="control-residuals")(
        controlnet.config)
    dims = config.dims(latent_height=6, latent_width=4)
    shapes = {name: spec.shape(dims) for name, spec in config.output_specs.items()}
    assert shapes["down_block_res_samples.0"] == (2, 8, 6, 4)
    assert shapes["mid_block_res_sample"] == (2, 16, 3, 2)
    assert config.input_specs["controlnet_cond"].shape(dims) == (2, 3, 12, 8)


def test_every_declared_diffusers_failure_names_a_registered_component():
    case_ids = [f"diffusers/{model_type}/onnx-{engine}/{task}" for model_type, task in registered().items()
                for engine in ("dynamo", "torchscript")]
    for entry in diffusers_zoo.KNOWN_FAILURES:
        assert entry.pattern.startswith("diffusers/") and entry.reason
        assert any(fnmatch.fnmatchcase(case_id, entry.pattern) for case_id in case_ids), entry.pattern
    # every component certifies on one engine at least, but those whose failures are declared on both
    failing_everywhere = {model_type for model_type, task in registered().items()
                          if all(known_failure(f"diffusers/{model_type}/onnx-{engine}/{task}")
                                 for engine in ("dynamo", "torchscript"))}
    assert len(registered()) - len(failing_everywhere) >= 20


@pytest.mark.parametrize("model_type, variant", [("unet-2d-condition", "sdxl-added-conditions"),
                                                 ("sd3-transformer-2d", None)])
def test_a_denoiser_exports_and_matches_pytorch_on_other_sizes(model_type, variant, tmp_path):
    tiny = build_tiny_model("diffusers", model_type, "noise-prediction", variant=variant)
    config = TasksManager.get_exporter_config_constructor("onnx", tiny.model, task="noise-prediction")(tiny.config)
    export(tiny.model, config, tmp_path / "model.onnx", engine="torchscript")
    sizes = {"batch_size": 3, "sequence_length": 5}
    sizes.update({"latent_height": 6, "latent_width": 4} if "latent_height" in config.axes else
                 {"image_sequence_length": 12})
    report = validate_model_outputs(config, tiny.model, tmp_path / "model.onnx", input_shapes=sizes)
    assert report is not None
    assert known_failure(f"diffusers/{model_type}/onnx-torchscript/noise-prediction", variant) is None
