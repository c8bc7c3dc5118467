"""Patches applied around an export, and always undone afterwards.

A config lists :class:`PatchingSpec` entries in ``PATCHING_SPECS``: replace attribute
``name`` of object ``o`` with ``custom_op`` (or with ``op_wrapper(original)``) while the
model is captured; :meth:`ExporterConfig.patching_specs` adds the ones that depend on the
model instance. Nothing outside the ``with`` block ever sees a patched object.

Validation runs the unpatched model: a patch must not change what the model computes for
any input inside the config's declared axes, and the certifier holds it to that.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable
from typing import Any

import torch


@dataclasses.dataclass
class PatchingSpec:
    o: Any
    name: str
    custom_op: Callable | None = None
    orig_op: Callable | None = None
    op_wrapper: Callable | None = None


_ABSENT = object()


class ModelPatcher:
    """Context manager: eval mode, no grad, and the config's patching specs for the export's duration."""

    def __init__(self, config: Any, model: torch.nn.Module):
        self.config = config
        self.model = model
        self._restore: list[tuple[Any, str, Any]] = []
        self._was_training = model.training
        self._no_grad = torch.no_grad()

    def __enter__(self):
        self.model.eval()
        self._no_grad.__enter__()
        try:
            for spec in self.config.patching_specs(self.model):
                original = spec.orig_op if spec.orig_op is not None else getattr(spec.o, spec.name, None)
                replacement = spec.op_wrapper(original) if spec.op_wrapper is not None else spec.custom_op
                # an attribute the object lacks (a module global shadowing a builtin) is deleted again
                self._restore.append((spec.o, spec.name, getattr(spec.o, spec.name, _ABSENT)))
                setattr(spec.o, spec.name, replacement)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        for obj, name, original in reversed(self._restore):
            if original is _ABSENT:
                delattr(obj, name)
            else:
                setattr(obj, name, original)
        self._restore.clear()
        self._no_grad.__exit__(exc_type, exc, tb)
        self.model.train(self._was_training)
        return False


def dynamic_rope_patches(model: torch.nn.Module, max_positions: int | None) -> list[PatchingSpec]:
    """Export dynamic-NTK rotary embeddings as plain ones where that changes nothing.

    transformers recomputes a dynamic RoPE's frequencies on a branch over the longest position
    id of each call, which torch.export cannot capture. For positions up to the table the
    rotary module was built for (``original_max_seq_len``) that branch never runs, so while
    every declared size stays inside it the module is exported as the default RoPE it is there.
    """
    if max_positions is None:
        return []
    specs = []
    for module in model.modules():
        rope_type = getattr(module, "rope_type", None)
        limit = getattr(module, "original_max_seq_len", None)
        if isinstance(rope_type, str) and "dynamic" in rope_type and limit is not None and max_positions <= limit:
            specs.append(PatchingSpec(o=module, name="rope_type", custom_op="default"))
    return specs


# The mixture-of-experts kernel that exports: it gathers each token's experts' weights, so its
# graph has static shapes. transformers' default on CPU ("grouped_mm") counts tokens per expert
# with ``histc`` and the eager loop visits only the experts one input routes to: neither traces.
EXPORTABLE_EXPERTS = "batched_mm"


def experts_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Run every mixture-of-experts block of ``model`` through :data:`EXPORTABLE_EXPERTS` while it is exported.

    The kernels compute the same sum over the same routed experts; only the schedule differs.
    """
    configs = {}
    for module in model.modules():
        # transformers' ``use_experts_implementation`` gives an experts block these attributes
        config = getattr(module, "config", None)
        if hasattr(module, "is_concatenated") and hasattr(config, "_experts_implementation_internal"):
            configs[id(config)] = config
    return [PatchingSpec(o=config, name="_experts_implementation_internal", custom_op=EXPORTABLE_EXPERTS)
            for config in configs.values() if config._experts_implementation_internal != EXPORTABLE_EXPERTS]


