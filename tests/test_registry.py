"""The registry and the seed's TasksManager API over it."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import transformers

import exportkit
from exportkit import TasksManager, make_backend_config_constructor_for_task, register
from exportkit.errors import (
    ExportKitError,
    ModelLoadingError,
    RegistryError,
    UnknownTaskError,
    UnsupportedModelTypeError,
    UnsupportedTaskError,
)
from exportkit.exporters.onnx import OnnxConfig
from exportkit.exporters.onnx.models.auto import AutoOnnxConfig
from exportkit.exporters.onnx.models.decoders import GPT2OnnxConfig
from exportkit.exporters.onnx.models.diffusion import VaeDecoderOnnxConfig
from exportkit.exporters.onnx.models.encoders import BertOnnxConfig, RobertaOnnxConfig
from exportkit.exporters.onnx.models.sentence_embedding import SentenceTransformersOnnxConfig
from exportkit.exporters.onnx.models.timm_modules import TimmOnnxConfig
from exportkit.exporters.onnx.models.vision import ResNetOnnxConfig
from exportkit.loading import ROUTER, STATIC_EMBEDDING, model_config
from exportkit.tasks import Registration, unregister

from conformance.zoo import build_tiny_model
from conformance.zoo.families import OVERRIDES as ZOO_OVERRIDES

REPO_ROOT = Path(exportkit.__file__).resolve().parent.parent


def constructor_for(task, **kwargs):
    return TasksManager.get_exporter_config_constructor("onnx", task=task, **kwargs)


def target_class(constructor) -> type:
    while isinstance(constructor, functools.partial):
        constructor = constructor.func
    return constructor


def bound_keywords(constructor) -> dict:
    keywords = {}
    chain = []
    while isinstance(constructor, functools.partial):
        chain.append(constructor.keywords)
        constructor = constructor.func
    for kw in reversed(chain):  # outer partials override inner ones
        keywords.update(kw)
    return keywords


# ---- get_exporter_config_constructor ------------------------------------------------------------

def test_constructor_from_model_type(bert_config):
    constructor = constructor_for("text-classification", model_type="bert")
    assert target_class(constructor) is BertOnnxConfig
    config = constructor(bert_config)
    assert isinstance(config, BertOnnxConfig) and config.task == "text-classification"


def test_constructor_from_model_infers_model_type_and_library(bert_config, make_model):
    model = make_model(transformers.BertForSequenceClassification, bert_config)
    # "feature-extraction" is ambiguous by model_type alone, but a transformers model says its library
    constructor = TasksManager.get_exporter_config_constructor("onnx", model)
    assert target_class(constructor) is BertOnnxConfig
    assert constructor(model.config).task == "feature-extraction"  # the seed's default task
    constructor = TasksManager.get_exporter_config_constructor("onnx", model, task="text-classification")
    assert constructor(model.config).outputs == {"logits": {0: "batch_size"}}


def test_constructor_from_gpt2_model(gpt2_config, make_model):
    model = make_model(transformers.GPT2LMHeadModel, gpt2_config)
    constructor = TasksManager.get_exporter_config_constructor("onnx", model, task="text-generation-with-past")
    config = constructor(model.config)
    assert isinstance(config, GPT2OnnxConfig) and config.use_past


def test_export_model_type_attribute_wins(bert_config):
    bert_config.export_model_type = "gpt2"
    model = SimpleNamespace(config=bert_config)
    constructor = TasksManager.get_exporter_config_constructor(
        "onnx", model, task="text-generation", library_name="transformers")
    assert target_class(constructor) is GPT2OnnxConfig


def test_model_type_spelling_is_normalised():
    assert target_class(constructor_for("fill-mask", model_type="XLM_RoBERTa")) is RobertaOnnxConfig
    assert target_class(constructor_for("fill-mask", model_type=" xlm-roberta ")) is RobertaOnnxConfig


@pytest.mark.parametrize(
    "task, canonical",
    [
        ("sequence-classification", "text-classification"),
        ("sentiment-analysis", "text-classification"),
        ("masked-lm", "fill-mask"),
        ("ner", "token-classification"),
        ("default", "feature-extraction"),
        ("Token_Classification", "token-classification"),
    ],
)
def test_task_synonyms_resolve(task, canonical):
    # distilbert is a sentence-transformers encoder too: feature-extraction is ambiguous without a library
    constructor = constructor_for(task, model_type="distilbert", library_name="transformers")
    assert bound_keywords(constructor)["task"] == canonical


def test_with_past_synonym_binds_use_past(gpt2_config):
    constructor = constructor_for("causal-lm-with-past", model_type="gpt2")
    assert bound_keywords(constructor) == {"task": "text-generation", "use_past": True}
    config = constructor(gpt2_config)
    assert config.use_past and config.use_past_in_inputs and config.task == "text-generation"
    plain = constructor_for("causal-lm", model_type="gpt2")(gpt2_config)
    assert not plain.use_past and "use_past" not in bound_keywords(constructor_for("causal-lm", model_type="gpt2"))


def test_exporter_config_kwargs_are_bound(bert_config):
    constructor = constructor_for("text-classification", model_type="bert",
                                  exporter_config_kwargs={"int_dtype": "int32", "float_dtype": "fp16"})
    assert isinstance(constructor, functools.partial)
    assert bound_keywords(constructor)["int_dtype"] == "int32"
    config = constructor(bert_config)
    assert config.int_dtype == "int32" and config.float_dtype == "fp16"
    assert config.generate_dummy_inputs()["input_ids"].dtype == torch.int32
    # no kwargs: nothing extra bound
    assert "int_dtype" not in bound_keywords(constructor_for("text-classification", model_type="bert"))


def test_exporter_config_kwargs_with_past(gpt2_config):
    constructor = constructor_for("text-generation-with-past", model_type="gpt2",
                                  exporter_config_kwargs={"int_dtype": "int32"})
    config = constructor(gpt2_config)
    assert config.use_past and config.int_dtype == "int32"


def test_neither_model_nor_model_type():
    with pytest.raises(ValueError, match="model_type"):
        TasksManager.get_exporter_config_constructor("onnx", task="fill-mask")


# ---- make_backend_config_constructor_for_task ------------------------------------------------------

def test_make_constructor_plain_task(bert_config):
    constructor = make_backend_config_constructor_for_task(BertOnnxConfig, "fill-mask")
    assert isinstance(constructor, functools.partial)
    assert constructor.func is BertOnnxConfig and constructor.keywords == {"task": "fill-mask"}
    assert constructor(bert_config).task == "fill-mask"


def test_make_constructor_with_past_binds_use_past_and_bare_task(gpt2_config):
    constructor = make_backend_config_constructor_for_task(GPT2OnnxConfig, "text-generation-with-past")
    assert constructor.func is GPT2OnnxConfig
    assert constructor.keywords == {"use_past": True, "task": "text-generation"}
    config = constructor(gpt2_config)
    assert config.use_past and config.task == "text-generation"


def test_make_constructor_with_past_refused_without_past_support():
    with pytest.raises(ValueError, match="BertOnnxConfig does not support tasks with past"):
        make_backend_config_constructor_for_task(BertOnnxConfig, "text-classification-with-past")


def test_make_constructor_unknown_task():
    with pytest.raises(UnknownTaskError):
        make_backend_config_constructor_for_task(BertOnnxConfig, "telepathy")


# ---- merged libraries --------------------------------------------------------------------------------

def test_feature_extraction_of_bert_is_ambiguous_without_library():
    with pytest.raises(ValueError) as info:
        constructor_for("feature-extraction", model_type="bert")
    message = str(info.value)
    assert isinstance(info.value, ExportKitError)
    assert "transformers" in message and "sentence_transformers" in message
    assert "library_name" in message


def test_ambiguous_task_resolves_with_library_name(bert_config):
    transformers_constructor = constructor_for("feature-extraction", model_type="bert", library_name="transformers")
    assert target_class(transformers_constructor) is BertOnnxConfig
    st_constructor = constructor_for("feature-extraction", model_type="bert", library_name="sentence_transformers")
    assert target_class(st_constructor) is SentenceTransformersOnnxConfig
    assert set(st_constructor(bert_config).outputs) == {"token_embeddings", "sentence_embedding"}
    # the library may be spelled with a hyphen
    hyphen = constructor_for("feature-extraction", model_type="bert", library_name="sentence-transformers")
    assert target_class(hyphen) is SentenceTransformersOnnxConfig


def test_task_of_one_library_needs_no_library_name(bert_config):
    constructor = constructor_for("sentence-similarity", model_type="bert")
    assert target_class(constructor) is SentenceTransformersOnnxConfig
    assert constructor(bert_config).outputs == {"sentence_embedding": {0: "batch_size"}}
    # and a task only transformers has
    assert target_class(constructor_for("fill-mask", model_type="bert")) is BertOnnxConfig


def test_resnet_in_transformers_and_timm():
    with pytest.raises(ValueError, match="transformers.*timm|timm.*transformers"):
        constructor_for("image-classification", model_type="resnet")
    assert target_class(constructor_for("image-classification", model_type="resnet",
                                        library_name="transformers")) is ResNetOnnxConfig
    assert target_class(constructor_for("image-classification", model_type="resnet",
                                        library_name="timm")) is TimmOnnxConfig


def test_supported_tasks_never_silently_pick_a_library():
    merged = TasksManager.get_supported_tasks_for_model_type("bert", "onnx")
    assert target_class(merged["fill-mask"]) is BertOnnxConfig
    assert target_class(merged["sentence-similarity"]) is SentenceTransformersOnnxConfig
    if "feature-extraction" in merged:  # present only as a constructor that refuses
        with pytest.raises(ValueError, match="sentence_transformers"):
            merged["feature-extraction"](transformers.BertConfig())
    only_transformers = TasksManager.get_supported_tasks_for_model_type("bert", "onnx", library_name="transformers")
    assert set(only_transformers) == {"feature-extraction", "fill-mask", "text-classification",
                                      "token-classification", "question-answering", "multiple-choice",
                                      "text-generation", "text-generation-with-past"}  # BertLMHeadModel
    assert target_class(only_transformers["feature-extraction"]) is BertOnnxConfig
    st = TasksManager.get_supported_tasks_for_model_type("bert", "onnx", library_name="sentence_transformers")
    assert set(st) == {"feature-extraction", "sentence-similarity", "sparse-embedding", "text-ranking"}


def test_supported_tasks_for_decoder_include_with_past():
    tasks = TasksManager.get_supported_tasks_for_model_type("gpt2", "onnx")
    assert {"feature-extraction", "feature-extraction-with-past", "text-generation",
            "text-generation-with-past"} <= set(tasks)
    derived = TasksManager.get_supported_tasks_for_model_type("deberta-v2", "onnx", library_name="transformers")
    assert set(derived) == {"feature-extraction", "fill-mask", "text-classification", "token-classification",
                            "question-answering", "multiple-choice"}
    assert bound_keywords(tasks["text-generation-with-past"]) == {"use_past": True, "task": "text-generation"}


def test_nested_seed_views():
    bert = TasksManager._SUPPORTED_MODEL_TYPE["bert"]["onnx"]
    assert target_class(bert["text-classification"]) is BertOnnxConfig
    assert "resnet" in TasksManager._TIMM_SUPPORTED_MODEL_TYPE
    assert "bert" not in TasksManager._TIMM_SUPPORTED_MODEL_TYPE
    assert set(TasksManager._SENTENCE_TRANSFORMERS_SUPPORTED_MODEL_TYPE["bert"]["onnx"]) == {
        "feature-extraction", "sentence-similarity", "sparse-embedding", "text-ranking"}
    assert "vae-decoder" in TasksManager._DIFFUSERS_SUPPORTED_MODEL_TYPE


# ---- errors name what is supported ---------------------------------------------------------------

def test_unknown_model_type_suggests_close_matches():
    with pytest.raises(UnsupportedModelTypeError) as info:
        constructor_for("fill-mask", model_type="bertt")
    message = str(info.value)
    assert isinstance(info.value, KeyError)  # as the seed raises
    assert re.search(r"did you mean 'bert'", message)
    assert "Supported:" in message
    for supported in ("gpt2", "t5", "vit", "distilbert"):
        assert supported in message


def test_unknown_model_type_within_a_library():
    with pytest.raises(UnsupportedModelTypeError) as info:
        TasksManager.get_supported_tasks_for_model_type("resnett", "onnx", library_name="timm")
    message = str(info.value)
    assert "'resnet'" in message
    assert "convnext" in message and "gpt2" not in message  # the timm registry only


def test_unsupported_task_names_supported_tasks():
    with pytest.raises(UnsupportedTaskError) as info:
        constructor_for("image-classification", model_type="bert", library_name="transformers")
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "'bert'" in message and "image-classification" in message
    for task in ("fill-mask", "text-classification", "question-answering"):
        assert task in message


def test_unsupported_task_suggests_close_task():
    with pytest.raises(UnsupportedTaskError, match=r"did you mean [^)]*'text-generation'"):
        constructor_for("text2text-generation", model_type="gpt2")


def test_unknown_task_suggests_close_task():
    with pytest.raises(UnknownTaskError, match="did you mean 'text-classification'"):
        constructor_for("text-clasification", model_type="bert")


def test_unknown_exporter():
    with pytest.raises(UnsupportedModelTypeError, match="tflite.*onnx"):
        TasksManager.get_exporter_config_constructor("tflite", task="fill-mask", model_type="bert")


def test_unknown_library():
    with pytest.raises(ValueError, match="unknown library"):
        constructor_for("fill-mask", model_type="bert", library_name="keras")


# ---- registering ------------------------------------------------------------------------------------

THROWAWAY = "exportkit-test-model"


@pytest.fixture
def throwaway():
    yield THROWAWAY
    for task in ("fill-mask", "text-classification", "text-generation", "text-generation-with-past"):
        for library in ("transformers", "sentence_transformers"):
            unregister(library, THROWAWAY, "onnx", task)
    assert not TasksManager.list_registrations(model_type=THROWAWAY)


def test_register_and_unregister(throwaway, bert_config):
    @register(throwaway, "fill-mask", "text-classification")
    class ThrowawayConfig(BertOnnxConfig):
        pass

    entries = TasksManager.list_registrations(model_type=throwaway)
    assert [(e.library, str(e.task)) for e in entries] == [
        ("transformers", "fill-mask"), ("transformers", "text-classification")]
    assert all(e.config_cls is ThrowawayConfig for e in entries)
    assert isinstance(constructor_for("fill-mask", model_type=throwaway)(bert_config), ThrowawayConfig)
    unregister("transformers", throwaway, "onnx", "fill-mask")
    with pytest.raises(UnsupportedTaskError):
        constructor_for("fill-mask", model_type=throwaway)
    assert target_class(constructor_for("text-classification", model_type=throwaway)) is ThrowawayConfig


def test_duplicate_registration_raises(throwaway):
    @register(throwaway, "fill-mask")
    class First(BertOnnxConfig):
        pass

    with pytest.raises(RegistryError) as info:
        @register(throwaway, "fill-mask")
        class Second(BertOnnxConfig):
            pass

    message = str(info.value)
    assert throwaway in message and "First" in message and "override=True" in message
    assert target_class(constructor_for("fill-mask", model_type=throwaway)) is First


def test_duplicate_registration_with_override(throwaway):
    @register(throwaway, "fill-mask")
    class First(BertOnnxConfig):
        pass

    @register(throwaway, "fill-mask", override=True)
    class Second(BertOnnxConfig):
        pass

    assert target_class(constructor_for("fill-mask", model_type=throwaway)) is Second
    assert len(TasksManager.list_registrations(model_type=throwaway)) == 1


def test_same_key_in_another_library_is_not_a_duplicate(throwaway):
    @register(throwaway, "fill-mask")
    class InTransformers(BertOnnxConfig):
        pass

    @register(throwaway, "fill-mask", library="sentence_transformers")
    class InSentenceTransformers(BertOnnxConfig):
        pass

    with pytest.raises(ValueError, match="several libraries"):
        constructor_for("fill-mask", model_type=throwaway)


def test_overriding_a_builtin_needs_override():
    with pytest.raises(RegistryError, match="BertOnnxConfig"):
        @register("bert", "fill-mask")
        class Mine(BertOnnxConfig):
            pass

    assert target_class(constructor_for("fill-mask", model_type="bert")) is BertOnnxConfig


def test_register_refuses_tasks_the_config_cannot_export(throwaway):
    with pytest.raises(RegistryError, match="declares no outputs for task 'text-generation'"):
        @register(throwaway, "text-generation")
        class NoOutputs(BertOnnxConfig):
            pass

    with pytest.raises(ValueError, match="does not support tasks with past"):
        @register(throwaway, "fill-mask-with-past")
        class NoPast(BertOnnxConfig):
            pass

    with pytest.raises(RegistryError):
        register(throwaway)
    with pytest.raises(UnknownTaskError):
        register(throwaway, "telepathy")
    assert not TasksManager.list_registrations(model_type=throwaway)


def test_register_with_past(throwaway, gpt2_config):
    @register(throwaway, "text-generation", "text-generation-with-past")
    class Decoder(GPT2OnnxConfig):
        pass

    assert constructor_for("text-generation-with-past", model_type=throwaway)(gpt2_config).use_past


# ---- list_registrations -------------------------------------------------------------------------------

def test_list_registrations_filters():
    everything = TasksManager.list_registrations()
    assert everything == sorted(everything, key=lambda e: e.key)
    assert len({e.key for e in everything}) == len(everything)
    assert all(isinstance(e, Registration) for e in everything)

    timm = TasksManager.list_registrations(library="timm")
    assert timm and all(e.library == "timm" for e in timm)
    assert {e.model_type for e in timm} >= {"resnet", "convnext"}

    robertas = TasksManager.list_registrations(model_type="*roberta")
    assert {e.model_type for e in robertas} == {"roberta", "xlm-roberta"}
    assert {e.library for e in robertas} == {"transformers", "sentence_transformers"}

    generation = TasksManager.list_registrations(task="text-generation*")
    assert {str(e.task) for e in generation} == {"text-generation", "text-generation-with-past"}
    assert {"gpt2", "llama"} <= {e.model_type for e in generation}

    combined = TasksManager.list_registrations(library="transformers", model_type="bert", task="*classification")
    assert {str(e.task) for e in combined} == {"text-classification", "token-classification"}

    assert TasksManager.list_registrations(exporter="onnx") == everything
    assert TasksManager.list_registrations(exporter="tflite") == []
    assert TasksManager.list_registrations(model_type="no-such-*") == []


def test_registration_constructor(gpt2_config):
    entry, = TasksManager.list_registrations(model_type="gpt2", task="text-generation-with-past")
    assert entry.key == ("transformers", "gpt2", "onnx", "text-generation-with-past")
    assert entry.constructor(gpt2_config).use_past


DERIVED_ORIGIN = re.compile(r"exportkit/exporters/onnx/models/auto\.py \(derived through (Auto\w+)\)")


def test_every_derived_origin_names_the_auto_class_that_maps_the_pair():
    from exportkit.transformers_auto import backing_auto_class

    derived = [e for e in TasksManager.list_registrations() if e.config_cls is AutoOnnxConfig]
    assert derived
    for entry in derived:
        match = DERIVED_ORIGIN.fullmatch(entry.origin)
        assert match, entry.origin
        assert backing_auto_class(entry.model_type, entry.task.name)[0] == match.group(1), entry.key


def test_every_registered_model_type_has_each_of_its_auto_backed_pairs():
    from exportkit.exporters.onnx.models.auto import CACHE_TASKS, REGISTERED_MODEL_TYPES
    from exportkit.tasks import normalize_model_type
    from exportkit.transformers_auto import auto_pairs

    registered = {(e.model_type, str(e.task)) for e in TasksManager.list_registrations(library="transformers")}
    wanted = {normalize_model_type(t) for t in REGISTERED_MODEL_TYPES}
    for model_type, task, auto_class, _ in auto_pairs():
        if normalize_model_type(model_type) in wanted:
            assert (normalize_model_type(model_type), task) in registered, (model_type, task)
            if auto_class in CACHE_TASKS.get(task, ()):
                assert (normalize_model_type(model_type), f"{task}-with-past") in registered, (model_type, task)


def test_every_origin_points_at_a_registering_class_decorator():
    for entry in TasksManager.list_registrations():
        if entry.config_cls is AutoOnnxConfig:
            continue  # derived from an Auto mapping: the test above
        match = re.fullmatch(r"(exportkit/.+\.py):(\d+)", entry.origin)
        assert match, entry.origin
        path, line = REPO_ROOT / match.group(1), int(match.group(2))
        assert path.is_file(), entry.origin
        lines = path.read_text().splitlines()
        assert 1 <= line <= len(lines), entry.origin
        assert lines[line - 1].lstrip().startswith("@"), (entry.origin, lines[line - 1])
        following = lines[line - 1:]
        class_line = next(text for text in following if text.lstrip().startswith("class "))
        assert re.match(rf"\s*class {entry.config_cls.__name__}\b", class_line), (entry.origin, class_line)
        assert "register(" in "\n".join(following[: following.index(class_line)]), entry.origin


# ---- registry self-check: every registration builds a usable config -------------------------------------

def tiny_model_config(library: str, model_type: str):
    if library == "sentence_transformers" and model_type in (STATIC_EMBEDDING, ROUTER):  # no transformers config
        return build_tiny_model(library, model_type, "feature-extraction").config
    if library in ("transformers", "sentence_transformers"):
        # the registry writes "gpt-oss", transformers' mapping may write "gpt_oss"
        key = next(k for k in (model_type, model_type.replace("-", "_")) if k in transformers.CONFIG_MAPPING)
        config = transformers.AutoConfig.for_model(key)
        # a field every checkpoint sets that the default config leaves unset (ESM's vocabulary)
        for name, value in ZOO_OVERRIDES.get(model_type, {}).items():
            if getattr(config, name, None) is None:
                setattr(config, name, value)
        return config
    if library == "timm":
        # the facts exportkit.timm_models.model_facts reads off a convnet
        return SimpleNamespace(model_type=model_type, num_channels=3, image_size=(64, 64), num_classes=10,
                               total_stride=32, dynamic_image_size=True, patch_step=1, feature_rank=4, pools=True)
    if library == "diffusers":  # a component's config is its class's: the zoo's tiny one
        task = next(e.task for e in TasksManager.list_registrations(library="diffusers", model_type=model_type))
        return build_tiny_model(library, model_type, task).config
    pytest.fail(f"no tiny config for {library}/{model_type}: add one to tiny_model_config")


ALL_REGISTRATIONS = TasksManager.list_registrations()
DECLARED_REGISTRATIONS = [e for e in ALL_REGISTRATIONS if e.config_cls is not AutoOnnxConfig]


def _check_part(part, where):
    inputs, outputs = part.input_specs, part.output_specs
    assert inputs, f"{where}: no inputs"
    assert outputs, f"{where}: no outputs"
    assert part.inputs.keys() == inputs.keys() and part.outputs.keys() == outputs.keys()
    dims = part.dims()
    dummy = part.generate_dummy_inputs(**dims)  # raises when an input has no generator
    assert list(dummy) == list(inputs), where
    for name, spec in inputs.items():
        assert tuple(dummy[name].shape) == spec.shape(dims), (where, name)
        is_int = not dummy[name].is_floating_point()
        assert is_int == (spec.dtype == "int"), (where, name)
    for name, spec in outputs.items():
        for axis in spec.axes:
            if axis.dynamic and axis.derive is not None:
                assert axis.size(dims) >= 0, (where, name, axis.name)
            elif axis.dynamic and axis.default is not None:
                assert axis.name in dims, f"{where}: output {name} uses axis {axis.name!r} no input sets"
    # the validation sizes differ from the export sizes and are usable
    validation = part.validation_dims()
    for axis_name, size in dims.items():
        assert validation[axis_name] != size, (where, axis_name)
    part.generate_dummy_inputs(**validation)


@pytest.mark.parametrize("entry", DECLARED_REGISTRATIONS + [
    # the registered derived pairs (every Auto-backed pair: test_a_derived_config_builds_or_says_why_it_cannot)
    e for e in ALL_REGISTRATIONS if e.config_cls is AutoOnnxConfig], ids=lambda e: "/".join(e.key))
def test_registration_builds_a_usable_config(entry):
    """A registered pair builds a usable config; or its derivation refuses it, saying why (its cell
    fails at the build stage with that cause); or its failure is declared."""
    from conformance.known_failures import known_failure
    from exportkit.exporters.onnx.models.auto import DerivedConfigError

    declared = known_failure(f"{entry.library}/{entry.model_type}/onnx-dynamo/{entry.task}")
    try:
        _check_registration(entry)
    except DerivedConfigError as refusal:
        if entry.config_cls is not AutoOnnxConfig:
            raise
        assert f"{entry.model_type!r}" in str(refusal).replace("_", "-") or "transformers" in str(refusal)
        pytest.xfail(str(refusal))
    except Exception:
        if declared is None or entry.config_cls is not AutoOnnxConfig:
            raise
        pytest.xfail(declared.reason)  # its cell is a declared xfail; the certifier holds it to that


def _check_registration(entry):
    config = entry.constructor(tiny_model_config(entry.library, entry.model_type))
    assert isinstance(config, entry.config_cls)
    assert isinstance(config, OnnxConfig) and entry.exporter == "onnx"
    assert config.task == entry.task.name
    assert getattr(config, "use_past", False) == entry.task.with_past
    parts = config.submodels()
    assert parts
    for stem, part in parts.items():
        _check_part(part, f"{'/'.join(entry.key)}:{stem}")


# One Auto-backed pair of each kind of derived middle-end, registered or not yet.
DERIVED_KINDS = [("qwen3", "text-generation", True), ("bart", "text2text-generation", True),
                 ("bart", "text-classification", False), ("siglip", "zero-shot-image-classification", False),
                 ("wav2vec2", "audio-frame-classification", False), ("llama", "question-answering", False),
                 ("convnext", "feature-extraction", False)]


@pytest.mark.parametrize(("model_type", "task", "use_past"), DERIVED_KINDS, ids=lambda v: str(v))
def test_a_derived_config_is_usable(model_type, task, use_past):
    config = AutoOnnxConfig(transformers.AutoConfig.for_model(model_type), task=task,
                            **({"use_past": True} if use_past else {}))
    assert config.task == task and getattr(config, "use_past", False) == use_past
    for stem, part in config.submodels().items():
        _check_part(part, f"{model_type}/{task}:{stem}")


def test_a_declared_extra_input_is_taken_where_the_forward_names_it():
    # X-MOD's language: one id per row, an index into the config's languages
    xmod = transformers.XmodConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                   vocab_size=99, languages=["en_XX", "de_DE"])
    for task in ("text-classification", "multiple-choice"):
        config = AutoOnnxConfig(xmod, task=task)
        spec = config.input_specs["lang_ids"]
        assert [axis.name for axis in spec.axes] == ["batch_size"] and spec.dtype == "int"  # per row, per choice too
        dummy = config.generate_dummy_inputs(batch_size=8, sequence_length=5)
        assert dummy["lang_ids"].shape == (8,) and int(dummy["lang_ids"].max()) < 2
    bert = AutoOnnxConfig(transformers.AutoConfig.for_model("bert"), task="text-classification")
    assert "lang_ids" not in bert.input_specs


def test_a_declared_ignored_input_is_left_out_of_the_graph():
    # RWKV's forward names attention_mask and ignores it: a graph input it never reads would be dropped
    for task in ("feature-extraction", "text-generation"):
        config = AutoOnnxConfig(transformers.RwkvConfig(), task=task)
        assert list(config.inputs) == ["input_ids"]
        assert "attention_mask" not in type(config).FORWARD_PARAMETERS


def test_a_retrieval_encoder_exports_its_pooled_vector():
    config = AutoOnnxConfig(transformers.AutoConfig.for_model("dpr"), task="feature-extraction")
    assert list(config.output_specs) == ["pooler_output"]
    assert [axis.name for axis in config.output_specs["pooler_output"].axes][0] == "batch_size"


def test_with_past_is_refused_for_a_model_whose_forward_takes_no_cache():
    from exportkit.exporters.onnx.models.auto import DerivedConfigError

    with pytest.raises(DerivedConfigError, match="OpenAIGPTLMHeadModel.forward takes no cache"):
        AutoOnnxConfig(transformers.AutoConfig.for_model("openai-gpt"), task="text-generation", use_past=True)
    AutoOnnxConfig(transformers.AutoConfig.for_model("openai-gpt"), task="text-generation")  # without: fine


def test_use_cache_false_reaches_the_base_model_through_a_heads_kwargs():
    # the question-answering heads name no use_cache: the base model would make a (sliding-window) cache
    config = AutoOnnxConfig(transformers.AutoConfig.for_model("mistral"), task="question-answering")
    kwargs = config.model_kwargs(config.generate_dummy_inputs(batch_size=2, sequence_length=5))
    assert kwargs["use_cache"] is False and "use_cache" not in config.FORWARD_PARAMETERS


def test_a_causal_familys_multiple_choice_head_is_an_encoder_and_a_negative_table_is_no_table():
    config = AutoOnnxConfig(transformers.AutoConfig.for_model("xlnet"), task="multiple-choice")
    assert [axis.name for axis in config.input_specs["input_ids"].axes] == ["batch_size", "num_choices",
                                                                            "sequence_length"]
    assert config.axis_table()["sequence_length"].max is None  # XLNet's max_position_embeddings is -1


def test_latent_attention_caches_one_shared_head_of_compressed_keys_and_rotary_values():
    # DeepSeek-V3: transformers caches kv_lora_rank-wide latents as keys, the rope part as values
    deepseek = transformers.DeepseekV3Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                             kv_lora_rank=16, qk_rope_head_dim=4, qk_nope_head_dim=8, v_head_dim=8)
    config = AutoOnnxConfig(deepseek, task="text-generation", use_past=True)
    dummy = config.generate_dummy_inputs(batch_size=2, sequence_length=3, past_sequence_length=5)
    assert dummy["past_key_values.0.key"].shape == (2, 1, 5, 16)
    assert dummy["past_key_values.0.value"].shape == (2, 1, 5, 4)
    llama = AutoOnnxConfig(transformers.LlamaConfig(hidden_size=32, num_attention_heads=4, num_key_value_heads=2),
                           task="text-generation", use_past=True)
    assert llama.generate_dummy_inputs(batch_size=2, past_sequence_length=5)["past_key_values.0.value"].shape == (
        2, 2, 5, 8)


def test_a_state_space_model_without_a_cache_needs_no_attention_heads():
    mamba = AutoOnnxConfig(transformers.MambaConfig(hidden_size=32, num_hidden_layers=2), task="text-generation")
    assert "num_key_value_heads" not in mamba.axis_table() and list(mamba.outputs) == ["logits"]


# ---- TasksManager task helpers ---------------------------------------------------------------------------

def test_get_all_tasks():
    tasks = TasksManager.get_all_tasks()
    assert tasks == sorted(tasks)
    assert {"feature-extraction", "text-generation", "sentence-similarity", "latent-decoding"} <= set(tasks)
    assert "causal-lm" not in tasks


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("causal-lm", "text-generation"),
        ("causal-lm-with-past", "text-generation-with-past"),
        ("seq2seq-lm-with-past", "text2text-generation-with-past"),
        ("sequence-classification", "text-classification"),
        ("text-classification", "text-classification"),
        ("ctc", "automatic-speech-recognition"),
        ("sentence-embedding", "sentence-similarity"),
    ],
)
def test_map_from_synonym(name, canonical):
    assert TasksManager.map_from_synonym(name) == canonical


def test_map_from_synonym_unknown():
    with pytest.raises(UnknownTaskError):
        TasksManager.map_from_synonym("not-a-task")


def test_synonyms_for_task():
    synonyms = TasksManager.synonyms_for_task("text-classification")
    assert {"sequence-classification", "sentiment-analysis", "zero-shot-classification"} <= synonyms
    assert "text-classification" not in synonyms
    assert all(TasksManager.map_from_synonym(s) == "text-classification" for s in synonyms)
    assert TasksManager.synonyms_for_task("text2text-generation") >= {"seq2seq-lm", "summarization", "translation"}
    assert TasksManager.synonyms_for_task("multiple-choice") == set()
    # a synonym's synonyms are those of its canonical task
    assert "sentiment-analysis" in TasksManager.synonyms_for_task("sequence-classification")


@pytest.mark.parametrize(
    "task, class_name",
    [
        ("feature-extraction", "AutoModel"),
        ("fill-mask", "AutoModelForMaskedLM"),
        ("text-generation", "AutoModelForCausalLM"),
        ("text-generation-with-past", "AutoModelForCausalLM"),
        ("text2text-generation", "AutoModelForSeq2SeqLM"),
        ("sequence-classification", "AutoModelForSequenceClassification"),
        ("token-classification", "AutoModelForTokenClassification"),
        ("question-answering", "AutoModelForQuestionAnswering"),
        ("multiple-choice", "AutoModelForMultipleChoice"),
        ("image-classification", "AutoModelForImageClassification"),
        ("audio-classification", "AutoModelForAudioClassification"),
        ("automatic-speech-recognition", "AutoModelForCTC"),
    ],
)
def test_get_model_class_for_task(task, class_name):
    cls = TasksManager.get_model_class_for_task(task)
    assert cls is getattr(transformers, class_name)
    assert hasattr(cls, "from_pretrained")


def test_get_model_class_for_task_other_libraries():
    from diffusers import AutoencoderKL
    from sentence_transformers import SentenceTransformer

    assert TasksManager.get_model_class_for_task("sentence-similarity", library="sentence_transformers") is \
        SentenceTransformer
    assert TasksManager.get_model_class_for_task("latent-decoding", library="diffusers") is AutoencoderKL
    import timm

    assert TasksManager.get_model_class_for_task("image-classification", library="timm") is timm.create_model
    with pytest.raises(UnsupportedTaskError, match="sentence-similarity"):
        TasksManager.get_model_class_for_task("sentence-similarity")


def test_auto_class_matches_the_model_it_loads(bert_config, tmp_path, make_model):
    model = make_model(transformers.BertForSequenceClassification, bert_config)
    model.save_pretrained(tmp_path)
    loaded = TasksManager.get_model_class_for_task("text-classification").from_pretrained(tmp_path)
    assert type(loaded) is transformers.BertForSequenceClassification


# ---- inference from instances and directories -------------------------------------------------------------

TRANSFORMERS_CASES = [
    ("BertModel", "bert_config", "feature-extraction"),
    ("BertForSequenceClassification", "bert_config", "text-classification"),
    ("BertForTokenClassification", "bert_config", "token-classification"),
    ("BertForQuestionAnswering", "bert_config", "question-answering"),
    ("BertForMaskedLM", "bert_config", "fill-mask"),
    ("BertForMultipleChoice", "bert_config", "multiple-choice"),
    ("GPT2LMHeadModel", "gpt2_config", "text-generation"),
    ("LlamaForCausalLM", "llama_config", "text-generation"),
    ("T5ForConditionalGeneration", "t5_config", "text2text-generation"),
]


@pytest.mark.parametrize("class_name, config_fixture, task", TRANSFORMERS_CASES)
def test_infer_from_transformers_instance_and_directory(class_name, config_fixture, task, request, tmp_path,
                                                        make_model):
    model = make_model(getattr(transformers, class_name), request.getfixturevalue(config_fixture))
    assert TasksManager.infer_library_from_model(model) == "transformers"
    assert TasksManager.infer_task_from_model(model) == task
    model.save_pretrained(tmp_path)
    for location in (tmp_path, str(tmp_path)):
        assert TasksManager.infer_library_from_model(location) == "transformers"
        assert TasksManager.infer_task_from_model(location) == task


def test_get_model_from_task_loads_a_saved_directory(bert_config, tmp_path, make_model):
    model = make_model(transformers.BertForSequenceClassification, bert_config)
    model.save_pretrained(tmp_path)
    loaded = TasksManager.get_model_from_task("sequence-classification", tmp_path)
    assert type(loaded) is transformers.BertForSequenceClassification
    assert not loaded.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    base = TasksManager.get_model_from_task("feature-extraction", str(tmp_path))
    assert type(base) is transformers.BertModel


def test_get_model_from_task_refuses_a_hub_id():
    with pytest.raises(ModelLoadingError) as info:
        TasksManager.get_model_from_task("feature-extraction", "bert-base-uncased")
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert "bert-base-uncased" in message
    assert "local director" in message
    assert "never downloads" in message


def test_get_model_from_task_refuses_a_missing_path(tmp_path):
    with pytest.raises(ModelLoadingError, match="not a local directory"):
        TasksManager.get_model_from_task("feature-extraction", tmp_path / "absent" / "deeper" / "model")


def test_get_model_from_task_refuses_an_empty_directory(tmp_path):
    with pytest.raises(ModelLoadingError, match="which library"):
        TasksManager.get_model_from_task("feature-extraction", tmp_path)


def test_infer_library_of_an_unknown_object():
    with pytest.raises(ModelLoadingError):
        TasksManager.infer_library_from_model(torch.nn.Linear(2, 2))


def test_infer_task_of_an_audio_classifier():
    config = transformers.Wav2Vec2Config(
        vocab_size=20, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
        conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2)
    classifier = transformers.Wav2Vec2ForSequenceClassification(config)
    task = TasksManager.infer_task_from_model(classifier)
    # wav2vec2 is registered for audio-classification, not text-classification
    assert task == "audio-classification"
    assert target_class(TasksManager.get_exporter_config_constructor("onnx", classifier, task=task))


@pytest.fixture(scope="module")
def sentence_transformer(tmp_path_factory):
    from sentence_transformers import SentenceTransformer

    root = tmp_path_factory.mktemp("st")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[f"w{i}" for i in range(95)]]) + "\n")
    torch.manual_seed(0)
    bert = transformers.BertModel(transformers.BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=64))
    bert.save_pretrained(root / "bert")
    transformers.BertTokenizer(str(vocab)).save_pretrained(root / "bert")
    model = SentenceTransformer(str(root / "bert"), device="cpu", local_files_only=True)
    model.save(str(root / "saved"))
    return model, root / "saved"


def test_infer_sentence_transformers(sentence_transformer):
    model, saved = sentence_transformer
    assert TasksManager.infer_library_from_model(model) == "sentence_transformers"
    assert TasksManager.infer_task_from_model(model) == "sentence-similarity"
    assert TasksManager.infer_library_from_model(saved) == "sentence_transformers"
    assert TasksManager.infer_task_from_model(saved) == "sentence-similarity"
    # a sentence-transformers model picks its own library's config even for the ambiguous task
    for task in ("feature-extraction", "sentence-similarity"):
        constructor = TasksManager.get_exporter_config_constructor("onnx", model, task=task)
        assert target_class(constructor) is SentenceTransformersOnnxConfig
    config = constructor(model_config(model))
    assert config.outputs == {"sentence_embedding": {0: "batch_size"}}
    loaded = TasksManager.get_model_from_task("sentence-similarity", saved)
    assert type(loaded) is type(model)
    assert torch.allclose(loaded.encode(["w1 w2"], convert_to_tensor=True),
                          model.encode(["w1 w2"], convert_to_tensor=True), atol=1e-6)


@pytest.fixture(scope="module")
def tiny_vae():
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    return AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), layers_per_block=1,
        latent_channels=4, norm_num_groups=4, sample_size=32).eval()


def test_infer_diffusers(tiny_vae, tmp_path):
    assert TasksManager.infer_library_from_model(tiny_vae) == "diffusers"
    assert TasksManager.infer_task_from_model(tiny_vae) == "latent-decoding"
    constructor = TasksManager.get_exporter_config_constructor("onnx", tiny_vae, task="latent-decoding")
    assert target_class(constructor) is VaeDecoderOnnxConfig
    config = constructor(model_config(tiny_vae))
    sample = config.output_specs["sample"]
    assert sample.shape(config.dims(latent_height=5, latent_width=7)) == (2, 3, 10, 14)
    tiny_vae.save_pretrained(tmp_path)
    assert TasksManager.infer_library_from_model(tmp_path) == "diffusers"
    assert TasksManager.infer_task_from_model(str(tmp_path)) == "latent-decoding"
    loaded = TasksManager.get_model_from_task("latent-decoding", tmp_path)
    assert type(loaded).__name__ == "AutoencoderKL"


@pytest.fixture(scope="module")
def timm_resnet():
    import timm

    torch.manual_seed(0)
    return timm.create_model("resnet10t", pretrained=False, num_classes=10).eval()


def test_infer_timm(timm_resnet, tmp_path):
    from timm.models import save_for_hf

    assert TasksManager.infer_library_from_model(timm_resnet) == "timm"
    assert TasksManager.infer_task_from_model(timm_resnet) == "image-classification"
    save_for_hf(timm_resnet, tmp_path, safe_serialization=True)
    assert TasksManager.infer_library_from_model(tmp_path) == "timm"
    assert TasksManager.infer_task_from_model(tmp_path) == "image-classification"


@pytest.mark.parametrize(
    "architecture, module",
    [("resnet18", "resnet"), ("resnet10t", "resnet"), ("resnet50.a1_in1k", "resnet"), ("seresnext26d_32x4d", "resnet"),
     ("resnet50_clip", "byobnet"), ("convnext_atto", "convnext"), ("efficientnet_b0", "efficientnet"),
     ("mobilenetv2_100", "efficientnet"), ("mobilenetv3_small_100", "mobilenetv3"),
     ("vit_tiny_patch16_224.augreg_in21k", "vision-transformer"), ("swinv2_cr_tiny_224", "swin-transformer-v2-cr")],
)
def test_a_timm_architecture_maps_to_its_module(architecture, module):
    from exportkit.timm_models import module_of

    assert module_of(architecture) == module
    assert TasksManager.list_registrations(library="timm", model_type=module)


def test_an_unknown_timm_architecture_is_refused():
    from exportkit.timm_models import module_of

    with pytest.raises(ModelLoadingError, match="no architecture 'resnet_nonexistent'"):
        module_of("resnet_nonexistent")


def test_constructor_from_timm_model(timm_resnet):
    constructor = TasksManager.get_exporter_config_constructor("onnx", timm_resnet, task="image-classification")
    assert target_class(constructor) is TimmOnnxConfig
    config = constructor(model_config(timm_resnet))
    assert config.inputs == {"pixel_values": {0: "batch_size", 2: "height", 3: "width"}}


def test_load_timm_directory(timm_resnet, tmp_path):
    from timm.models import save_for_hf

    save_for_hf(timm_resnet, tmp_path, safe_serialization=True)
    loaded = TasksManager.get_model_from_task("image-classification", tmp_path)
    assert loaded.num_classes == 10
    for name, tensor in timm_resnet.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name


def test_a_derived_config_builds_or_says_why_it_cannot():
    """Every pair an Auto class backs (registered or not yet) derives a config from its model
    type's default config, or raises DerivedConfigError naming the cause: never another error."""
    from exportkit.exporters.onnx.models.auto import DerivedConfigError
    from exportkit.transformers_auto import auto_pairs

    built, refused = 0, 0
    for model_type, task, _, _ in auto_pairs():
        try:
            model_config = tiny_model_config("transformers", model_type)
        except Exception:  # noqa: BLE001  transformers refuses its own default config for a few types
            continue
        try:
            config = AutoOnnxConfig(model_config, task=task)
        except DerivedConfigError as refusal:
            assert str(refusal), (model_type, task)
            refused += 1
            continue
        assert isinstance(config, AutoOnnxConfig) and config.task == task, (model_type, task)
        built += 1
    assert built > 1000, (built, refused)

