"""The tiny-model zoo: a recipe for every registration, deterministic builds, small models."""

from __future__ import annotations

import pytest
import torch

from conformance.zoo import MissingRecipeError, TinyModel, build_tiny_model, has_recipe, timm_zoo
from exportkit.exporters.onnx.models.auto import AutoOnnxConfig
from exportkit.tasks import TasksManager

MAX_PARAMETERS = 5_000_000
REGISTRATIONS = TasksManager.list_registrations()
# The zoo builds every derived pair through its Auto class; whether it can is the certifier's
# build stage. Built here: every declared family, and one derived pair of each kind.
DERIVED_SAMPLE = {("deberta-v2", "token-classification"), ("modernbert", "fill-mask"),
                  ("swin", "image-classification"), ("convnext", "feature-extraction")}
BUILT = [r for r in REGISTRATIONS if r.config_cls is not AutoOnnxConfig or (r.model_type, r.task.name) in DERIVED_SAMPLE]
# A "-with-past" task exports the same model as its bare task: build each model once.
MODEL_KEYS = sorted({(r.library, r.model_type, r.task.name) for r in BUILT})
REPRESENTATIVE = [
    ("transformers", "llama", "text-generation"),
    ("timm", "efficientnet", "image-classification"),  # batch-norm buffers as well as weights
    ("sentence_transformers", "bert", "sentence-similarity"),  # weights saved and loaded back
    ("diffusers", "vae-decoder", "latent-decoding"),
]


@pytest.fixture(scope="module")
def zoo() -> dict[tuple[str, str, str], TinyModel]:
    return {key: build_tiny_model(*key, seed=0) for key in MODEL_KEYS if has_recipe(*key)}


def test_every_registration_has_a_recipe():
    missing = [f"{r.library}/{r.model_type}/{r.task}" for r in REGISTRATIONS
               if not has_recipe(r.library, r.model_type, r.task)]
    assert not missing, f"no zoo recipe for: {', '.join(missing)}"


def test_every_registered_export_config_accepts_the_tiny_config(zoo):
    for r in BUILT:
        tiny = zoo[r.library, r.model_type, r.task.name]
        assert not tiny.model.training, tiny.description
        config = r.constructor(tiny.config)
        config.generate_dummy_inputs()  # every declared input can be generated from the tiny config


def _declared_large(key: tuple[str, str, str]) -> bool:
    return key[0] == "timm" and key[1] in timm_zoo.FIXED_WIDTHS


def test_models_are_small(zoo):
    sizes = {key: tiny.num_parameters for key, tiny in zoo.items()}
    offenders = {"/".join(key): n for key, n in sizes.items() if n >= MAX_PARAMETERS and not _declared_large(key)}
    print("\n".join(f"{n:>10,d}  {'/'.join(key)}" for key, n in sorted(sizes.items(), key=lambda kv: -kv[1])))
    assert not offenders, f"models with >= {MAX_PARAMETERS:,d} parameters: {offenders}"
    # a declaration that no longer holds is dropped: the module's model can be narrowed now
    stale = sorted({key[1] for key, n in sizes.items() if _declared_large(key) and n < MAX_PARAMETERS})
    assert not stale, f"timm modules declared fixed-width whose tiny models are small: {stale}"


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[name], sb[name]) for name in sa)


@pytest.mark.parametrize("key", REPRESENTATIVE, ids="/".join)
def test_building_is_deterministic(zoo, key):
    rng_state = torch.random.get_rng_state()
    again = build_tiny_model(*key, seed=0)
    other = build_tiny_model(*key, seed=1)
    assert torch.equal(torch.random.get_rng_state(), rng_state), "building must not move the global RNG"
    assert _same_state(zoo[key].model, again.model), f"{key}: seed 0 gave different weights twice"
    assert not _same_state(zoo[key].model, other.model), f"{key}: the seed is ignored"
    assert zoo[key].description == again.description


def test_unknown_triples_have_no_recipe():
    assert has_recipe("transformers", "llama", "text-generation-with-past")
    for key in [("transformers", "no-such-model", "feature-extraction"), ("transformers", "gpt2", "fill-mask"),
                ("timm", "vit", "image-classification"), ("diffusers", "unet", "latent-decoding"),
                ("sentence_transformers", "bert", "fill-mask"), ("no_such_library", "bert", "feature-extraction")]:
        assert not has_recipe(*key), key
        with pytest.raises(MissingRecipeError):
            build_tiny_model(*key)
