"""The patches that keep DETR-like detectors' sizes dynamic: RT-DETR's anchors, position tables and
batch size, deformable attention's tables of feature-map sizes, and the patcher's shadowing of a
builtin in a module's namespace."""

import sys
import types

import torch

from exportkit.exporters.onnx.models.vision import _length, _size_table, rt_detr_patches, size_table_patches
from exportkit.exporters.onnx.patcher import ModelPatcher, PatchingSpec


class _Config:
    def __init__(self, specs):
        self.specs = specs

    def patching_specs(self, model):
        return self.specs


def test_patcher_removes_an_attribute_it_added():
    namespace = types.ModuleType("detr_patch_namespace")
    model = torch.nn.Linear(2, 2)
    with ModelPatcher(_Config([PatchingSpec(o=namespace, name="len", custom_op=_length)]), model):
        assert namespace.len is _length
    assert not hasattr(namespace, "len")


def test_length_reads_a_tensor_size_and_leaves_other_objects_to_len():
    assert _length(torch.zeros(3, 5)) == 3
    assert _length([1, 2]) == 2


def test_size_table_leaves_plain_data_to_the_original():
    build = _size_table(torch.tensor)
    table = build([[4, 5], [2, 3]], dtype=torch.long)
    assert torch.equal(table, torch.tensor([[4, 5], [2, 3]]))
    assert torch.equal(build([1.5, 2.5]), torch.tensor([1.5, 2.5]))


def test_size_table_follows_the_traced_sizes():
    build = _size_table(torch.as_tensor)

    def table(first, second):
        return build([tuple(first.shape[-2:]), tuple(second.shape[-2:])], dtype=torch.long)

    traced = torch.jit.trace(table, (torch.zeros(1, 8, 6), torch.zeros(1, 4, 3)), check_trace=False)
    assert traced(torch.zeros(1, 9, 7), torch.zeros(1, 5, 4)).tolist() == [[9, 7], [5, 4]]


def test_size_table_patches_wrap_both_constructors():
    specs = size_table_patches(torch.nn.Linear(2, 2))
    assert {(spec.o, spec.name) for spec in specs} == {(torch, "tensor"), (torch, "as_tensor")}
    originals = torch.tensor, torch.as_tensor
    with ModelPatcher(_Config(specs), torch.nn.Linear(2, 2)):
        assert (torch.tensor, torch.as_tensor) != originals
        assert torch.equal(torch.tensor([[2, 3]]), torch.as_tensor([[2, 3]]))
    assert (torch.tensor, torch.as_tensor) == originals


def test_rt_detr_patches_build_the_position_table_uncached():
    from transformers.models.rt_detr.modeling_rt_detr import RTDetrModel, RTDetrSinePositionEmbedding

    embedding = RTDetrSinePositionEmbedding(embed_dim=16, temperature=10000)
    model = torch.nn.Sequential(embedding)
    specs = rt_detr_patches(model)
    assert [(spec.o, spec.name) for spec in specs] == [(embedding, "forward")]
    expected = embedding(width=3, height=2, device=torch.device("cpu"), dtype=torch.float32)
    patched = specs[0].custom_op(width=3, height=2, device=torch.device("cpu"), dtype=torch.float32)
    assert torch.equal(patched, expected)

    class Detector(torch.nn.Module):  # what the patches look for on RT-DETR's model
        _cached_generate_anchors = RTDetrModel._cached_generate_anchors

    Detector.__module__ = RTDetrModel.__module__
    detector = Detector()
    specs = rt_detr_patches(detector)
    names = {(spec.o if spec.o is not detector else "detector", spec.name) for spec in specs}
    namespace = sys.modules[RTDetrModel.__module__]
    assert names - {(namespace, "torch_compilable_check")} == {("detector", "_cached_generate_anchors"), (namespace, "len")}
    anchors = next(spec.custom_op for spec in specs if spec.name == "_cached_generate_anchors")
    expected_anchors, expected_mask = RTDetrModel._cached_generate_anchors(((4, 4), (2, 2)), 0.05)
    got_anchors, got_mask = anchors(((4, 4), (2, 2)), 0.05)
    assert torch.equal(got_anchors, expected_anchors) and torch.equal(got_mask, expected_mask)


def test_reference_points_from_arange_match_deformable_detr():
    from transformers.models.deformable_detr.modeling_deformable_detr import DeformableDetrEncoder

    from exportkit.exporters.onnx.models.vision import _reference_points

    shapes = [(8, 6), (4, 3), (2, 2)]
    valid_ratios = torch.rand(2, len(shapes), 2) * 0.5 + 0.5
    expected = DeformableDetrEncoder.get_reference_points(shapes, valid_ratios, device=torch.device("cpu"))
    torch.testing.assert_close(_reference_points(shapes, valid_ratios, torch.device("cpu")), expected)


def test_rt_detr_v2_check_is_left_out_of_the_graph():
    from transformers.models.rt_detr_v2.modeling_rt_detr_v2 import RTDetrV2Model

    class Detector(torch.nn.Module):
        _cached_generate_anchors = RTDetrV2Model._cached_generate_anchors

    Detector.__module__ = RTDetrV2Model.__module__
    specs = {spec.name: spec for spec in rt_detr_patches(Detector())}
    assert specs["torch_compilable_check"].o is sys.modules[RTDetrV2Model.__module__]
    assert specs["torch_compilable_check"].custom_op(torch.tensor(False), "never raised") is None
