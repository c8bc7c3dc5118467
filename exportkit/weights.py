"""Did the checkpoint fill the model? A model whose weights did not load is a random model.

Loaders report the names a checkpoint lacked (missing), had but the model has no place for
(unexpected), or had at another size (mismatched); transformers re-initialises the missing
and mismatched ones at random. What matters for an export is whether a random value reaches
an exported output:

- a missing or mismatched weight counts when the exported outputs depend on it, found by
  autograd connectivity through the same calling convention as the export (a BERT masked-LM
  checkpoint exported as feature-extraction lacks the pooler, whose output is not exported);
- an unexpected weight counts when it belongs to a layer the model lacks in one of its layer
  stacks (a 2-layer checkpoint under a 1-layer config); weights of a head or module the
  loaded class does not have (a masked-LM head under a base model) are what choosing a task
  means.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch

from .errors import ModelLoadingError

SHOWN_NAMES = 4
ALLOW = "; --allow-random-weights (allow_random_weights=True) exports the model anyway"


@dataclass
class WeightReport:
    """What one loader said about one module's checkpoint (names relative to ``module``)."""

    module: Any
    missing: set[str] = field(default_factory=set)
    unexpected: set[str] = field(default_factory=set)
    mismatched: set[str] = field(default_factory=set)

    @classmethod
    def from_loading_info(cls, module, info) -> "WeightReport":
        info = info if isinstance(info, dict) else getattr(info, "to_dict", lambda: vars(info))()
        mismatched = {entry[0] if isinstance(entry, (tuple, list)) else entry
                      for entry in info.get("mismatched_keys") or ()}
        return cls(module, set(info.get("missing_keys") or ()), set(info.get("unexpected_keys") or ()), mismatched)


@contextlib.contextmanager
def transformers_weight_reports():
    """Collect the load report of every transformers ``from_pretrained`` inside the block (also
    those a sentence-transformers or diffusers loader makes on its own)."""
    reports: list[WeightReport] = []
    try:
        from transformers import modeling_utils
    except ImportError:
        yield reports
        return
    original = getattr(modeling_utils, "log_state_dict_report", None)
    if original is None:
        yield reports
        return

    def record(*args, **kwargs):
        model, info = kwargs.get("model"), kwargs.get("loading_info")
        if model is None or info is None:
            return original(*args, **kwargs)
        # exportkit judges the report itself (check_weights) and says what matters in one line
        reports.append(WeightReport.from_loading_info(model, info))
        return None

    modeling_utils.log_state_dict_report = record
    try:
        yield reports
    finally:
        modeling_utils.log_state_dict_report = original


def extra_stack_layers(module: torch.nn.Module, unexpected: set[str]) -> list[str]:
    """Unexpected names that fall in a layer stack (ModuleList/ModuleDict) past its end."""
    modules = dict(module.named_modules())
    prefix = getattr(module, "base_model_prefix", "") or ""
    extra = []
    for name in unexpected:
        deepest = max((_deepest_module(modules, spelling) for spelling in _spellings(name, prefix)),
                      key=lambda found: found[0])[1]
        if isinstance(deepest, (torch.nn.ModuleList, torch.nn.ModuleDict)):
            extra.append(name)
    return sorted(extra)


def _spellings(name: str, prefix: str) -> list[str]:
    """A checkpoint name as the model may spell it: with or without the base model's prefix
    (a task model's checkpoint loaded as its base model, and the other way round)."""
    if not prefix:
        return [name]
    if name.startswith(prefix + "."):
        return [name, name[len(prefix) + 1:]]
    return [name, f"{prefix}.{name}"]


def _deepest_module(modules: dict, name: str):
    """(depth, module): the deepest module of the model on the path of a weight's name."""
    parts = name.split(".")[:-1]
    for depth in range(len(parts), -1, -1):
        found = modules.get(".".join(parts[:depth]))
        if found is not None:
            return depth, found
    return 0, None


def weights_reaching_outputs(module: torch.nn.Module, names: set[str], run) -> list[str]:
    """Those of ``names`` (parameters of ``module``) that the outputs of ``run()`` depend on.

    A name that is not a parameter (a persistent buffer) is counted as reaching them."""
    parameters = dict(module.named_parameters(remove_duplicate=False))
    tracked = {name: parameters[name] for name in names if name in parameters}
    reaching = sorted(name for name in names if name not in parameters)
    if not tracked:
        return reaching
    flags = {name: p.requires_grad for name, p in tracked.items()}
    try:
        for p in tracked.values():
            p.requires_grad_(True)
        with torch.enable_grad():
            outputs = [o for o in run() if torch.is_tensor(o) and o.is_floating_point() and o.requires_grad]
            if not outputs:
                return reaching
            total = sum(o.float().sum() for o in outputs)
            grads = torch.autograd.grad(total, list(tracked.values()), allow_unused=True)
    finally:
        for name, p in tracked.items():
            p.requires_grad_(flags[name])
    return sorted(reaching + [name for name, grad in zip(tracked, grads) if grad is not None])


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_NAMES])
    return shown + (f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else "")


def check_weights(reports: list[WeightReport], run_export_outputs, where: str) -> list[str]:
    """Raise :class:`IncompleteWeightsError` when a random weight would reach an exported output;
    otherwise return notes on what the checkpoint and the model did not share.

    ``run_export_outputs()`` runs the model as the export will and returns its outputs."""
    notes = []
    for report in reports:
        extra = extra_stack_layers(report.module, report.unexpected)
        if extra:
            raise IncompleteWeightsError(
                f"{where} holds {len(extra)} weights for layers config.json does not have ({_listed(extra)}): "
                "the checkpoint is deeper than its config" + ALLOW)
        absent = report.missing | report.mismatched
        reaching = weights_reaching_outputs(report.module, absent, run_export_outputs) if absent else []
        if reaching:
            kind = "missing from" if reaching[0] in report.missing else "of another size in"
            raise IncompleteWeightsError(
                f"{len(reaching)} weights the export reads are {kind} {where} ({_listed(reaching)}), so they "
                "would be random: check that config.json belongs to these weights" + ALLOW)
        if report.unexpected:
            unused = sorted(report.unexpected)
            notes.append(f"{len(unused)} weights of {where} belong to parts this task does not use ({_listed(unused)})")
        if absent:
            notes.append(f"{len(absent)} weights missing from {where} are not read by the export "
                         f"({_listed(sorted(absent))})")
    return notes


class IncompleteWeightsError(ModelLoadingError):
    """The checkpoint does not hold weights the export would read (they would be random)."""
