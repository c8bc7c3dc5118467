"""Patches applied while a model exports: each keeps the model's numbers and makes its graph exportable."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime
import pytest
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


def test_repeat_interleave_to_a_known_size_repeats_as_torch_does():
    from exportkit.exporters.onnx.host_values import _repeat_interleave_to

    original = torch.repeat_interleave
    counts, rows = torch.tensor([2, 0, 3]), torch.arange(6).reshape(3, 2)
    assert torch.equal(_repeat_interleave_to(5, original, counts), original(counts))  # the indices form
    assert torch.equal(_repeat_interleave_to(5, original, rows, counts, 0), original(rows, counts, 0))
    assert torch.equal(_repeat_interleave_to(5, original, rows.T, counts, 1), original(rows.T, counts, 1))
    assert torch.equal(_repeat_interleave_to(12, original, rows, torch.tensor(2)), original(rows, torch.tensor(2)))
    assert torch.equal(_repeat_interleave_to(0, original, rows, 2, 0), original(rows, 2, 0))  # by a number: torch's


class _WindowsOfAGrid(torch.nn.Module):
    """Attention windows read off a constant grid on the host, as patch-grid vision towers do."""

    def forward(self, patches):
        grid = torch.tensor([[1, 2, 3]])
        sizes = torch.repeat_interleave(grid[:, 1] * grid[:, 2], grid[:, 0])
        windows = torch.split(patches, sizes.tolist(), dim=0)
        return torch.cat([window.softmax(dim=0) for window in windows])


def test_host_values_of_a_constant_grid_are_replayed_under_torch_export():
    from exportkit.exporters.onnx.host_values import host_value_patches

    model, patches = _WindowsOfAGrid(), torch.randn(6, 4)
    with pytest.raises(Exception, match="data-dependent"):
        torch.export.export(model, (patches,), strict=False)
    patches_made = host_value_patches(model, [patches, torch.randn(6, 4)])
    assert {"tolist", "item", "__int__", "__index__", "__bool__", "repeat_interleave"} <= {
        spec.name for spec in patches_made}
    with ModelPatcher(_Patched(lambda _: patches_made), model):
        program = torch.export.export(model, (patches,), strict=False)
    assert torch.allclose(program.module()(patches), model(patches))


class _SplitByItsInput(torch.nn.Module):
    def forward(self, x):
        first = int(x[0].item() * 1000) % 3 + 1  # 2 or 3 of the 4 rows, by the first value
        return torch.split(x, [first, 4 - first], dim=0)


def test_host_values_that_follow_the_inputs_are_not_replayed():
    from exportkit.exporters.onnx.host_values import host_value_patches

    examples = [torch.tensor([0.001, 1.0, 2.0, 3.0]), torch.tensor([0.002, 1.0, 2.0, 3.0])]
    assert host_value_patches(_SplitByItsInput(), examples) == []
