"""Patches applied while a model exports: each keeps the model's numbers and makes its graph exportable."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime
import torch

from exportkit.exporters.onnx.patcher import ModelPatcher, bool_scatter_patches


class _MaskBySelection(torch.nn.Module):
    """A mask written with Python bools, as sparse-attention indexers write theirs."""

    def forward(self, scores, chosen):
        hidden = torch.ones_like(scores, dtype=torch.bool).scatter(-1, chosen, False)
        kept = torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, chosen, value=True)
        return scores.masked_fill(hidden, -1.0) * kept


class _Patched:
    def __init__(self, patches):
        self.patches = patches

    def patching_specs(self, model):
        return self.patches(model)


def test_a_bool_scatter_value_exports_under_torchscript_with_the_same_numbers():
    model = _MaskBySelection()
    scores, chosen = torch.randn(3, 7), torch.tensor([[0, 4], [2, 6], [1, 3]])
    expected = model(scores, chosen)
    originals = torch.Tensor.scatter, torch.Tensor.scatter_
    buffer = io.BytesIO()
    with ModelPatcher(_Patched(bool_scatter_patches), model):
        torch.onnx.export(model, (scores, chosen), buffer, dynamo=False, opset_version=18,
                          input_names=["scores", "chosen"], dynamic_axes={"scores": {0: "rows"}, "chosen": {0: "rows"}})
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"scores": scores.numpy(), "chosen": chosen.numpy()})
    np.testing.assert_array_equal(got, expected.numpy())
    assert (torch.Tensor.scatter, torch.Tensor.scatter_) == originals  # restored after the export
