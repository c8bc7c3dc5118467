"""A zoo of tiny, deterministic, random-weight models: one for every registered
(library, model_type, task), built from config classes without any network access.

    tiny = build_tiny_model("transformers", "bert", "text-classification", seed=0)
    export_config = registration.constructor(tiny.config)
"""

from __future__ import annotations

import torch

from exportkit.loading import model_config
from exportkit.task_names import Task
from exportkit.tasks import normalize_model_type

from . import diffusers_zoo, sentence_transformers_zoo, timm_zoo, transformers_zoo
from .base import MissingRecipeError, TinyModel, count_parameters

__all__ = ["MissingRecipeError", "TinyModel", "build_tiny_model", "count_parameters", "example_budget", "has_recipe",
           "variants"]

# library -> module with ``has_recipe(model_type, task)``, ``variants(model_type, task)`` and
# ``build(model_type, task, variant) -> (model, description)``
RECIPES = {
    "transformers": transformers_zoo,
    "timm": timm_zoo,
    "diffusers": diffusers_zoo,
    "sentence_transformers": sentence_transformers_zoo,
}


def _key(library: str, model_type: str, task: str | Task) -> tuple[str, str, str]:
    # A "-with-past" task exports the same model as its bare task.
    return library.replace("-", "_"), normalize_model_type(model_type), Task.parse(task).name


def has_recipe(library: str, model_type: str, task: str | Task) -> bool:
    library, model_type, task = _key(library, model_type, task)
    return library in RECIPES and RECIPES[library].has_recipe(model_type, task)


def variants(library: str, model_type: str, task: str | Task = "feature-extraction") -> tuple[str, ...]:
    """The structural variants the zoo declares for a family and task, certified beside its base tiny model."""
    library, model_type, task = _key(library, model_type, task)
    return RECIPES[library].variants(model_type, task) if library in RECIPES else ()


def example_budget(library: str, model_type: str) -> int | None:
    """The input elements one example may have, where a family needs less than the default."""
    library, model_type, _ = _key(library, model_type, "feature-extraction")
    budgets = getattr(RECIPES.get(library), "EXAMPLE_BUDGETS", {})
    return budgets.get(model_type)


def build_tiny_model(library: str, model_type: str, task: str | Task, *, seed: int = 0,
                     variant: str | None = None) -> TinyModel:
    """A tiny random-weight model for ``(library, model_type, task)`` (or one of its variants);
    the same seed gives the same weights."""
    library, model_type, task = _key(library, model_type, task)
    if not has_recipe(library, model_type, task):
        raise MissingRecipeError(f"the zoo has no recipe for {library}/{model_type}/{task}")
    # fork_rng: seeding for the build must not disturb the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model, description = RECIPES[library].build(model_type, task, variant)
    model.eval()
    return TinyModel(model=model, config=model_config(model), description=description)
