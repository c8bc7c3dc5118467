"""Axis and TensorSpec: validation, sizes, static and derived axes, and the seed's dict view."""

from __future__ import annotations

import pytest

from exportkit.axes import Axis, TensorSpec, derived, input_axes, opaque


# ---- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min": -1}, "min must be >= 0"),
        ({"min": 5, "max": 4}, "max 4 < min 5"),
        ({"multiple_of": 0}, "multiple_of"),
        ({"multiple_of": -8}, "multiple_of"),
        ({"default": 0, "min": 1}, "default 0 is outside"),
        ({"default": 65, "max": 64}, "default 65 is outside"),
        ({"default": 10, "multiple_of": 4}, "default 10 is outside"),
    ],
)
def test_bad_axis_declarations_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Axis("x", **kwargs)


def test_error_names_the_axis():
    with pytest.raises(ValueError, match="'sequence_length'"):
        Axis("sequence_length", min=3, max=2)


def test_good_axis_declarations():
    axis = Axis("sequence_length", default=16, min=1, max=64)
    assert axis.dynamic and axis.is_input_size
    assert axis.shape_kwarg == "sequence_length"
    # min == max, zero min and a default on the step are all allowed
    assert Axis("one", default=1, min=1, max=1).default == 1
    assert Axis("past", default=0, min=0).min == 0
    assert Axis("h", default=64, multiple_of=32).multiple_of == 32


def test_with_range_revalidates():
    axis = Axis("batch_size", default=2, min=1, max=64)
    narrowed = axis.with_range(max=8)
    assert (narrowed.min, narrowed.max, narrowed.default) == (1, 8, 2)
    assert axis.max == 64  # frozen: the original is untouched
    assert axis.with_range(default=5).default == 5
    with pytest.raises(ValueError):
        axis.with_range(max=1)  # the default 2 would fall outside
    with pytest.raises(ValueError):
        axis.with_range(min=10, max=5)


def test_axis_is_frozen():
    axis = Axis("batch_size", default=2)
    with pytest.raises(AttributeError):
        axis.default = 3


# ---- accepts / multiple_of ------------------------------------------------------------------

def test_accepts_respects_bounds():
    axis = Axis("sequence_length", default=16, min=2, max=32)
    assert not axis.accepts(1)
    assert axis.accepts(2)
    assert axis.accepts(32)
    assert not axis.accepts(33)


def test_accepts_unbounded_max():
    axis = Axis("past_sequence_length", default=8, min=0)
    assert axis.accepts(0)
    assert axis.accepts(10**6)
    assert not axis.accepts(-1)


def test_accepts_multiple_of():
    axis = Axis("height", default=64, min=32, max=512, multiple_of=32, kwarg="image_height")
    assert axis.accepts(32) and axis.accepts(96) and axis.accepts(512)
    assert not axis.accepts(100)
    assert not axis.accepts(0)  # a multiple, but below min
    assert not axis.accepts(544)  # a multiple, but above max
    assert axis.shape_kwarg == "image_height"


# ---- static axes ------------------------------------------------------------------------------

def test_static_axis():
    axis = Axis.static("num_channels", 3)
    assert not axis.dynamic
    assert (axis.min, axis.max, axis.default) == (3, 3, 3)
    assert axis.accepts(3) and not axis.accepts(4)
    assert not axis.is_input_size
    # a static size never comes from the chosen dims
    assert axis.size({"num_channels": 7}) == 3


def test_static_axis_without_size_cannot_be_sized():
    axis = Axis("logits_dim_1", dynamic=False)
    with pytest.raises(KeyError, match="model decides"):
        axis.size({})


# ---- sizes, derived and opaque axes -------------------------------------------------------------

def test_size_uses_dims_then_default():
    axis = Axis("batch_size", default=2)
    assert axis.size({"batch_size": 5}) == 5
    assert axis.size({}) == 2
    with pytest.raises(KeyError, match="no size chosen"):
        Axis("free").size({})


