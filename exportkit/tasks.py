"""The registry of export configurations and the seed's ``TasksManager`` API over it.

One registry per library maps ``model_type -> exporter -> task -> constructor``. Configs are
registered with the :func:`register` class decorator, which records where each entry came
from; importing :mod:`exportkit` loads every built-in config in one place
(:mod:`exportkit.exporters.onnx.models`). Task strings are parsed once, here, into
:class:`~exportkit.task_names.Task`.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (
    ExportKitError,
    RegistryError,
    UnsupportedModelTypeError,
    UnsupportedTaskError,
)
from .task_names import SYNONYMS, TASKS, Task, did_you_mean, library_synonym

if TYPE_CHECKING:
    from .exporters.base import ExporterConfig

ExportConfigConstructor = Callable[..., "ExporterConfig"]

LIBRARIES = ("transformers", "timm", "diffusers", "sentence_transformers")


def normalize_model_type(model_type: str) -> str:
    return model_type.strip().lower().replace("_", "-")


def make_backend_config_constructor_for_task(config_cls: type, task: str | Task) -> ExportConfigConstructor:
    """Bind ``task`` (and ``use_past=True`` for a ``-with-past`` task) to an export config class."""
    task = Task.parse(task)
    if task.with_past:
        if not getattr(config_cls, "SUPPORTS_PAST", False):
            raise ValueError(f"{config_cls.__name__} does not support tasks with past ({task}).")
        return functools.partial(config_cls, use_past=True, task=task.name)
    return functools.partial(config_cls, task=task.name)


@dataclass(frozen=True)
class Registration:
    """One registry entry: which config class exports ``model_type`` for ``task`` with ``exporter``."""

    library: str
    model_type: str
    exporter: str
    task: Task
    config_cls: type
    origin: str  # "path/to/module.py:line" of the registering declaration

    @property
    def constructor(self) -> ExportConfigConstructor:
        return make_backend_config_constructor_for_task(self.config_cls, self.task)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.library, self.model_type, self.exporter, str(self.task))


class _Registry:
    """All registrations of one library, keyed by (model_type, exporter, task)."""

    def __init__(self, library: str):
        self.library = library
        self._entries: dict[tuple[str, str, Task], Registration] = {}

    def add(self, entry: Registration, *, override: bool = False) -> None:
        key = (entry.model_type, entry.exporter, entry.task)
        existing = self._entries.get(key)
        if existing is not None and not override:
            raise RegistryError(
                f"{self.library}/{entry.model_type}/{entry.exporter}/{entry.task} is already registered "
                f"by {existing.config_cls.__name__} at {existing.origin}; pass override=True to replace it"
            )
        self._entries[key] = entry

    def entries(self) -> list[Registration]:
        return list(self._entries.values())

    def model_types(self) -> set[str]:
        return {model_type for model_type, _, _ in self._entries}

    def nested(self) -> dict[str, dict[str, dict[str, ExportConfigConstructor]]]:
        """The seed's ``model_type -> exporter -> task -> constructor`` view."""
        out: dict[str, dict[str, dict[str, ExportConfigConstructor]]] = {}
        for (model_type, exporter, task), entry in sorted(self._entries.items(), key=lambda kv: kv[1].key):
            out.setdefault(model_type, {}).setdefault(exporter, {})[str(task)] = entry.constructor
        return out


_REGISTRIES: dict[str, _Registry] = {library: _Registry(library) for library in LIBRARIES}


def _check_library(library_name: str) -> str:
    library = library_name.replace("-", "_")
    if library not in _REGISTRIES:
        raise ValueError(f"unknown library {library_name!r}; known: {', '.join(LIBRARIES)}")
    return library


def _origin_of(obj: Any) -> str:
    try:
        path = Path(inspect.getsourcefile(obj)).resolve()
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return getattr(obj, "__module__", "?")
    package_root = Path(__file__).resolve().parent.parent
    try:
        path = path.relative_to(package_root)
    except ValueError:
        pass
    return f"{path.as_posix()}:{line}"


def register(
    model_types: str | Iterable[str],
    *tasks: str,
    library: str = "transformers",
    exporter: str | None = None,
    override: bool = False,
):
    """Class decorator: register an export config for one or more model types and tasks.

    ``exporter`` defaults to the config class's ``EXPORTER`` ("onnx" for ONNX configs).
    Registering an existing key raises :class:`RegistryError` unless ``override=True``.
    """
    if isinstance(model_types, str):
        model_types = (model_types,)
    if not tasks:
        raise RegistryError("register() needs at least one task")
    registry = _REGISTRIES[_check_library(library)]
    parsed = [Task.parse(task) for task in tasks]

    def decorator(config_cls: type) -> type:
        backend = exporter or getattr(config_cls, "EXPORTER", None)
        if not backend:
            raise RegistryError(f"{config_cls.__name__} names no exporter")
        origin = _origin_of(config_cls)
        for task in parsed:
            make_backend_config_constructor_for_task(config_cls, task)  # refuses -with-past early
            if task.name not in config_cls.supported_task_names():
                raise RegistryError(f"{config_cls.__name__} declares no outputs for task {task.name!r}")
            for model_type in model_types:
                entry = Registration(registry.library, normalize_model_type(model_type), backend, task, config_cls, origin)
                registry.add(entry, override=override)
        return config_cls

    return decorator


