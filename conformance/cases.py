"""The cases the harness certifies: every registered triple, once per ONNX engine."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from exportkit import TasksManager
from exportkit.tasks import normalize_model_type
from exportkit.exporters.onnx import ENGINES

ENGINES_BY_EXPORTER = {"onnx": ENGINES}


@dataclass(frozen=True, order=True)
class Case:
    library: str
    model_type: str
    exporter: str
    engine: str
    task: str
    origin: str = ""

    @property
    def column(self) -> str:
        return f"{self.exporter}-{self.engine}" if self.engine else self.exporter

    @property
    def id(self) -> str:
        return f"{self.library}/{self.model_type}/{self.column}/{self.task}"


def all_cases() -> list[Case]:
    """Every registered (library, model_type, exporter, task) times each engine of its exporter, sorted."""
    cases = []
    for entry in TasksManager.list_registrations():
        for engine in ENGINES_BY_EXPORTER.get(entry.exporter, (None,)):
            cases.append(Case(entry.library, entry.model_type, entry.exporter, engine, str(entry.task), entry.origin))
    return sorted(cases, key=lambda case: case.id)


def select_cases(cases: list[Case], *, library=None, model_type=None, exporter=None, engine=None, task=None) -> list[Case]:
    """Filter cases; ``model_type`` and ``task`` are glob patterns, the others exact (comma-separated lists allowed).
    A model type matches in either spelling (transformers' ``qwen3_next`` or the registry's ``qwen3-next``)."""

    def matches(value: str, wanted: str | None, glob: bool = False, spelling=lambda name: name) -> bool:
        if not wanted:
            return True
        options = [spelling(w.strip()) for w in wanted.split(",") if w.strip()]
        return any(fnmatch.fnmatchcase(value, w) if glob else value == w for w in options)

    return [
        case for case in cases
        if matches(case.library, library) and matches(normalize_model_type(case.model_type), model_type, glob=True,
                                                         spelling=normalize_model_type)
        and matches(case.exporter, exporter) and matches(case.engine or "", engine) and matches(case.task, task, glob=True)
    ]
