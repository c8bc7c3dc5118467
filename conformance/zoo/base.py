"""What every recipe returns, and the error for a triple the zoo cannot build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from exportkit.errors import ExportKitError


class MissingRecipeError(ExportKitError, LookupError):
    """The zoo has no way to build a tiny model for this (library, model_type, task)."""


@dataclass
class TinyModel:
    model: torch.nn.Module  # in eval mode
    config: Any  # what the export config is constructed from (``exportkit.loading.model_config``)
    description: str

    @property
    def num_parameters(self) -> int:
        return count_parameters(self.model)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(model: torch.nn.Module, *details: str) -> str:
    """``"BertForSequenceClassification, 2 layers, hidden 32, 104k params"``."""
    return ", ".join([type(model).__name__, *details, f"{count_parameters(model) / 1e3:.0f}k params"])


def calibrate_batch_norms(model: torch.nn.Module, *inputs: torch.Tensor) -> None:
    """Batch norms' running statistics from the model's own activations, as training leaves them.

    Freshly initialised statistics (mean 0, variance 1) normalise nothing: activations then grow
    layer after layer (a random Inception's logits reach 1e10), or, under weights drawn small,
    shrink (a random RT-DETR's encoder features reach 1e-15, every query scoring alike), and an
    export that is right differs from PyTorch by more than any tolerance in float32, or picks
    other queries among equal scores. One pass over ``inputs`` (random images) in training mode
    sets each statistic to what its layer sees.
    """
    norms = [module for module in model.modules() if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: after one pass, that pass's statistics
        norm.train()
    with torch.no_grad():
        model(*inputs)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
        norm.eval()
