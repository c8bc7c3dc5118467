"""The calling convention of an exported graph: flat tensors in, a tuple of tensors out.

:class:`ExportableModule` wraps a model and its config so that positional inputs follow the
config's input order and outputs follow its output order. Export traces this module and
validation runs the very same module as the PyTorch reference, so cache building and output
flattening can never differ between the two.
"""

from __future__ import annotations

import torch


class ExportableModule(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, config):
        super().__init__()
        self.model = model
        self.config = config
        self.input_names = list(config.input_specs)
        self.output_names = list(config.output_specs)

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        inputs = dict(zip(self.input_names, args, strict=True))
        result = self.config.call_model(self.model, self.config.model_kwargs(inputs))
        flat = self.config.flatten_outputs(result)
        return tuple(flat[name] for name in self.output_names)

    def example_args(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise KeyError(f"missing inputs {missing}")
        return tuple(inputs[name] for name in self.input_names)