def _previous_tokens(input_ids: torch.Tensor, first) -> torch.Tensor:
    """Each position's predecessor, ``first`` at position 0, gathered rather than copied: the
    modelling code copies the slice ``input_ids[:, :-1]``, whose size torch.export keeps
    symbolic only from 3 tokens on (a slice of one broadcasts and is contiguous either way), so
    one- and two-token inputs would leave the export's range."""
    positions = torch.arange(input_ids.shape[-1], device=input_ids.device)
    previous = input_ids.index_select(-1, (positions - 1).clamp(min=0))
    return torch.where(positions == 0, first, previous)


def _shift_right(input_ids: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """BART's and T5's: the decoder starts from ``decoder_start_token_id``."""
    if pad_token_id is None:
        raise ValueError("self.model.config.pad_token_id has to be defined.")
    shifted = _previous_tokens(input_ids, decoder_start_token_id)
    return shifted.masked_fill(shifted == -100, pad_token_id)  # labels' ignore index -> padding


def _shift_right_wrapping_the_last_token(input_ids: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """mBART's: the decoder starts from each row's last real token (its language id)."""
    if pad_token_id is None:
        raise ValueError("self.model.config.pad_token_id has to be defined.")
    tokens = input_ids.masked_fill(input_ids == -100, pad_token_id)
    last_real = (tokens.ne(pad_token_id).sum(dim=1) - 1).unsqueeze(-1)
    return _previous_tokens(tokens, tokens.gather(1, last_real))


def _shift_right_method(model: torch.nn.Module):
    def shift(input_ids):
        config = model.config
        decoder = getattr(config, "decoder", None)
        if getattr(config, "decoder_start_token_id", None) is None and decoder is not None:
            # T5Gemma's decoder starts from its decoder sub-config's bos token and pads with its pad token
            return _shift_right(input_ids, decoder.pad_token_id, decoder.bos_token_id)
        return _shift_right(input_ids, config.pad_token_id, config.decoder_start_token_id)
    return shift


# The signatures of the module-level shift functions -> their exportable equivalents.
SHIFT_FUNCTIONS = {
    ("input_ids", "pad_token_id", "decoder_start_token_id"): _shift_right,
    ("input_ids", "pad_token_id"): _shift_right_wrapping_the_last_token,
}


def shift_right_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Make decoder inputs from ``input_ids`` by gathering while ``model`` is exported: the
    ``shift_tokens_right`` of each of its modelling modules whose signature is known, and the
    ``_shift_right`` method of T5-like models (checked equal to the originals in the tests)."""
    specs = []
    for module in {sys.modules.get(type(m).__module__) for m in model.modules()}:
        shift = getattr(module, "shift_tokens_right", None)
        replacement = SHIFT_FUNCTIONS.get(tuple(inspect.signature(shift).parameters)) if callable(shift) else None
        if replacement is not None:
            specs.append(PatchingSpec(o=module, name="shift_tokens_right", custom_op=replacement))
    for submodule in model.modules():
        if callable(getattr(type(submodule), "_shift_right", None)) and hasattr(submodule, "config"):
            specs.append(PatchingSpec(o=submodule, name="_shift_right", custom_op=_shift_right_method(submodule)))
    return specs


def _selective_scan_over_time(hidden_states, dt, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                              return_last_state=False, use_mambapy=False, use_associative_scan=False, **kwargs):
    """transformers' sequential selective scan (Mamba and kin, without their CUDA kernels) as a
    ``scan`` over time: the same recurrence, step by step, in the same order. Its Python loop
    over ``range(seq_len)`` is unrolled by tracing, so the export kept the example's length."""
    from torch._higher_order_ops.scan import scan

    input_dtype = hidden_states.dtype
    if delta_bias is not None:
        dt = dt + delta_bias.to(dt.dtype)[..., None]
    if delta_softplus:
        dt = torch.nn.functional.softplus(dt)
    B, C = B.transpose(1, 2), C.transpose(1, 2)  # (batch, time, state)
    discrete_A = torch.exp(A[None, :, None, :] * dt[:, :, :, None])  # (batch, channels, time, state)
    deltaB_u = dt[:, :, :, None] * B[:, None, :, :].float() * hidden_states[:, :, :, None].float()

    def step(state, inputs):
        decay, increment, readout = inputs
        state = decay * state + increment
        return state, torch.matmul(state.to(input_dtype), readout.unsqueeze(-1))[:, :, 0]

    initial = torch.zeros(*discrete_A.shape[:2], A.shape[-1], dtype=input_dtype, device=hidden_states.device)
    ssm_state, outputs = scan(step, initial, (discrete_A.permute(2, 0, 1, 3), deltaB_u.permute(2, 0, 1, 3),
                                              C.transpose(0, 1)))
    scan_output = outputs.permute(1, 2, 0)  # (batch, channels, time)
    if D is not None:
        scan_output = scan_output + hidden_states * D[None, :, None]
    if z is not None:
        scan_output = scan_output * torch.nn.functional.silu(z)
    return (scan_output, ssm_state) if return_last_state else scan_output


# the parameters of transformers' mamba_selective_scan (Mamba, Falcon-Mamba, Jamba, Zamba)
SELECTIVE_SCAN_PARAMETERS = ("hidden_states", "dt", "A", "B", "C", "D", "z", "delta_bias", "delta_softplus",
                             "return_last_state", "use_mambapy", "use_associative_scan")


def selective_scan_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Export the selective scan of each Mamba-like modelling module of ``model`` as a ``scan``
    over time (:func:`_selective_scan_over_time`), so its sequence length stays dynamic."""
    specs = []
    for module in {sys.modules.get(type(m).__module__) for m in model.modules()}:
        function = getattr(module, "mamba_selective_scan", None)
        if callable(function):
            names = tuple(name for name, p in inspect.signature(function).parameters.items()
                          if p.kind is not inspect.Parameter.VAR_KEYWORD)
            if names == SELECTIVE_SCAN_PARAMETERS:
                specs.append(PatchingSpec(o=module, name="mamba_selective_scan", op_wrapper=while_exporting))
    return specs


def while_exporting(original, replacement=None):
    """``replacement`` (the scan over time) under torch.export; ``original`` otherwise
    (TorchScript's tracer, which cannot trace a ``scan``, unrolls either)."""
    replacement = replacement or _selective_scan_over_time

    def dispatch(*args, **kwargs):
        if torch.compiler.is_exporting():
            return replacement(*args, **kwargs)
        return original(*args, **kwargs)
    return dispatch


def _attention_in_four_dimensions(original):
    """``scaled_dot_product_attention`` over ``(..., length, dim)`` tensors of any rank, as a 4-D
    call: the ONNX translation of the op takes 4-D query, key and value only (timm's Hiera, NesT,
    Twins and SAM encoder pass 5-D ones). The leading dimensions are batch dimensions of the op,
    so folding them into one changes nothing computed."""

    def attention(query, key, value, attn_mask=None, *args, **kwargs):
        rank = query.dim()
        if rank == 4 or key.dim() != rank or value.dim() != rank or (attn_mask is not None and
                                                                     attn_mask.dim() not in (rank, 2)):
            return original(query, key, value, attn_mask, *args, **kwargs)
        leading = query.shape[:-3] if rank > 4 else ()
        folded = 1
        for size in leading:
            folded = folded * size

        def four_dimensional(tensor):
            return tensor.unsqueeze(0) if rank == 3 else tensor.reshape(folded, *tensor.shape[-3:])

        if attn_mask is not None and attn_mask.dim() == rank:
            attn_mask = four_dimensional(attn_mask.expand(*query.shape[:-2], *attn_mask.shape[-2:]))
        output = original(four_dimensional(query), four_dimensional(key), four_dimensional(value), attn_mask,
                          *args, **kwargs)
        return output.squeeze(0) if rank == 3 else output.reshape(*leading, *output.shape[1:])

    return attention


def attention_rank_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Export ``torch.nn.functional.scaled_dot_product_attention`` calls on tensors of another rank
    than 4 as 4-D calls (:func:`_attention_in_four_dimensions`)."""
    return [PatchingSpec(o=torch.nn.functional, name="scaled_dot_product_attention",
                         op_wrapper=lambda original: while_exporting(original, _attention_in_four_dimensions(original)))]


def _embedding_bag_by_index_add(original):
    """``embedding_bag`` over flat ids and offsets, in sum or mean mode, as a gather and two
    ``index_add`` calls: torch.onnx's translation of the op is a loop over the bags, which the
    dynamo engine does not finish translating. Each token is added into the bag whose offset is
    the last at or before it; an empty bag sums to zeros, and its mean stays zero."""

    def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                      mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                      padding_idx=None):
        if (input.dim() != 1 or offsets is None or mode not in ("sum", "mean") or max_norm is not None
                or per_sample_weights is not None or include_last_offset or padding_idx is not None):
            return original(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                            per_sample_weights, include_last_offset, padding_idx)
        positions = torch.arange(input.shape[0], device=input.device)
        bag = (offsets.unsqueeze(0) <= positions.unsqueeze(1)).sum(dim=1) - 1
        rows = offsets.shape[0]
        sums = weight.new_zeros(rows, weight.shape[1]).index_add(0, bag, weight[input])
        if mode == "sum":
            return sums
        counts = weight.new_zeros(rows).index_add(0, bag, torch.ones_like(input, dtype=weight.dtype))
        return sums / counts.clamp(min=1).unsqueeze(1)

    return embedding_bag


def embedding_bag_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Export a model's ``EmbeddingBag`` (sentence-transformers' StaticEmbedding) through
    :func:`_embedding_bag_by_index_add` under torch.export; TorchScript's translation is its own."""
    if not any(isinstance(module, torch.nn.EmbeddingBag) for module in model.modules()):
        return []
    return [PatchingSpec(o=torch.nn.functional, name="embedding_bag",
                         op_wrapper=lambda original: while_exporting(original, _embedding_bag_by_index_add(original)))]


def _no_gqa_while_tracing(original):
    """transformers' choice of ``enable_gqa`` for ``scaled_dot_product_attention``, but never under
    TorchScript's tracer, whose ONNX translation of the op does not take it: the key and value
    heads are repeated to the query heads instead (transformers' own fallback), which computes the
    same attention. torch.export translates ``enable_gqa``, and keeps it."""

    def use_gqa_in_sdpa(*args, **kwargs):
        return False if torch.jit.is_tracing() else original(*args, **kwargs)

    return use_gqa_in_sdpa


def sdpa_gqa_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Repeat key and value heads rather than pass ``enable_gqa`` while TorchScript traces a model
    (:func:`_no_gqa_while_tracing`): maskless grouped-query attention (Sapiens2's) would take it."""
    module = sys.modules.get("transformers.integrations.sdpa_attention")
    if module is None or not callable(getattr(module, "use_gqa_in_sdpa", None)):
        return []
    return [PatchingSpec(o=module, name="use_gqa_in_sdpa", op_wrapper=_no_gqa_while_tracing)]


def _bool_scatter_value_as_int(original):
    """``Tensor.scatter`` (or ``scatter_``) of a Python bool value, with the value as an int while
    TorchScript traces: its alias analysis has no schema for a bool scalar (an internal assert at
    export), and a bool tensor takes 0 and 1 as False and True. DeepSeek's sparse-attention
    indexers and Qwen4-Exp's token selection scatter ``False`` and ``True`` into their masks."""

    def scatter(self, dim, index, *args, **kwargs):
        if torch.jit.is_tracing() and args and isinstance(args[0], bool):
            args = (int(args[0]), *args[1:])
        if torch.jit.is_tracing() and isinstance(kwargs.get("value"), bool):
            kwargs["value"] = int(kwargs["value"])
        return original(self, dim, index, *args, **kwargs)

    return scatter


def bool_scatter_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """:func:`_bool_scatter_value_as_int` for ``Tensor.scatter`` and ``Tensor.scatter_``."""
    return [PatchingSpec(o=torch.Tensor, name=name, op_wrapper=_bool_scatter_value_as_int)
            for name in ("scatter", "scatter_")]
