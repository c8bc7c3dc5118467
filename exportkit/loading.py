"""Models from local directories, and what can be inferred about a model.

exportkit never downloads: a model is loaded from a local directory only (safetensors
weights, no remote code unless asked for). A hub id is refused at once with a clear message
instead of waiting on a network that may not be there.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .errors import ModelLoadingError, UnsupportedTaskError
from .task_names import Task
from .transformers_auto import TRANSFORMERS_AUTO_CLASSES

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


# Model types whose sequence classifiers take audio (``input_values``), for directory inference.
AUDIO_MODEL_TYPES = frozenset({"wav2vec2", "hubert", "wavlm", "data2vec-audio", "unispeech", "sew"})


def model_class_for_task(task: Task, library: str = "transformers", model_type: str | None = None):
    """The class that loads a model for ``task`` in ``library``."""
    if library == "transformers":
        import transformers

        names = TRANSFORMERS_AUTO_CLASSES.get(task.name)
        if not names:
            raise UnsupportedTaskError(f"no transformers model class for task {task.name!r}")
        return getattr(transformers, names[0])
    if library == "sentence_transformers":
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer
    if library == "diffusers":
        from diffusers import AutoencoderKL

        return AutoencoderKL
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
        return model[0].auto_model.config.model_type
    if library == "timm":
        architecture = model.pretrained_cfg.get("architecture", type(model).__name__)
        return timm_family(architecture)
    if library == "diffusers":
        return "vae-decoder" if type(model).__name__.startswith("Autoencoder") else type(model).__name__.lower()
    return model.config.model_type


def infer_model_type_from_dir(model_dir: str | os.PathLike, library: str | None = None) -> str:
    """The registry model type of the model in a local directory, read from its files (no weights loaded)."""
    path = _local_dir(model_dir)
    library = (library or _infer_library_from_dir(path)).replace("-", "_")
    if library == "sentence_transformers":
        for candidate in (path, *sorted(p for p in path.iterdir() if p.is_dir())):
            config = _read_json(candidate / "config.json")
            if "model_type" in config:
                return config["model_type"]
        raise ModelLoadingError(f"{path} holds no transformer config.json with a model_type")
    config = _read_json(path / "config.json")
    if library == "timm":
        architecture = config.get("architecture")
        if not architecture:
            raise ModelLoadingError(f"{path}/config.json names no timm 'architecture'")
        return timm_family(architecture)
    if library == "diffusers":
        class_name = config.get("_class_name", "")
        return "vae-decoder" if class_name.startswith("Autoencoder") else class_name.lower()
    if "model_type" not in config:
        raise ModelLoadingError(f"{path}/config.json names no model_type")
    return config["model_type"]


def timm_family(architecture: str) -> str:
    """``resnet18`` -> ``resnet``; ``convnext_atto`` -> ``convnext``: timm names a family by its prefix."""
    head = architecture.split(".")[0].split("_")[0]
    # strip a trailing size number with an optional variant letter (resnet18, resnet10t),
    # but not a version number that is part of the family name (mobilenetv3)
    return re.sub(r"(?<![v\d])\d+[a-z]?$", "", head) or head


def infer_task(model: Any) -> str:
    """The task a model instance or local directory is for, from its class or declared architectures."""
    library = infer_library(model)
    if library == "sentence_transformers":
        return "sentence-similarity"
    if library == "timm":
        return "image-classification"
    if library == "diffusers":
        return "latent-decoding"
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


def model_config(model: Any) -> Any:
    """The config object an export config is built from, for a model of any library."""
    library = infer_library(model)
    if library == "sentence_transformers":
        return model[0].auto_model.config
    if library == "timm":
        channels, height, _ = model.pretrained_cfg.get("input_size", (3, 224, 224))
        return SimpleNamespace(model_type=infer_model_type(model), num_channels=channels, image_size=height,
                               num_classes=getattr(model, "num_classes", None), total_stride=timm_total_stride(model))
    return model.config


def timm_total_stride(model: Any) -> int | None:
    """Pixels per position of a timm model's last feature map (its ``feature_info``), where it says."""
    info = getattr(model, "feature_info", None)
    if isinstance(info, list) and info and isinstance(info[-1], dict):
        return info[-1].get("reduction")
    return None


# ---- loading -------------------------------------------------------------------------------

def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise ModelLoadingError(f"{path} is not valid JSON: {error}") from error


def _local_dir(model_dir: str | os.PathLike) -> Path:
    path = Path(model_dir).expanduser()
    if path.is_dir():
        return path
    looks_like_hub_id = isinstance(model_dir, str) and model_dir.count("/") <= 1 and not path.exists()
    hint = (
        " It looks like a model hub id: exportkit loads models from local directories only and never downloads. "
        "Download the model on a machine with network access (e.g. `huggingface-cli download ID --local-dir DIR`) "
        "and pass that directory."
        if looks_like_hub_id else ""
    )
    raise ModelLoadingError(f"{str(model_dir)!r} is not a local directory.{hint}")


def load_model(model_dir: str | os.PathLike, task: str | None = None, library: str | None = None,
               trust_remote_code: bool = False, device: str = "cpu", dtype: str | None = None) -> Any:
    """Load a model from a local directory for ``task`` (inferred when not given), without network."""
    path = _local_dir(model_dir)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    library = (library or _infer_library_from_dir(path)).replace("-", "_")
    parsed = Task.parse(task or infer_task(path))
    try:
        if library == "transformers":
            import torch

            cls = model_class_for_task(parsed, library)
            kwargs = {"local_files_only": True, "trust_remote_code": trust_remote_code}
            if dtype:
                kwargs["dtype"] = getattr(torch, dtype)
            model = cls.from_pretrained(path, **kwargs)
        elif library == "sentence_transformers":
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(path), device=device, local_files_only=True,
                                        trust_remote_code=trust_remote_code)
        elif library == "diffusers":
            from diffusers import AutoencoderKL

            subfolder = "vae" if (path / "vae").is_dir() else None
            model = AutoencoderKL.from_pretrained(path, subfolder=subfolder, local_files_only=True)
        elif library == "timm":
            model = _load_timm(path)
        else:
            raise ValueError(f"unknown library {library!r}")
    except ModelLoadingError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        raise ModelLoadingError(f"could not load a {library} model for {parsed} from {path}: {error}") from error
    return model.to(device).eval()


def _load_timm(path: Path):
    import timm
    from safetensors.torch import load_file

    config = _read_json(path / "config.json")
    architecture = config.get("architecture")
    if not architecture:
        raise ModelLoadingError(f"{path}/config.json names no timm 'architecture'")
    weights = path / "model.safetensors"
    if not weights.exists():
        raise ModelLoadingError(f"{path} has no model.safetensors (pickled checkpoints are not loaded)")
    # timm's own save_for_hf writes num_classes inside model_args
    model_args = dict(config.get("model_args", {}))
    model_args.setdefault("num_classes", config.get("num_classes", 1000))
    model = timm.create_model(architecture, pretrained=False, **model_args)
    model.load_state_dict(load_file(str(weights)))
    return model