def test_derived_axis():
    total = derived("total_sequence_length", lambda d: d["past_sequence_length"] + d["sequence_length"])
    assert total.dynamic
    assert total.derive is not None
    assert not total.is_input_size
    assert total.size({"past_sequence_length": 0, "sequence_length": 7}) == 7
    assert total.size({"past_sequence_length": 5, "sequence_length": 7}) == 12
    # the derivation wins over an explicitly chosen size of the same name
    assert total.size({"past_sequence_length": 1, "sequence_length": 1, "total_sequence_length": 99}) == 2


def test_opaque_axis():
    frames = opaque("num_frames")
    assert frames.dynamic and frames.derive is None and frames.default is None
    assert not frames.is_input_size
    with pytest.raises(KeyError):
        frames.size({})


# ---- TensorSpec ---------------------------------------------------------------------------------

BATCH = Axis("batch_size", default=2, min=1, max=64)
SEQ = Axis("sequence_length", default=16, min=1, max=64)
PAST = Axis("past_sequence_length", default=8, min=0)
HEADS = Axis.static("num_heads", 4)
HEAD_DIM = Axis.static("head_dim", 8)
TOTAL = derived("total_sequence_length", lambda d: d["past_sequence_length"] + d["sequence_length"])


def test_tensor_spec_shape_and_dynamic_axes():
    spec = TensorSpec("present.0.key", (BATCH, HEADS, TOTAL, HEAD_DIM))
    assert spec.rank == 4
    assert spec.dynamic_axes == {0: "batch_size", 2: "total_sequence_length"}
    assert spec.shape({"batch_size": 3, "sequence_length": 5, "past_sequence_length": 4}) == (3, 4, 9, 8)
    assert spec.dtype == "float"


def test_tensor_spec_defaults_and_int_dtype():
    spec = TensorSpec("input_ids", (BATCH, SEQ), dtype="int")
    assert spec.shape({}) == (2, 16)
    assert spec.shape({"sequence_length": 3}) == (2, 3)
    assert spec.dynamic_axes == {0: "batch_size", 1: "sequence_length"}
    assert spec.dtype == "int"


def test_tensor_spec_all_static():
    spec = TensorSpec("pixel_values", (Axis.static("b", 1), Axis.static("c", 3), Axis.static("h", 8)))
    assert spec.dynamic_axes == {}
    assert spec.shape({"b": 9}) == (1, 3, 8)


# ---- input_axes: one declaration per axis name ------------------------------------------------------

def test_input_axes_collects_caller_chosen_axes_only():
    specs = {
        "input_ids": TensorSpec("input_ids", (BATCH, SEQ)),
        "past": TensorSpec("past", (BATCH, HEADS, PAST, HEAD_DIM)),
        "mask": TensorSpec("mask", (BATCH, TOTAL)),
    }
    axes = input_axes(specs)
    assert set(axes) == {"batch_size", "sequence_length", "past_sequence_length"}
    assert axes["sequence_length"] is SEQ


def test_same_axis_declared_twice_identically_is_fine():
    specs = {
        "a": TensorSpec("a", (BATCH, SEQ)),
        "b": TensorSpec("b", (Axis("batch_size", default=2, min=1, max=64), SEQ)),
    }
    assert input_axes(specs)["batch_size"] == BATCH


@pytest.mark.parametrize(
    "other",
    [
        Axis("sequence_length", default=8, min=1, max=64),  # another default
        Axis("sequence_length", default=16, min=1, max=32),  # another max
        Axis("sequence_length", default=16, min=1, max=64, multiple_of=2),  # another step
        Axis("sequence_length", default=16, min=1, max=64, kwarg="seq"),  # another keyword
    ],
)
def test_conflicting_axis_declarations_raise(other):
    specs = {
        "input_ids": TensorSpec("input_ids", (BATCH, SEQ)),
        "attention_mask": TensorSpec("attention_mask", (BATCH, other)),
    }
    with pytest.raises(ValueError, match="declared two ways.*'attention_mask'"):
        input_axes(specs)
