"""Models from local directories, and what can be inferred about a model.

exportkit never downloads: a model is loaded from a local directory only (safetensors
weights, no remote code unless asked for). A hub id is refused at once with a clear message
instead of waiting on a network that may not be there.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from . import timm_models
from .errors import ModelLoadingError, UnsupportedTaskError
from .task_names import Task
from .transformers_auto import TRANSFORMERS_AUTO_CLASSES

logger = logging.getLogger(__name__)

# Class-name suffix -> task, for inferring a task from a model or its config's architectures.
_SUFFIX_TO_TASK = [
    ("ForConditionalGeneration", "text2text-generation"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMultipleChoice", "multiple-choice"),
    ("ForMaskedLM", "fill-mask"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForImageClassification", "image-classification"),
    ("ForAudioClassification", "audio-classification"),
    ("ForCTC", "automatic-speech-recognition"),
    ("Model", "feature-extraction"),
]


# sentence-transformers' pipeline class for each task it exports; a saved pipeline names its
# class in config_sentence_transformers.json ("model_type").
SENTENCE_TRANSFORMERS_CLASSES = {
    "feature-extraction": "SentenceTransformer",
    "sentence-similarity": "SentenceTransformer",
    "sparse-embedding": "SparseEncoder",
    "text-ranking": "CrossEncoder",
}
# The model types of sentence-transformers pipelines that start with no transformer: one
# StaticEmbedding module, or a Router of routes (each a pipeline of its own).
STATIC_EMBEDDING = "static-embedding"
ROUTER = "router"
SENTENCE_TRANSFORMERS_DEFAULT_TASKS = {"SentenceTransformer": "sentence-similarity", "SparseEncoder": "sparse-embedding",
                                       "CrossEncoder": "text-ranking"}

# Model types whose sequence classifiers take audio (``input_values``), for directory inference.
AUDIO_MODEL_TYPES = frozenset({"wav2vec2", "hubert", "wavlm", "data2vec-audio", "unispeech", "sew"})


# diffusers component classes -> task -> registry model type; the first task is the class's default.
# An autoencoder is two components, its encoder and its decoder; text encoders are transformers classes.
DIFFUSERS_COMPONENTS: dict[str, dict[str, str]] = {
    "AutoencoderKL": {"latent-decoding": "vae-decoder", "latent-encoding": "vae-encoder"},
    "AutoencoderKLFlux2": {"latent-decoding": "flux2-vae-decoder", "latent-encoding": "flux2-vae-encoder"},
    "AutoencoderTiny": {"latent-decoding": "vae-tiny-decoder", "latent-encoding": "vae-tiny-encoder"},
    "AutoencoderDC": {"latent-decoding": "dc-ae-decoder", "latent-encoding": "dc-ae-encoder"},
    "UNet2DConditionModel": {"noise-prediction": "unet-2d-condition"},
    "SD3Transformer2DModel": {"noise-prediction": "sd3-transformer-2d"},
    "FluxTransformer2DModel": {"noise-prediction": "flux-transformer-2d"},
    "Flux2Transformer2DModel": {"noise-prediction": "flux2-transformer-2d"},
    "SanaTransformer2DModel": {"noise-prediction": "sana-transformer-2d"},
    "PixArtTransformer2DModel": {"noise-prediction": "pixart-transformer-2d"},
    "WanTransformer3DModel": {"noise-prediction": "wan-transformer-3d"},
    "HunyuanVideoTransformer3DModel": {"noise-prediction": "hunyuan-video-transformer-3d"},
    "LTXVideoTransformer3DModel": {"noise-prediction": "ltx-video-transformer-3d"},
    "QwenImageTransformer2DModel": {"noise-prediction": "qwen-image-transformer-2d"},
    "ControlNetModel": {"control-residuals": "controlnet"},
    "FluxControlNetModel": {"control-residuals": "flux-controlnet"},
    "CLIPTextModel": {"text-encoding": "clip-text-model"},
    "CLIPTextModelWithProjection": {"text-encoding": "clip-text-model-with-projection"},
    "T5EncoderModel": {"text-encoding": "t5-encoder-model"},
    "UMT5EncoderModel": {"text-encoding": "umt5-encoder-model"},
    "Gemma2Model": {"text-encoding": "gemma2-model"},
    "Gemma3TextModel": {"text-encoding": "gemma3-text-model"},
}
DIFFUSERS_CLASS_OF_MODEL_TYPE = {model_type: name for name, tasks in DIFFUSERS_COMPONENTS.items()
                                 for model_type in tasks.values()}


def _diffusers_class_name(model: Any) -> str:
    """The component class of a diffusers model instance or of a saved component directory."""
    if not isinstance(model, (str, os.PathLike)):
        return type(model).__name__
    path = _local_dir(model)
    config = _read_json(path / "config.json")
    if not config and (path / "vae").is_dir():  # a pipeline directory: its VAE, as before
        config = _read_json(path / "vae" / "config.json")
    architectures = config.get("architectures") or []
    return config.get("_class_name") or (architectures[0] if architectures else "")


def diffusers_model_type(model: Any, task: str | Task | None = None) -> str:
    """The registry model type of a diffusers component (instance or directory) for ``task``
    (its class's default task when not given)."""
    class_name = _diffusers_class_name(model)
    tasks = DIFFUSERS_COMPONENTS.get(class_name)
    if tasks is None:
        raise ModelLoadingError(f"{class_name or model!r} is not a diffusers component exportkit knows; known: "
                                f"{', '.join(sorted(DIFFUSERS_COMPONENTS))}")
    if task is None:
        return next(iter(tasks.values()))
    from .task_names import LIBRARY_SYNONYMS

    parsed = Task.parse(task).name
    if parsed not in tasks:  # a placeholder task: the first of the class's tasks it stands for
        named = LIBRARY_SYNONYMS["diffusers"].get(parsed, ())
        parsed = next((name for name in tasks if name in named), parsed)
    if parsed not in tasks:
        raise UnsupportedTaskError(f"a diffusers {class_name} exports {', '.join(tasks)}, not {parsed!r}")
    return tasks[parsed]


def _diffusers_class(class_name: str):
    import diffusers
    import transformers

    return getattr(diffusers, class_name, None) or getattr(transformers, class_name)


def model_class_for_task(task: Task, library: str = "transformers", model_type: str | None = None):
    """The class that loads a model for ``task`` in ``library``."""
    if library == "transformers":
        import transformers

        names = TRANSFORMERS_AUTO_CLASSES.get(task.name)
        if not names:
            raise UnsupportedTaskError(f"no transformers model class for task {task.name!r}")
        return getattr(transformers, names[0])
    if library == "sentence_transformers":
        import sentence_transformers

        name = SENTENCE_TRANSFORMERS_CLASSES.get(task.name)
        if name is None:
            raise UnsupportedTaskError(f"sentence-transformers has no pipeline for task {task.name!r}")
        return getattr(sentence_transformers, name)
    if library == "diffusers":
        if model_type is not None:
            from .tasks import normalize_model_type

            name = DIFFUSERS_CLASS_OF_MODEL_TYPE.get(normalize_model_type(model_type))
            if name is None:
                raise UnsupportedTaskError(f"no diffusers component has model type {model_type!r}")
            return _diffusers_class(name)
        names = [name for name, tasks in DIFFUSERS_COMPONENTS.items() if task.name in tasks]
        if not names:
            raise UnsupportedTaskError(f"no diffusers component exports task {task.name!r}")
        return _diffusers_class(names[0])
    if library == "timm":
        import timm

        return timm.create_model
    raise ValueError(f"unknown library {library!r}")


# ---- inference -----------------------------------------------------------------------------

def infer_library(model: Any) -> str:
    """The library a model instance or a local model directory belongs to."""
    if isinstance(model, (str, os.PathLike)):
        return _infer_library_from_dir(_local_dir(model))
    module = type(model).__module__
    if module.startswith("sentence_transformers"):
        return "sentence_transformers"
    if module.startswith("diffusers"):
        return "diffusers"
    if module.startswith("timm") or hasattr(model, "pretrained_cfg"):
        return "timm"
    if module.startswith("transformers") or hasattr(model, "config"):
        return "transformers"
    raise ModelLoadingError(f"cannot tell which library {type(model).__name__} comes from; pass library_name")


def _infer_library_from_dir(path: Path) -> str:
    if (path / "modules.json").exists() or (path / "config_sentence_transformers.json").exists():
        return "sentence_transformers"
    config = _read_json(path / "config.json")
    if "_diffusers_version" in config or (path / "model_index.json").exists():
        return "diffusers"
    if "architecture" in config or "pretrained_cfg" in config:
        return "timm"
    if "model_type" in config:
        return "transformers"
    raise ModelLoadingError(f"cannot tell which library the model in {path} belongs to; pass --library")


def infer_model_type(model: Any) -> str:
    """The registry model_type of a model instance."""
    library = infer_library(model)
    if library == "sentence_transformers":
        return model_config(model).model_type
    if library == "timm":
        return timm_models.module_of_model(model)
    if library == "diffusers":
        return diffusers_model_type(model)
    return model.config.model_type


def infer_model_type_from_dir(model_dir: str | os.PathLike, library: str | None = None) -> str:
    """The registry model type of the model in a local directory, read from its files (no weights loaded)."""
    path = _local_dir(model_dir)
    library = (library or _infer_library_from_dir(path)).replace("-", "_")
    if library == "sentence_transformers":
        modules = _read_json_list(path / "modules.json")
        first = str(modules[0].get("type", "")) if modules and isinstance(modules[0], dict) else ""
        for suffix, model_type in ((".StaticEmbedding", STATIC_EMBEDDING), (".Router", ROUTER)):
            if first.endswith(suffix):
                return model_type
        for candidate in (path, *sorted(p for p in path.iterdir() if p.is_dir())):
            config = _read_json(candidate / "config.json")
            if "model_type" in config:
                return config["model_type"]
        raise ModelLoadingError(f"{path} holds no transformer config.json with a model_type")
    config = _read_json(path / "config.json")
    if library == "timm":
        return timm_models.module_of(_timm_architecture(path, config))
    if library == "diffusers":
        return diffusers_model_type(path)
    if "model_type" not in config:
        raise ModelLoadingError(f"{path}/config.json names no model_type")
    return config["model_type"]


def infer_task(model: Any) -> str:
    """The task a model instance or local directory is for, from its class or declared architectures."""
    library = infer_library(model)
    if library == "sentence_transformers":
        return SENTENCE_TRANSFORMERS_DEFAULT_TASKS.get(_sentence_transformers_class(model), "sentence-similarity")
    if library == "timm":
        return "feature-extraction" if _timm_num_classes(model) == 0 else "image-classification"
    if library == "diffusers":
        tasks = DIFFUSERS_COMPONENTS.get(_diffusers_class_name(model))
        return next(iter(tasks)) if tasks else "latent-decoding"
    if isinstance(model, (str, os.PathLike)):
        config = _read_json(_local_dir(model) / "config.json")
        architectures = config.get("architectures") or []
        class_name = architectures[0] if architectures else ""
        takes_audio = config.get("model_type") in AUDIO_MODEL_TYPES
    else:
        class_name = type(model).__name__
        takes_audio = getattr(model, "main_input_name", None) in ("input_values", "input_features")
    for suffix, task in _SUFFIX_TO_TASK:
        if class_name.endswith(suffix):
            # an audio model's sequence classifier classifies audio, not text
            return "audio-classification" if takes_audio and task == "text-classification" else task
    raise ModelLoadingError(f"cannot infer a task for {class_name or model!r}; pass --task")


def _sentence_transformers_class(model: Any) -> str:
    """The pipeline class of a sentence-transformers model, or of the one saved in a directory."""
    if isinstance(model, (str, os.PathLike)):
        name = _read_json(_local_dir(model) / "config_sentence_transformers.json").get("model_type")
        return name if isinstance(name, str) else "SentenceTransformer"
    return type(model).__name__


def _timm_num_classes(model: Any) -> int | None:
    """A timm model built with ``num_classes=0`` has no classifier: it returns pooled features."""
    if isinstance(model, (str, os.PathLike)):
        config = _read_json(_local_dir(model) / "config.json")
        return (config.get("model_args") or {}).get("num_classes", config.get("num_classes"))
    return getattr(model, "num_classes", None)


def model_config(model: Any) -> Any:
    """The config object an export config is built from, for a model of any library."""
    library = infer_library(model)
    if library == "sentence_transformers":
        return _pipeline_config(model[0])
    if library == "timm":
        return timm_models.model_facts(model)
    return model.config


def _pipeline_config(first: Any) -> Any:
    """The config of a sentence-transformers pipeline, by its first module: its transformer's; a
    StaticEmbedding's vocabulary and width; a Router's routes, each a pipeline config."""
    kind = type(first).__name__
    if kind == "StaticEmbedding":
        return SimpleNamespace(model_type=STATIC_EMBEDDING, vocab_size=first.embedding.num_embeddings,
                               hidden_size=first.get_embedding_dimension())
    if kind == "Router":
        return SimpleNamespace(model_type=ROUTER, routes={route: _pipeline_config(modules[0])
                                                          for route, modules in first.sub_modules.items()})
    return first.auto_model.config


# ---- loading -------------------------------------------------------------------------------

def _read_json(path: Path) -> dict:
    """A JSON object from a regular file; {} when there is none (never blocks on a FIFO)."""
    if not path.exists():
        return {}
    if not path.is_file():
        raise ModelLoadingError(f"{path} is not a regular file")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadingError(f"{path} is not valid JSON: {error}") from error
    except OSError as error:
        raise ModelLoadingError(f"cannot read {path}: {error.strerror or error}") from error
    if not isinstance(document, dict):
        raise ModelLoadingError(f"{path} holds a JSON {type(document).__name__}, not an object")
    for key in ("model_type", "architecture", "_class_name"):
        if key in document and not isinstance(document[key], str):
            raise ModelLoadingError(f"{path}: {key!r} must be a string, not {json.dumps(document[key])[:60]}")
    return document


def _local_dir(model_dir: str | os.PathLike) -> Path:
    if not str(model_dir).strip():
        raise ModelLoadingError("the model directory is empty: pass --model DIR")
    path = Path(model_dir).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelLoadingError(f"{str(model_dir)!r} is not a directory: pass the directory that holds config.json")
    text = str(model_dir)
    looks_like_hub_id = (text.count("/") <= 1 and not text.startswith((".", "/", "~"))
                         and re.fullmatch(r"[\w.-]+(/[\w.-]+)?", text) is not None)
    hint = (
        " It looks like a model hub id: exportkit loads models from local directories only and never downloads. "
        "Download the model on a machine with network access (e.g. `huggingface-cli download ID --local-dir DIR`) "
        "and pass that directory."
        if looks_like_hub_id else ""
    )
    raise ModelLoadingError(f"{text!r} is not a local directory.{hint}")


@contextlib.contextmanager
def offline():
    """No network inside the block, whatever HF_HUB_OFFLINE the user's environment sets."""
    saved = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    patched = []
    try:
        import huggingface_hub.constants as hub_constants  # read once at import: patch the value too

        patched.append((hub_constants, hub_constants.HF_HUB_OFFLINE))
        hub_constants.HF_HUB_OFFLINE = True
    except ImportError:
        pass
    try:
        yield
    finally:
        for module, value in patched:
            module.HF_HUB_OFFLINE = value
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved


# Unpickling can run code: exportkit reads safetensors unless the user opts in to pickles.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def _weight_folders(path: Path, library: str) -> list[Path]:
    """The folders a library reads weights from for a model directory."""
    if library == "sentence_transformers":
        modules = _read_json_list(path / "modules.json")
        return [path] + [path / m["path"] for m in modules
                         if isinstance(m, dict) and isinstance(m.get("path"), str) and m["path"]]
    if library == "diffusers" and (path / "vae").is_dir():
        return [path / "vae"]
    return [path]


def _read_json_list(path: Path) -> list:
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadingError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(document, list):
        raise ModelLoadingError(f"{path} holds a JSON {type(document).__name__}, not a list")
    return document


def check_weight_files(path: Path, library: str, allow_pickle: bool = False) -> None:
    """Refuse a folder whose only weights are pickles, unless the user allows them."""
    if allow_pickle:
        return
    for folder in _weight_folders(path, library):
        if not folder.is_dir():
            continue
        files = [f for f in folder.iterdir() if f.is_file()]
        pickles = sorted(f.name for f in files if f.name.endswith(PICKLE_SUFFIXES) and "training_args" not in f.name)
        if pickles and not any(f.name.endswith(".safetensors") for f in files):
            raise ModelLoadingError(
                f"{folder} holds pickled weights only ({', '.join(pickles[:3])}); exportkit reads safetensors, "
                "since unpickling can run code. Convert them to safetensors, or pass --allow-pickle "
                "(allow_pickle=True) to load them with torch's weights-only unpickler")


def load_model(model_dir: str | os.PathLike, task: str | None = None, library: str | None = None,
               trust_remote_code: bool = False, device: str = "cpu", dtype: str | None = None,
               allow_pickle: bool = False, allow_random_weights: bool = False) -> Any:
    """Load a model from a local directory for ``task`` (inferred when not given), without network.

    Weights are read from safetensors files (pickles only with ``allow_pickle``, through torch's
    weights-only unpickler). A checkpoint that leaves weights the export reads at random
    values (missing, or of another size) or that is deeper than its config raises
    :class:`~exportkit.weights.IncompleteWeightsError` unless ``allow_random_weights``.
    """
    from .weights import check_weights, transformers_weight_reports

    path = _local_dir(model_dir)
    library = (library or _infer_library_from_dir(path)).replace("-", "_")
    parsed = Task.parse(task or infer_task(path))
    check_weight_files(path, library, allow_pickle)
    try:
        with offline(), transformers_weight_reports() as reports:
            model = _load(path, parsed, library, trust_remote_code, device, dtype, allow_pickle, reports)
            model = model.to(device).eval()
    except ModelLoadingError:
        raise
    except MemoryError as error:
        raise ModelLoadingError(f"the model in {path} does not fit in memory (check config.json's sizes)") from error
    except Exception as error:  # a loader's own error, whatever its type: say what and where
        raise ModelLoadingError(f"could not load a {library} model for {parsed} from {path}: "
                                f"{type(error).__name__}: {error}") from error
    if allow_random_weights:
        for report in reports:
            if report.missing or report.mismatched:
                logger.warning("%d weights missing from %s or of another size are random (allowed)",
                               len(report.missing | report.mismatched), path)
    else:
        for note in check_weights(reports, functools.partial(_export_outputs, model, parsed, library), str(path)):
            logger.info(note)
    return model


def _load(path: Path, task: Task, library: str, trust_remote_code: bool, device: str, dtype: str | None,
          allow_pickle: bool, reports: list):
    from .weights import WeightReport

    safetensors_only = None if allow_pickle else True
    if library == "transformers":
        import torch

        _refuse_custom_code(path, trust_remote_code)
        kwargs = {"local_files_only": True, "trust_remote_code": trust_remote_code,
                  "use_safetensors": safetensors_only, "ignore_mismatched_sizes": True}
        if dtype:
            kwargs["dtype"] = getattr(torch, dtype)
        return model_class_for_task(task, library).from_pretrained(path, **kwargs)
    if library == "sentence_transformers":
        pipeline = model_class_for_task(task, library)
        return pipeline(str(path), device=device, local_files_only=True, trust_remote_code=trust_remote_code,
                        model_kwargs={"use_safetensors": safetensors_only})
    if library == "diffusers":
        subfolder = "vae" if (path / "vae").is_dir() else None
        component = _diffusers_class(_diffusers_class_name(path))
        if component.__module__.startswith("transformers"):  # a pipeline's text encoder: reported as any transformers load
            _refuse_custom_code(path, trust_remote_code)
            return component.from_pretrained(path, local_files_only=True, use_safetensors=safetensors_only)
        else:
            with _quiet("diffusers"):  # its own warning on missing weights; check_weights judges them
                model, info = component.from_pretrained(path, subfolder=subfolder, local_files_only=True,
                                                        use_safetensors=safetensors_only, output_loading_info=True)
        reports.append(WeightReport.from_loading_info(model, info))
        return model
    if library == "timm":
        model, report = _load_timm(path, allow_pickle)
        reports.append(report)
        return model
    raise ModelLoadingError(f"unknown library {library!r}")


@contextlib.contextmanager
def _quiet(logger_name: str):
    library_logger = logging.getLogger(logger_name)
    level = library_logger.level
    library_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        library_logger.setLevel(level)


def _refuse_custom_code(path: Path, trust_remote_code: bool) -> None:
    """A config naming its own modelling code runs it only with --trust-remote-code."""
    config = _read_json(path / "config.json")
    if config.get("auto_map") and not trust_remote_code:
        from transformers import CONFIG_MAPPING

        if config.get("model_type") not in CONFIG_MAPPING:
            raise ModelLoadingError(
                f"{path} brings its own modelling code (auto_map in config.json); read it, then pass "
                "--trust-remote-code (trust_remote_code=True) to run it")


def _export_outputs(model, task: Task, library: str):
    """The model's outputs as the export computes them (what a random weight must not reach)."""
    from .exporters.onnx.wrapper import ExportableModule
    from .tasks import TasksManager

    constructor = TasksManager.get_exporter_config_constructor("onnx", model=model, task=str(task), library_name=library)
    config = constructor(model_config(model))
    wrapper = ExportableModule(model, config)
    device = next(model.parameters()).device
    dummy = config.generate_dummy_inputs(framework="pt")
    return wrapper(*(t.to(device) for t in wrapper.example_args(dummy)))


def _timm_architecture(path: Path, config: dict) -> str:
    architecture = config.get("architecture")
    if not architecture:
        raise ModelLoadingError(f"{path}/config.json names no timm 'architecture'")
    if ":" in architecture:  # hf-hub:..., local-dir:...: timm would fetch or read elsewhere
        raise ModelLoadingError(f"{path}/config.json: architecture {architecture!r} names a location; "
                                "exportkit builds timm models by architecture name from this directory only")
    return architecture


# timm model_args that point at files or the hub: a config.json must not make exportkit read them.
_TIMM_FILE_ARGS = re.compile(r"checkpoint|pretrained|path|file|url|hub", re.IGNORECASE)


def _load_timm(path: Path, allow_pickle: bool):
    import timm
    import torch
    from safetensors.torch import load_file

    from .weights import WeightReport

    config = _read_json(path / "config.json")
    architecture = _timm_architecture(path, config)
    model_args = config.get("model_args", {})
    if not isinstance(model_args, dict):
        raise ModelLoadingError(f"{path}/config.json: 'model_args' must be an object")
    refused = sorted(key for key in model_args if _TIMM_FILE_ARGS.search(key))
    if refused:
        raise ModelLoadingError(f"{path}/config.json: model_args {refused} would read files or the hub; exportkit "
                                f"reads this directory's model.safetensors only: remove them")
    weights = path / "model.safetensors"
    if weights.is_file():
        state = load_file(str(weights))
    elif allow_pickle and (path / "pytorch_model.bin").is_file():
        state = torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise ModelLoadingError(f"{path} has no model.safetensors")
    # timm's own save_for_hf writes num_classes inside model_args
    model_args = dict(model_args)
    model_args.setdefault("num_classes", config.get("num_classes", 1000))
    model = timm.create_model(architecture, pretrained=False, **model_args)
    result = model.load_state_dict(state, strict=False)
    return model, WeightReport(model, set(result.missing_keys), set(result.unexpected_keys))