# ---- what the derivation decides, from what transformers says -------------------------------------

def test_a_derived_config_takes_only_the_inputs_its_model_reads():
    from exportkit.exporters.onnx import TextEncoderOnnxConfig

    deberta = AutoOnnxConfig(transformers.DebertaV2Config(type_vocab_size=0), task="token-classification")
    assert list(deberta.inputs) == ["input_ids", "attention_mask"]  # forward names token_type_ids; no table for it
    typed = AutoOnnxConfig(transformers.DebertaV2Config(type_vocab_size=2), task="token-classification")
    assert "token_type_ids" in typed.inputs
    # an encoder-decoder's classifier makes its decoder inputs itself: one graph over the encoder's inputs
    bart = AutoOnnxConfig(transformers.BartConfig(), task="text-classification")
    assert isinstance(bart, TextEncoderOnnxConfig) and list(bart.inputs) == ["input_ids", "attention_mask"]
    assert set(bart.submodels()) == {"model"}


def test_derived_outputs_follow_the_kind_of_backbone():
    from exportkit.exporters.onnx import TextAndVisionOnnxConfig

    convnext = AutoOnnxConfig(transformers.ConvNextConfig(), task="feature-extraction")
    assert len(convnext.output_specs["last_hidden_state"].axes) == 4  # feature maps
    dinov2 = AutoOnnxConfig(transformers.Dinov2Config(), task="feature-extraction")
    assert len(dinov2.output_specs["last_hidden_state"].axes) == 3  # token sequences
    # a declared kind of features wins over the rule: ViTDet's plain transformer returns maps
    vitdet = AutoOnnxConfig(transformers.VitDetConfig(), task="feature-extraction")
    assert len(vitdet.output_specs["last_hidden_state"].axes) == 4
    siglip = AutoOnnxConfig(transformers.SiglipConfig(), task="feature-extraction")
    assert isinstance(siglip, TextAndVisionOnnxConfig) and "pixel_values" in siglip.inputs
    classifier = AutoOnnxConfig(transformers.SiglipConfig(), task="image-classification")
    assert classifier.input_specs["pixel_values"].axes[2].default == transformers.SiglipConfig().vision_config.image_size


def test_a_derived_causal_head_of_a_padding_offset_family_keeps_its_cache_inside_the_position_table():
    config = AutoOnnxConfig(transformers.XLMRobertaConfig(max_position_embeddings=66, pad_token_id=1),
                            task="text-generation", use_past=True)
    table = config.axis_table()
    assert table["past_sequence_length"].max == table["total_sequence_length"].max == 64
