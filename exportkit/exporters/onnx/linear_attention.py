"""Linear-attention and state-space layers exported with their sequence length dynamic.

transformers computes the delta rules of Qwen3-Next, Qwen3.5, OLMo-Hybrid and kin (gated delta
rule) and of Kimi Linear, GLM-5 Next and Bailing (Kimi delta attention) chunk by chunk, with a
Python loop over the chunks, which tracing unrolls: an export kept its example's count of
chunks, so its length. While a model is exported (dynamo only), each of its modelling modules'
chunked rule is replaced by the same rule with that loop as a ``scan``, the count of chunks
derived from the length, and no in-place writes; Mamba-2's chunk scan, which has no loop, gets
the same count of chunks. Each rewrite computes what transformers' function does, chunk by
chunk in the same order; ``tests/test_recurrences.py`` holds them equal.
"""

from __future__ import annotations

import functools
import inspect
import sys

import torch

from .patcher import PatchingSpec, while_exporting


def _unit_lower_triangular_inverse(matrix: torch.Tensor) -> torch.Tensor:
    """The inverse of unit lower-triangular ``(..., n, n)`` matrices, by blocks of doubling size:
    the inverse of ``[[A, 0], [C, B]]`` is ``[[A⁻¹, 0], [-B⁻¹ C A⁻¹, B⁻¹]]``.

    There is no ONNX triangular solve, and forward substitution writes rows in place, which
    torch.export guards on the leading sizes: this is matrix products and concatenations only.
    """
    size = matrix.shape[-1]
    padded = 1 << max(size - 1, 0).bit_length()
    if padded != size:  # a power of two, with an identity block below
        matrix = torch.nn.functional.pad(matrix, (0, padded - size, 0, padded - size))
        matrix = matrix + torch.diag(torch.cat([matrix.new_zeros(size), matrix.new_ones(padded - size)]))
    inverse = matrix.new_ones(*matrix.shape[:-2], padded, 1, 1)  # the diagonal blocks' inverses, of size 1
    block = 1
    while block < padded:
        count = padded // (2 * block)
        tiles = matrix.reshape(*matrix.shape[:-2], count, 2 * block, count, 2 * block)
        diagonal = torch.diagonal(tiles, dim1=-4, dim2=-2).movedim(-1, -3)  # (..., count, 2 block, 2 block)
        # copies of the strided views: a product of views asks whether the leading sizes are one
        lower, upper_inverse, lower_inverse = (view.clone(memory_format=torch.contiguous_format) for view in (
            diagonal[..., block:, :block], inverse[..., 0::2, :, :], inverse[..., 1::2, :, :]))
        corner = -(lower_inverse @ lower @ upper_inverse)
        inverse = torch.cat([torch.cat([upper_inverse, torch.zeros_like(corner)], dim=-1),
                             torch.cat([corner, lower_inverse], dim=-1)], dim=-2)
        block *= 2
    return inverse[..., 0, :size, :size]


def _chunked(length, chunk_size: int, *tensors: torch.Tensor) -> list[torch.Tensor]:
    """``(batch, heads, length, ...)`` tensors as ``(batch, heads, chunks, chunk_size, ...)``, the
    last chunk zero-padded. The count is ``ceil(length / chunk_size)`` and the padding whatever
    fills that many: transformers pads by ``(-length) % chunk_size`` and leaves the count to a
    division the symbolic shapes cannot simplify."""
    chunks = (length + chunk_size - 1) // chunk_size
    padding = chunks * chunk_size - length
    chunked = []
    for x in tensors:
        trailing = x.shape[3:]
        x = torch.nn.functional.pad(x, (0, 0) * len(trailing) + (0, padding))
        chunked.append(x.reshape(*x.shape[:2], chunks, chunk_size, *trailing))
    return chunked


