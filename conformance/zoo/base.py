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