def register_derived(model_type: str, task: str | Task, config_cls: type, *, origin: str,
                     library: str = "transformers") -> bool:
    """Register a derived config for one pair unless the pair is declared already (the declaration wins).

    ``origin`` says where the entry was derived from (shown by ``list_registrations`` and the matrix).
    Returns whether the entry was added.
    """
    registry = _REGISTRIES[_check_library(library)]
    parsed = Task.parse(task)
    backend = getattr(config_cls, "EXPORTER", None)
    key = (normalize_model_type(model_type), backend, parsed)
    if key in registry._entries:
        return False
    make_backend_config_constructor_for_task(config_cls, parsed)  # refuses -with-past early
    registry.add(Registration(registry.library, key[0], backend, parsed, config_cls, origin))
    return True


def unregister(library: str, model_type: str, exporter: str, task: str) -> None:
    """Remove one entry (for tests and for users replacing a built-in config)."""
    registry = _REGISTRIES[_check_library(library)]
    registry._entries.pop((normalize_model_type(model_type), exporter, Task.parse(task)), None)


class _NestedRegistryView:
    """Class attribute giving the seed's nested dict for one library, always current."""

    def __init__(self, library: str):
        self.library = library

    def __get__(self, obj, owner=None):
        _ensure_builtin_configs_loaded()
        return _REGISTRIES[self.library].nested()


def _ensure_builtin_configs_loaded() -> None:
    from .exporters.onnx import models  # noqa: F401  (registers every built-in config)


class AmbiguousModelTypeError(ExportKitError, ValueError):
    pass