def _unchunked(outputs: torch.Tensor, length) -> torch.Tensor:
    """The ``scan``'s stacked ``(chunks, batch, heads, chunk_size, dim)`` outputs as ``(batch,
    length, heads, dim)``: the padding dropped by gathering the first ``length`` positions (a slice
    would leave the length as min(length, padded length), which the symbolic shapes cannot simplify)."""
    chunks, batch, heads, chunk_size, dim = outputs.shape
    # a copy, then a view: reshaping the permuted scan outputs directly asks whether there is one chunk
    outputs = outputs.movedim(0, 2).clone(memory_format=torch.contiguous_format)
    outputs = outputs.reshape(batch, heads, chunks * chunk_size, dim)
    return outputs.index_select(2, torch.arange(length, device=outputs.device)).transpose(1, 2)


def _scan_over_chunks(step, state, *per_chunk: torch.Tensor):
    """``scan`` ``step`` over dimension 2 (the chunks) of each tensor in ``per_chunk``."""
    from torch._higher_order_ops.scan import scan

    # chunk-major copies: a chunk of a strided view has strides that depend on the count of chunks
    return scan(step, state, tuple(x.movedim(2, 0).clone(memory_format=torch.contiguous_format) for x in per_chunk))


def _as_float_heads_first(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [x.transpose(1, 2).to(torch.float32, memory_format=torch.contiguous_format) for x in tensors]


def _initial_state(initial_state, like: torch.Tensor, *shape) -> torch.Tensor:
    if initial_state is None:
        return torch.zeros(*shape, dtype=like.dtype, device=like.device)
    return initial_state.to(like)


def _gated_delta_rule_over_chunks(query, key, value, g, beta, chunk_size=64, initial_state=None,
                                  output_final_state=False, use_qk_l2norm_in_kernel=False, *, l2norm, **kwargs):
    """transformers' ``torch_chunk_gated_delta_rule``, its pass over chunks a ``scan``. One decay per head."""
    dtype = query.dtype
    batch, length, key_heads, _ = key.shape
    value_heads = value.shape[-2]
    if key_heads != value_heads:  # grouped value heads: each query/key head serves consecutive value heads
        query = query.repeat_interleave(value_heads // key_heads, dim=2)
        key = key.repeat_interleave(value_heads // key_heads, dim=2)
    query, key, value, beta, decay = _as_float_heads_first(query, key, value, beta, g)
    if use_qk_l2norm_in_kernel:
        query, key = l2norm(query, dim=-1, eps=1e-6), l2norm(key, dim=-1, eps=1e-6)
    query = query * query.shape[-1] ** -0.5
    query, key, k_beta, v_beta, decay = _chunked(length, chunk_size, query, key, key * beta.unsqueeze(-1),
                                                 value * beta.unsqueeze(-1), decay)
    decay = decay.cumsum(dim=-1)  # within each chunk, in log space

    # within each chunk: the decays between positions, masked to the causal (lower) triangle
    future = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=query.device).triu(1)
    pairwise_decay = (decay.unsqueeze(-1) - decay.unsqueeze(-2)).masked_fill(future, float("-inf")).exp()
    system = (k_beta @ key.transpose(-1, -2)) * pairwise_decay
    intra_chunk = (query @ key.transpose(-1, -2)) * pairwise_decay
    inverse = _unit_lower_triangular_inverse(system.tril(-1) + torch.eye(chunk_size, device=system.device))
    new_values, k_decayed = inverse @ v_beta, inverse @ (k_beta * decay.exp().unsqueeze(-1))
    query = query * decay.exp().unsqueeze(-1)
    key = key * (decay[..., -1:] - decay).exp().unsqueeze(-1)
    chunk_decay = decay[..., -1].exp()[..., None, None]

    def step(state, chunk):
        q, k, values, k_decay, attention, state_decay = chunk
        correction = values - k_decay @ state
        return state * state_decay + k.transpose(-1, -2) @ correction, q @ state + attention @ correction

    state = _initial_state(initial_state, new_values, batch, value_heads, key.shape[-1], v_beta.shape[-1])
    state, outputs = _scan_over_chunks(step, state, query, key, new_values, k_decayed, intra_chunk, chunk_decay)
    output = _unchunked(outputs, length).to(dtype, memory_format=torch.contiguous_format)
    return output, (state if output_final_state else None)


def _kimi_delta_attention_over_chunks(query, key, value, g, beta, chunk_size=64, initial_state=None,
                                      output_final_state=False, use_qk_l2norm_in_kernel=False, *, l2norm, **kwargs):
    """transformers' ``chunk_kimi_delta_attention``, its pass over chunks a ``scan``. A decay per
    head and key channel."""
    dtype = query.dtype
    query, key, value, beta, decay = _as_float_heads_first(query, key, value, beta, g)
    if use_qk_l2norm_in_kernel:
        query, key = l2norm(query, dim=-1, eps=1e-6), l2norm(key, dim=-1, eps=1e-6)
    batch, heads, length, key_dim = key.shape
    query = query * query.shape[-1] ** -0.5
    query, key, k_beta, v_beta, decay = _chunked(length, chunk_size, query, key, key * beta.unsqueeze(-1),
                                                 value * beta.unsqueeze(-1), decay)
    decay = decay.cumsum(dim=-2)  # within each chunk, per key channel, in log space

    future = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=query.device).triu(1)
    now_or_future = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=query.device).triu(0)
    pairwise_decay = (decay.unsqueeze(-2) - decay.unsqueeze(-3)).masked_fill(future[..., None], float("-inf")).exp()
    system = (k_beta.unsqueeze(-2) * key.unsqueeze(-3) * pairwise_decay).sum(dim=-1).masked_fill(now_or_future, 0)
    intra_chunk = (query.unsqueeze(-2) * key.unsqueeze(-3) * pairwise_decay).sum(dim=-1).masked_fill(future, 0)
    inverse = _unit_lower_triangular_inverse(system + torch.eye(chunk_size, device=system.device))
    new_values, k_decayed = inverse @ v_beta, inverse @ (k_beta * decay.exp())

    def step(state, chunk):
        q, k, values, k_decay, attention, chunk_decay = chunk
        correction = values - k_decay @ state
        output = (q * chunk_decay.exp()) @ state + attention @ correction
        state = (state * chunk_decay[..., -1, :].exp().unsqueeze(-1)
                 + (k * (chunk_decay[..., -1:, :] - chunk_decay).exp()).transpose(-1, -2) @ correction)
        return state, output

    state = _initial_state(initial_state, new_values, batch, heads, key_dim, v_beta.shape[-1])
    state, outputs = _scan_over_chunks(step, state, query, key, new_values, k_decayed, intra_chunk, decay)
    output = _unchunked(outputs, length).to(dtype, memory_format=torch.contiguous_format)
    return output, (state if output_final_state else None)


