"""Complex rotary embeddings exported in real pairs compute what the complex ones compute."""

from __future__ import annotations

import sys

import pytest
import torch

from conformance.zoo import transformers_zoo
from exportkit.exporters.onnx.complex_rope import complex_rope_patches
from exportkit.exporters.onnx.patcher import PatchingSpec


class _Patches:
    """A config that asks for exactly ``specs``."""

    def __init__(self, specs: list[PatchingSpec]):
        self.patching_specs = lambda model: specs


@pytest.mark.parametrize("model_type", ["llama4-text", "deepseek-v2"])
def test_the_real_pair_rotation_is_the_complex_one(model_type):
    from exportkit.exporters.onnx.patcher import ModelPatcher

    torch.manual_seed(0)
    model, _ = transformers_zoo.build(model_type, "text-generation")
    model.eval()
    specs = complex_rope_patches(model)
    assert {spec.name for spec in specs} == {"forward", "apply_rotary_emb"}
    rotary = next(module for module in model.modules() if hasattr(module, "inv_freq"))
    namespace = sys.modules[type(rotary).__module__]
    positions = torch.arange(11).unsqueeze(0)
    heads, width = 3, 2 * rotary.inv_freq.numel()
    # each modelling module's own layout of queries and keys
    shape = (1, 11, heads, width) if model_type == "llama4-text" else (1, heads, 11, width)
    query, key = torch.randn(shape), torch.randn(shape)
    hidden = torch.randn(1, 11, 8)

    expected = namespace.apply_rotary_emb(query, key, rotary(hidden, positions))
    with ModelPatcher(_Patches(specs), model):
        found = namespace.apply_rotary_emb(query, key, rotary(hidden, positions))
    for want, got in zip(expected, found):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    assert torch.is_complex(rotary(hidden, positions))  # unpatched again after the export


def test_a_model_without_complex_rotary_embeddings_gets_no_patch():
    model, _ = transformers_zoo.build("llama", "text-generation")
    assert complex_rope_patches(model) == []