class TasksManager:
    """The seed's task/registry API, backed by the typed registries above."""

    _SUPPORTED_MODEL_TYPE = _NestedRegistryView("transformers")
    _TIMM_SUPPORTED_MODEL_TYPE = _NestedRegistryView("timm")
    _DIFFUSERS_SUPPORTED_MODEL_TYPE = _NestedRegistryView("diffusers")
    _SENTENCE_TRANSFORMERS_SUPPORTED_MODEL_TYPE = _NestedRegistryView("sentence_transformers")

    _SYNONYM_TASK_MAP = SYNONYMS

    # ---- tasks ---------------------------------------------------------------------------

    @staticmethod
    def get_all_tasks() -> list[str]:
        return sorted(TASKS)

    @staticmethod
    def map_from_synonym(task: str) -> str:
        """The canonical name of ``task`` (``-with-past`` kept)."""
        return str(Task.parse(task))

    @staticmethod
    def synonyms_for_task(task: str) -> set[str]:
        canonical = Task.parse(task).name
        return {name for name, target in SYNONYMS.items() if target == canonical}

    # ---- registry ------------------------------------------------------------------------

    @staticmethod
    def list_registrations(
        *,
        library: str | None = None,
        model_type: str | None = None,
        exporter: str | None = None,
        task: str | None = None,
    ) -> list[Registration]:
        """Every registered entry, sorted; ``model_type`` and ``task`` accept glob patterns."""
        _ensure_builtin_configs_loaded()
        libraries = [_check_library(library)] if library else list(LIBRARIES)
        out = []
        for lib in libraries:
            for entry in _REGISTRIES[lib].entries():
                if model_type and not fnmatch.fnmatchcase(entry.model_type, normalize_model_type(model_type)):
                    continue
                if exporter and entry.exporter != exporter:
                    continue
                if task and not fnmatch.fnmatchcase(str(entry.task), task):
                    continue
                out.append(entry)
        return sorted(out, key=lambda entry: entry.key)

    @staticmethod
    def _libraries_for(model_type: str) -> list[str]:
        _ensure_builtin_configs_loaded()
        return [lib for lib in LIBRARIES if model_type in _REGISTRIES[lib].model_types()]

    @staticmethod
    def get_supported_tasks_for_model_type(
        model_type: str,
        exporter: str,
        model_name: str | None = None,
        library_name: str | None = None,
    ) -> dict[str, ExportConfigConstructor]:
        """``task -> constructor`` for one model type and exporter.

        With ``library_name=None`` the registries of every library are merged; a task that
        two libraries both register for ``model_type`` is not silently taken from one of them:
        its constructor raises :class:`AmbiguousModelTypeError` naming the libraries.
        """
        _ensure_builtin_configs_loaded()
        model_type = normalize_model_type(model_type)
        shown = model_name or model_type
        libraries = [_check_library(library_name)] if library_name else TasksManager._libraries_for(model_type)
        merged: dict[str, ExportConfigConstructor] = {}
        owners: dict[str, list[str]] = {}
        for lib in libraries:
            nested = _REGISTRIES[lib].nested().get(model_type, {})
            for task, constructor in nested.get(exporter, {}).items():
                merged.setdefault(task, constructor)
                owners.setdefault(task, []).append(lib)
        if not merged:
            all_types = {mt for lib in LIBRARIES for mt in _REGISTRIES[lib].model_types()}
            known = sorted(_REGISTRIES[libraries[0]].model_types()) if library_name else sorted(all_types)
            if model_type in all_types:
                registered = TasksManager.list_registrations(model_type=model_type)
                if library_name and not any(e.library == libraries[0] for e in registered):
                    owners = sorted({e.library for e in registered})
                    raise UnsupportedModelTypeError(
                        f"{shown!r} is not registered in library {library_name!r}; it is registered in {', '.join(owners)}")
                raise UnsupportedModelTypeError(
                    f"{shown!r} has no {exporter!r} export; registered exporters: "
                    f"{', '.join(sorted({e.exporter for e in registered}))}")
            raise UnsupportedModelTypeError(
                f"{shown!r} is not a supported model type{did_you_mean(model_type, known)}. "
                f"Supported: {', '.join(known)}"
            )
        return {task: constructor for task, constructor in merged.items() if len(owners[task]) == 1} | {
            task: _ambiguous(model_type, task, owners[task]) for task in merged if len(owners[task]) > 1
        }

    @staticmethod
    def get_exporter_config_constructor(
        exporter: str,
        model: Any = None,
        task: str = "feature-extraction",
        model_type: str | None = None,
        model_name: str | None = None,
        exporter_config_kwargs: dict[str, Any] | None = None,
        library_name: str | None = None,
    ) -> ExportConfigConstructor:
        """The config constructor for ``(model_type, exporter, task)``; see the seed documentation."""
        if model_type is None:
            if model is None:
                raise ValueError("either model or model_type must be given")
            if library_name is None:
                library_name = infer_library_from_model(model)
            if library_name.replace("-", "_") == "diffusers":  # a component's model type is its class's, per task
                from .loading import diffusers_model_type

                model_type = diffusers_model_type(model, task)
            else:
                # a pipeline's config is its first transformer's, not what the pipeline is (a Router)
                config = getattr(model, "config", None) if library_name == "transformers" else None
                model_type = getattr(config, "export_model_type", None) or getattr(config, "model_type", None)
            if model_type is None:
                model_type = infer_model_type(model)
        model_type = normalize_model_type(model_type)
        parsed = Task.parse(task)
        supported = TasksManager.get_supported_tasks_for_model_type(model_type, exporter, model_name, library_name)
        constructor = supported.get(str(parsed))
        owners = [library_name] if library_name else TasksManager._libraries_for(model_type)
        if constructor is None and len(owners) == 1 and (synonym := library_synonym(parsed.name, owners[0], supported)):
            constructor = supported[synonym]
        if constructor is None:
            raise UnsupportedTaskError(
                f"{model_name or model_type!r} does not support task {task!r} with exporter {exporter!r}"
                f"{did_you_mean(str(parsed), supported)}. Supported tasks: {', '.join(sorted(supported))}"
            )
        if isinstance(constructor, _AmbiguousConstructor):
            constructor()  # raises, naming the libraries
        if exporter_config_kwargs:
            constructor = functools.partial(constructor, **exporter_config_kwargs)
        return constructor

    # ---- models --------------------------------------------------------------------------

    @staticmethod
    def get_model_class_for_task(task: str, library: str = "transformers", model_type: str | None = None):
        from .loading import model_class_for_task

        return model_class_for_task(Task.parse(task), library=_check_library(library), model_type=model_type)

    @staticmethod
    def infer_library_from_model(model: Any) -> str:
        return infer_library_from_model(model)

    @staticmethod
    def infer_task_from_model(model: Any) -> str:
        from .loading import infer_task

        return infer_task(model)

    @staticmethod
    def get_model_from_task(task: str, model_dir: str | os.PathLike, library_name: str | None = None, **kwargs):
        from .loading import load_model

        return load_model(model_dir, task=task, library=library_name, **kwargs)


class _AmbiguousConstructor:
    def __init__(self, model_type: str, task: str, libraries: list[str]):
        self.model_type, self.task, self.libraries = model_type, task, libraries

    def __call__(self, *args, **kwargs):
        raise AmbiguousModelTypeError(
            f"{self.model_type!r} is registered for task {self.task!r} by several libraries "
            f"({', '.join(self.libraries)}); pass library_name to choose one"
        )


def _ambiguous(model_type: str, task: str, libraries: list[str]) -> _AmbiguousConstructor:
    return _AmbiguousConstructor(model_type, task, libraries)


def infer_library_from_model(model: Any) -> str:
    from .loading import infer_library

    return infer_library(model)


def infer_model_type(model: Any) -> str:
    from .loading import infer_model_type as _infer

    return _infer(model)
