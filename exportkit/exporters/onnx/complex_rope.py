"""Rotary embeddings computed in complex numbers, exported in real pairs.

Llama 4 and DeepSeek-V2 rotate queries and keys by multiplying them, as complex numbers, with
``torch.polar`` frequencies (``view_as_complex`` / ``view_as_real``). ONNX has no complex
tensors, so neither exporter can translate that. While exporting, the rotary module returns
each frequency as a (cos, sin) pair on a trailing axis instead, and the module's
``apply_rotary_emb`` multiplies the (real, imaginary) pairs of the queries and keys by them:
the same products, in real arithmetic.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable

import torch

from .patcher import PatchingSpec

# How each modelling module lines its frequencies (batch, positions, pairs) up with the queries:
# Llama 4 rotates (batch, positions, heads, pairs), DeepSeek-V2 (batch, heads, positions, pairs).
FREQUENCIES_AGAINST_QUERIES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "transformers.models.llama4.modeling_llama4": lambda frequencies: frequencies[:, :, None],
    "transformers.models.deepseek_v2.modeling_deepseek_v2": lambda frequencies: frequencies.unsqueeze(1),
}


def _rotary_forward_in_pairs(rotary: torch.nn.Module):
    """The rotary module's forward, returning (cos, sin) pairs where it returned ``polar(1, angle)``."""

    def forward(x, position_ids):
        angles = position_ids[..., None].float() * rotary.inv_freq.to(device=x.device, dtype=torch.float)
        return torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1) * rotary.attention_scaling
    return forward


def _apply_rotary_in_pairs(line_up: Callable[[torch.Tensor], torch.Tensor]):
    def apply_rotary_emb(xq, xk, freqs_cis):
        frequencies = line_up(freqs_cis.to(xq.device))
        cos, sin = frequencies[..., 0], frequencies[..., 1]

        def rotate(x):
            pairs = x.float().reshape(*x.shape[:-1], -1, 2)
            real, imaginary = pairs[..., 0], pairs[..., 1]
            rotated = torch.stack([real * cos - imaginary * sin, real * sin + imaginary * cos], dim=-1)
            return rotated.flatten(-2).type_as(x)
        return rotate(xq), rotate(xk)
    return apply_rotary_emb


def _computes_polar(module: torch.nn.Module) -> bool:
    try:
        return "torch.polar(" in inspect.getsource(type(module).forward)
    except (OSError, TypeError):
        return False


def complex_rope_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Patches that export the complex rotary embeddings of ``model``'s modules (those of
    :data:`FREQUENCIES_AGAINST_QUERIES`) in real pairs."""
    specs = []
    namespaces = set()
    for module in model.modules():
        namespace = type(module).__module__
        # a dynamic rotary embedding recomputes inv_freq per call (dynamic_rope_update): left as it is
        static = "dynamic" not in str(getattr(module, "rope_type", "")) and "longrope" not in str(
            getattr(module, "rope_type", ""))
        if namespace in FREQUENCIES_AGAINST_QUERIES and hasattr(module, "inv_freq") and static and _computes_polar(module):
            specs.append(PatchingSpec(o=module, name="forward", custom_op=_rotary_forward_in_pairs(module)))
            namespaces.add(namespace)
    for namespace in sorted(namespaces):
        specs.append(PatchingSpec(o=sys.modules[namespace], name="apply_rotary_emb",
                                  custom_op=_apply_rotary_in_pairs(FREQUENCIES_AGAINST_QUERIES[namespace])))
    return specs