def _segment_sum(x: torch.Tensor) -> torch.Tensor:
    """``out[..., i, j]`` = the sum of ``x[..., j + 1 : i + 1]`` for ``j <= i``, else -inf (Mamba-2's
    stable segment sum: a masked cumulative sum, not a difference of cumulative sums)."""
    size = x.shape[-1]
    x = x[..., None].expand(*x.shape, size)
    x = x.masked_fill(~torch.ones(size, size, dtype=torch.bool, device=x.device).tril(-1), 0).cumsum(dim=-2)
    return x.masked_fill(~torch.ones(size, size, dtype=torch.bool, device=x.device).tril(0), float("-inf"))


def _chunkwise_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` for ``(batch, heads, chunks, m, k)`` and ``(batch, heads, chunks, k, n)``, as one
    batched product over their flattened leading dimensions: matmul's broadcasting of the leading
    dimensions asks whether there is one chunk."""
    leading = a.shape[:3]
    count = leading[0] * leading[1] * leading[2]
    product = torch.bmm(a.reshape(count, *a.shape[3:]), b.reshape(count, *b.shape[3:]))
    return product.reshape(*leading, *product.shape[1:])


def _mamba2_chunk_scan_over_length(hidden_states, dt, A, B, C, chunk_size, D=None, dt_bias=None,
                                   initial_states=None, dt_softplus=False, dt_limit=(0.0, float("inf")),
                                   return_final_states=False, **kwargs):
    """transformers' ``mamba2_chunk_scan`` (Mamba-2's state-space duality: Bamba, Zamba2, Falcon-H1,
    Nemotron-H, Granite-MoE-Hybrid), its chunks counted as ``ceil(length / chunk_size)``.

    It has no loop to unroll: its chunks pass their states on by a product with the decays
    between chunks. What kept the example's length was the padding: the count of chunks left to
    a division the symbolic shapes cannot simplify, and a branch on whether there is padding.
    """
    batch, length, heads, head_dim = hidden_states.shape
    groups = B.shape[2]
    if dt_bias is not None:
        dt = dt + dt_bias.to(dt.dtype)
    if dt_softplus:
        dt = torch.nn.functional.softplus(dt)
    dt = torch.clamp(dt, min=dt_limit[0], max=dt_limit[1])
    hidden_states = hidden_states.float()
    residual = D[..., None] * hidden_states if D is not None else None
    B, C = (x.float().repeat_interleave(heads // groups, dim=2, output_size=heads) for x in (B, C))
    hidden_states = hidden_states * dt[..., None].float()
    A = (A.to(hidden_states.dtype) * dt.float())[..., None]
    # (batch, heads, chunks, positions, ...), contiguous: the chunks stay a batch dimension of
    # every product (an einsum over a permuted layout asks whether there is one chunk)
    x, A, B, C = _chunked(length, chunk_size, *(t.transpose(1, 2) for t in (hidden_states, A, B, C)))
    A = A.squeeze(-1)
    A_cumsum = torch.cumsum(A, dim=-1)
    # within each chunk: attention-like weights of positions on earlier positions, applied to the inputs
    within = _chunkwise_matmul(_chunkwise_matmul(C, B.transpose(-1, -2)) * torch.exp(_segment_sum(A)), x)
    # each chunk's own final state (state, head_dim), then every chunk's initial state from the
    # decays between chunks
    decay_to_end = torch.exp(A_cumsum[..., -1:] - A_cumsum)
    states = _chunkwise_matmul((B * decay_to_end[..., None]).transpose(-1, -2), x)
    previous = (initial_states.transpose(-1, -2)[:, :, None].to(dtype=states.dtype, device=states.device)
                if initial_states is not None else torch.zeros_like(states[:, :, :1]))
    states = torch.cat([previous, states], dim=2)
    between = torch.exp(_segment_sum(torch.nn.functional.pad(A_cumsum[..., -1], (1, 0))))
    state_size = states.shape[-2]
    states = torch.matmul(between, states.flatten(-2)).unflatten(-1, (state_size, head_dim))
    # a copy of the chunks' initial states: a view of all but the last would ask whether there is one chunk
    states, final_state = states[:, :, :-1].clone(), states[:, :, -1].transpose(-1, -2)
    # each chunk's initial state read out at its positions
    carried = _chunkwise_matmul(C, states) * torch.exp(A_cumsum)[..., None]

    output = (within + carried).reshape(batch, heads, within.shape[2] * chunk_size, head_dim)
    # (batch, length, heads, head_dim), contiguous as transformers' is: Falcon-H1 views it
    output = output.index_select(2, torch.arange(length, device=output.device)).transpose(1, 2)
    output = output.clone(memory_format=torch.contiguous_format)
    if residual is not None:
        output = output + residual
    return (output, final_state) if return_final_states else output


def while_capturing(original, replacement):
    """``replacement`` under torch.export and under TorchScript's tracer, ``original`` otherwise."""
    exporting = while_exporting(original, replacement)

    def dispatch(*args, **kwargs):
        return replacement(*args, **kwargs) if torch.jit.is_tracing() else exporting(*args, **kwargs)
    return dispatch


def _causal_conv1d_by_shifts(hidden_states, weight, bias=None, activation=None, **kwargs):
    """transformers' ``causal_conv1d_fn`` (the depthwise causal convolution of Mamba-2's mixers:
    ``(batch, channels, length)`` inputs, a ``(channels, width)`` kernel) as a sum of the kernel's
    taps over shifted copies of the left-padded input.

    torch.export's shape rules for a convolution ask whether the length is one, which, with the
    chunk scan's size-oblivious shapes, kept the example's side of that question: shifts and
    products keep the length symbolic. The same products, summed tap by tap."""
    from transformers.activations import ACT2FN

    width, length = weight.shape[-1], hidden_states.shape[-1]
    padded = torch.nn.functional.pad(hidden_states.to(weight.dtype), (width - 1, 0))
    output = padded.narrow(-1, 0, length) * weight[:, :1]
    for tap in range(1, width):
        output = output + padded.narrow(-1, tap, length) * weight[:, tap:tap + 1]
    if bias is not None:
        output = output + bias[:, None]
    if activation is not None:
        output = ACT2FN[activation](output)
    return output.to(hidden_states.dtype)


def _rwkv_attention_over_time(time_decay, time_first, key, value, state=None, return_state=False):
    """transformers' ``rwkv_linear_attention`` on CPU (RWKV's WKV recurrence, kept stable by a
    running maximum) as a ``scan`` over time: the same steps in the same order. Its Python loop
    over the positions is unrolled by tracing, so the export kept the example's length."""
    from torch._higher_order_ops.scan import scan

    if state is None:
        zeros = torch.zeros_like(key[:, 0], dtype=torch.float32)
        num_state, den_state, max_state = zeros, zeros, zeros - 1e38
    else:
        num_state, den_state, max_state = state
    decay = -torch.exp(time_decay)
    # the parameters ride along each step (a step reads only its own inputs)
    length = key.shape[1]
    decays, firsts = (p.expand(length, *key.shape[:1], p.shape[-1]) for p in (decay, time_first))

    def step(carry, inputs):
        num_state, den_state, max_state = carry.unbind(0)
        current_key, current_value, decay, first = inputs
        max_for_output = torch.maximum(max_state, current_key + first)
        e1 = torch.exp(max_state - max_for_output)
        e2 = torch.exp(current_key + first - max_for_output)
        output = (e1 * num_state + e2 * current_value) / (e1 * den_state + e2)
        max_for_state = torch.maximum(max_state + decay, current_key)
        e1 = torch.exp(max_state + decay - max_for_state)
        e2 = torch.exp(current_key - max_for_state)
        carry = torch.stack([e1 * num_state + e2 * current_value, e1 * den_state + e2, max_for_state])
        return carry, output.to(value.dtype)

    carry = torch.stack([num_state, den_state, max_state])
    keys = key.float().transpose(0, 1).clone(memory_format=torch.contiguous_format)
    values = value.transpose(0, 1).clone(memory_format=torch.contiguous_format)
    carry, outputs = scan(step, carry, (keys, values, decays, firsts))
    output = outputs.transpose(0, 1).to(key.dtype)
    return output, (list(carry.unbind(0)) if return_state or state is not None else state)


def _linear_recurrence_over_time(hidden_states, recurrent_gate, reset, recurrent_states,
                                 acc_dtype=torch.float32):
    """RecurrentGemma's ``RecurrentGemmaRglru._rnn_scan`` (the RG-LRU's linear recurrence, reset at
    each document's first position) as a ``scan`` over time. transformers loops over the
    positions in Python, and takes a branch for one position, where the same recurrence from a
    zero state gives the same outputs: the export keeps the length dynamic."""
    from torch._higher_order_ops.scan import scan

    recurrent_gate = recurrent_gate * ~reset
    if recurrent_states is None:
        recurrent_states = torch.zeros(hidden_states[:, 0].shape, dtype=acc_dtype, device=hidden_states.device)
    dtype = hidden_states.dtype

    def step(state, inputs):
        gate, inputs = inputs
        state = gate.type(acc_dtype) * state + inputs.type(acc_dtype)
        return state, state.to(dtype, copy=True)  # a copy: a scan output may not alias its carry

    per_step = (x.transpose(0, 1).clone(memory_format=torch.contiguous_format) for x in (recurrent_gate, hidden_states))
    state, outputs = scan(step, recurrent_states.to(acc_dtype), tuple(per_step))
    return outputs.transpose(0, 1), state


def recurrence_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Export RWKV's attention (:func:`_rwkv_attention_over_time`) and RecurrentGemma's RG-LRU
    (:func:`_linear_recurrence_over_time`) as a ``scan`` over time under torch.export."""
    specs = []
    for module in {sys.modules.get(type(m).__module__) for m in model.modules()}:
        function = getattr(module, "rwkv_linear_attention", None)
        if callable(function) and tuple(inspect.signature(function).parameters) == RWKV_ATTENTION_PARAMETERS:
            specs.append(PatchingSpec(o=module, name="rwkv_linear_attention", op_wrapper=functools.partial(
                while_exporting, replacement=_rwkv_attention_over_time)))
    for submodule in model.modules():
        method = getattr(submodule, "_rnn_scan", None)
        if (type(submodule).__name__ == "RecurrentGemmaRglru" and callable(method)
                and tuple(inspect.signature(method).parameters) == RNN_SCAN_PARAMETERS):
            specs.append(PatchingSpec(o=submodule, name="_rnn_scan", op_wrapper=functools.partial(
                while_exporting, replacement=_linear_recurrence_over_time)))
    return specs


RWKV_ATTENTION_PARAMETERS = ("time_decay", "time_first", "key", "value", "state", "return_state")
RNN_SCAN_PARAMETERS = ("hidden_states", "recurrent_gate", "reset", "recurrent_states", "acc_dtype")


def _lightning_attention_without_blocks(attention: torch.nn.Module, original):
    """MiniMax's lightning attention (``MiniMaxLightningAttention.forward``) without a cache, as
    one causal product with a decay per head: position ``t`` reads position ``s <= t`` at weight
    ``exp(-slope * (t - s))``, which is what transformers' loop over blocks of ``block_size``
    positions multiplies out (within a block by its diagonal decay, across blocks by the query,
    key and block decays). Its count of blocks is the length's, so tracing unrolled the loop and
    the export kept the example's length. With a cache, the original runs."""

    def forward(hidden_states, position_embeddings=None, attention_mask=None, cache=None, **kwargs):
        cache = kwargs.pop("past_key_values", cache)
        if cache is not None:
            return original(hidden_states, position_embeddings, attention_mask, cache=cache, **kwargs)
        batch_size, seq_len, _ = hidden_states.shape
        heads, head_dim = attention.num_attention_heads, attention.head_dim
        qkv_states = attention.act_fn(attention.qkv_proj(hidden_states))
        if attention_mask is not None:  # transformers' apply_mask_to_padding_states
            qkv_states = (qkv_states * attention_mask[:, :, None]).to(qkv_states.dtype)
        qkv_states = qkv_states.reshape(batch_size, seq_len, heads, 3 * head_dim)
        query, key, value = (x.transpose(1, 2) for x in torch.split(qkv_states, head_dim, dim=3))

        positions = torch.arange(seq_len, device=hidden_states.device)
        distance = (positions[:, None] - positions[None, :]).to(attention.slope_rate.dtype)
        decay = torch.exp(-attention.slope_rate * distance.clamp(min=0)).masked_fill(distance < 0, 0)
        attn_output = torch.matmul(torch.matmul(query, key.transpose(-1, -2)) * decay.to(query.dtype), value)
        # the state after the last position, which the original returns (a cache would keep it)
        to_end = torch.exp(-attention.slope_rate * (seq_len - 1 - positions).to(attention.slope_rate.dtype))
        state = torch.matmul((key * to_end.transpose(-1, -2).to(key.dtype)).transpose(-1, -2), value)

        attn_output = attn_output.transpose(1, 2).reshape(batch_size, seq_len, heads * head_dim)
        attn_output = attention.norm(attn_output)
        attn_output = torch.sigmoid(attention.output_gate(hidden_states)) * attn_output
        return attention.out_proj(attn_output), state

    return forward


LIGHTNING_ATTENTION_PARTS = ("slope_rate", "query_decay", "key_decay", "diagonal_decay", "block_size", "qkv_proj",
                             "output_gate", "out_proj", "norm", "act_fn")


def lightning_attention_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Export each MiniMax lightning attention of ``model`` without a cache as
    :func:`_lightning_attention_without_blocks` (with either engine: it has no loop)."""
    return [PatchingSpec(o=module, name="forward", op_wrapper=functools.partial(
                _lightning_attention_without_blocks, module))
            for module in model.modules()
            if type(module).__name__ == "MiniMaxLightningAttention"
            and all(hasattr(module, part) for part in LIGHTNING_ATTENTION_PARTS)]


# transformers' chunked rules, by name, with the parameters each rewrite takes
CHUNKED_RULES = {
    "torch_chunk_gated_delta_rule": _gated_delta_rule_over_chunks,
    "chunk_kimi_delta_attention": _kimi_delta_attention_over_chunks,
}
CHUNKED_RULE_PARAMETERS = ("query", "key", "value", "g", "beta", "chunk_size", "initial_state",
                           "output_final_state", "use_qk_l2norm_in_kernel", "kwargs")
CAUSAL_CONV1D_PARAMETERS = ("hidden_states", "weight", "bias", "activation", "kwargs")
MAMBA2_CHUNK_SCAN_PARAMETERS = ("hidden_states", "dt", "A", "B", "C", "chunk_size", "D", "dt_bias", "initial_states",
                                "dt_softplus", "dt_limit", "return_final_states", "kwargs")


def chunked_rule_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Export the chunked delta rule of each modelling module of ``model`` that has one as its
    rewrite over chunks (:data:`CHUNKED_RULES`), with the module's own ``l2norm``, and its Mamba-2
    chunk scan as :func:`_mamba2_chunk_scan_over_length`."""
    specs = []
    for module in {sys.modules.get(type(m).__module__) for m in model.modules()}:
        for name, rewrite in CHUNKED_RULES.items():
            function = getattr(module, name, None)
            if callable(function) and tuple(inspect.signature(function).parameters) == CHUNKED_RULE_PARAMETERS:
                replacement = functools.partial(rewrite, l2norm=module.l2norm)
                specs.append(PatchingSpec(o=module, name=name, op_wrapper=functools.partial(
                    while_exporting, replacement=replacement)))
        function = getattr(module, "mamba2_chunk_scan", None)
        if callable(function) and tuple(inspect.signature(function).parameters) == MAMBA2_CHUNK_SCAN_PARAMETERS:
            specs.append(PatchingSpec(o=module, name="mamba2_chunk_scan", op_wrapper=functools.partial(
                while_capturing, replacement=_mamba2_chunk_scan_over_length)))
            function = getattr(module, "causal_conv1d_fn", None)
            if callable(function) and tuple(inspect.signature(function).parameters) == CAUSAL_CONV1D_PARAMETERS:
                specs.append(PatchingSpec(o=module, name="causal_conv1d_fn", op_wrapper=functools.partial(
                    while_exporting, replacement=_causal_conv1d_by_shifts)))
    if specs:
        # The count of chunks is derived from the length: capture would guard it against 1 (a
        # dimension of one broadcasts) and keep the example's count. Size-oblivious reasoning
        # treats a dimension of one as any other; the certifier runs sequences of one chunk.
        import torch.fx.experimental._config as symbolic_shapes_config

        specs.append(PatchingSpec(o=symbolic_shapes_config, name="backed_size_oblivious", custom_op=True))
    return specs


def _recurrent_attention_mask(config, inputs_embeds, attention_mask, cache=None, **kwargs):
    """transformers' mask of the padding a linear-attention or state-space layer zeroes, as one
    graph for every length: the mask's last ``inputs_embeds.shape[1]`` columns.

    transformers returns no mask for a single token (a decoded token is never padding) and for an
    all-ones mask outside tracing: torch.export would keep its example's side of the first
    branch. Multiplying by a mask of ones is the identity, so both give the same outputs.
    """
    if attention_mask is None or attention_mask.ndim != 2:
        return None
    return attention_mask[:, attention_mask.shape[1] - inputs_embeds.shape[1]:]


def recurrent_mask_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Export the recurrent layers' padding mask of each modelling module of ``model`` that uses
    transformers' ``create_recurrent_attention_mask`` as :func:`_recurrent_attention_mask`."""
    try:
        from transformers.masking_utils import create_recurrent_attention_mask
    except ImportError:
        return []
    return [PatchingSpec(o=module, name="create_recurrent_attention_mask", op_wrapper=functools.partial(
                while_exporting, replacement=_recurrent_attention_mask))
            for module in {sys.modules.get(type(m).__module__) for m in model.modules()}
            if getattr(module, "create_recurrent_attention_mask", None) is create_recurrent_attention_mask]
