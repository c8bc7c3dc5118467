"""Patches for models whose attention is shaped by the sequence length on Python branches.

Longformer and LED's encoder pad their input to a multiple of ``attention_window`` when the
length is not one (``_pad_to_window_size``), then attend in overlapping chunks counted from the
padded length, and gather their global tokens into tensors sized by how many there are: every
one of these sizes is a Python number or a data-dependent size, fixed by an export at the traced
length. While exporting, their self-attention is computed as one masked attention instead: each
token attends to the non-global, unmasked tokens within ``attention_window / 2`` of it and to
every global token, and a global token attends to every unmasked token through the global
projections. That is what the chunked computation gives for every token (the padding it adds is
masked, and cut off again), so no padding is needed.

Wav2Vec2-Conformer's relative position table is built for ``max_source_positions`` frames and
rebuilt (on a Python branch) for a longer input; its rotary table is cached per length. While
exporting, both are computed in the graph for the input's length, with the model's formulas.
"""

from __future__ import annotations

import math
import sys

import torch

from .patcher import PatchingSpec


def _is_sliding_chunks_attention(module: torch.nn.Module) -> bool:
    return all(hasattr(module, name) for name in (
        "_sliding_chunks_query_key_matmul", "one_sided_attn_window_size", "query_global", "key_global",
        "value_global", "num_heads", "head_dim", "embed_dim"))


def _heads(states: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    batch, length = states.shape[:2]
    return states.view(batch, length, heads, head_dim).transpose(1, 2)


def _masked_window_attention(attention: torch.nn.Module):
    """Longformer's (and LED's encoder's) self-attention as one masked attention over all tokens."""
    original = attention.forward
    window = attention.one_sided_attn_window_size

    def forward(hidden_states, attention_mask=None, is_index_masked=None, is_index_global_attn=None,
                is_global_attn=None, output_attentions=False, **kwargs):
        if output_attentions:  # the banded attention probabilities are the chunked computation's own
            return original(hidden_states, attention_mask=attention_mask, is_index_masked=is_index_masked,
                            is_index_global_attn=is_index_global_attn, is_global_attn=is_global_attn,
                            output_attentions=output_attentions, **kwargs)
        batch, length, embed = hidden_states.shape
        heads, head_dim = attention.num_heads, attention.head_dim
        if is_index_masked is None:
            is_index_masked = attention_mask < 0
        if is_index_global_attn is None:
            is_index_global_attn = attention_mask > 0
        lowest = torch.finfo(hidden_states.dtype).min
        masked_key = is_index_masked[:, None, None, :]
        global_key = is_index_global_attn[:, None, None, :]

        # every token: the non-global, unmasked tokens of its window, and every global token
        query = _heads(attention.query(hidden_states) / math.sqrt(head_dim), heads, head_dim)
        key = _heads(attention.key(hidden_states), heads, head_dim)
        value = _heads(attention.value(hidden_states), heads, head_dim)
        positions = torch.arange(length, device=hidden_states.device)
        near = ((positions[:, None] - positions[None, :]).abs() <= window)[None, None]
        allowed = (near & ~masked_key & ~global_key) | global_key
        scores = torch.matmul(query, key.transpose(-1, -2)).masked_fill(~allowed, lowest)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).type_as(scores)
        probs = probs.masked_fill(is_index_masked[:, None, :, None], 0.0)
        local = torch.matmul(probs, value).transpose(1, 2).reshape(batch, length, embed)

        # a global token: every unmasked token, through the global projections
        global_query = _heads(attention.query_global(hidden_states) / math.sqrt(head_dim), heads, head_dim)
        global_key_states = _heads(attention.key_global(hidden_states), heads, head_dim)
        global_value = _heads(attention.value_global(hidden_states), heads, head_dim)
        global_scores = torch.matmul(global_query, global_key_states.transpose(-1, -2)).masked_fill(masked_key, lowest)
        global_probs = torch.softmax(global_scores, dim=-1, dtype=torch.float32).type_as(global_scores)
        from_global = torch.matmul(global_probs, global_value).transpose(1, 2).reshape(batch, length, embed)

        return (torch.where(is_index_global_attn[:, :, None], from_global, local),)

    return forward


def _no_window_padding(module: torch.nn.Module):
    """``_pad_to_window_size`` that pads nothing: the masked attention takes any length."""

    def pad_to_window_size(input_ids=None, attention_mask=None, *args, **kwargs):
        names = ("token_type_ids", "position_ids", "inputs_embeds") if "token_type_ids" in kwargs else ("inputs_embeds",)
        return (0, input_ids, attention_mask, *(kwargs.get(name) for name in names))

    return pad_to_window_size


def sliding_chunks_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Longformer's and LED's encoder's chunked self-attention as one masked attention, and their
    padding to a multiple of the window dropped (see the module docstring)."""
    attentions = [module for module in model.modules() if _is_sliding_chunks_attention(module)]
    if not attentions:
        return []
    specs = [PatchingSpec(o=module, name="forward", custom_op=_masked_window_attention(module))
             for module in attentions]
    for module in model.modules():
        if callable(getattr(type(module), "_pad_to_window_size", None)):
            specs.append(PatchingSpec(o=module, name="_pad_to_window_size", custom_op=_no_window_padding(module)))
    return specs


def _relative_table_for_length(embedding: torch.nn.Module):
    """Wav2Vec2-Conformer's relative sinusoidal table (``extend_pe``), for the input's length:
    positions ``length - 1`` down to ``-(length - 1)``."""
    d_model = embedding.d_model

    def forward(hidden_states):
        length = hidden_states.shape[1]
        position = torch.arange(length, device=hidden_states.device, dtype=torch.int64).float().unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2, device=hidden_states.device, dtype=torch.int64).float()
                             * -(math.log(10000.0) / d_model))
        angles = position * div_term
        negative_angles = -1 * position * div_term
        positive = torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1).reshape(length, -1)[:, :d_model]
        negative = torch.stack([torch.sin(negative_angles), torch.cos(negative_angles)], dim=-1).reshape(
            length, -1)[:, :d_model]
        table = torch.cat([torch.flip(positive, [0]), negative[1:]], dim=0).unsqueeze(0)
        return table.to(dtype=hidden_states.dtype)

    return forward


def _rotary_table_for_length(embedding: torch.nn.Module):
    """Wav2Vec2-Conformer's rotary (cos, sin) table, computed for the input's length, never cached."""

    def forward(hidden_states):
        inv_freq = embedding.inv_freq
        time_stamps = torch.arange(hidden_states.shape[1], device=inv_freq.device).type_as(inv_freq)
        freqs = time_stamps[:, None] * inv_freq
        embeddings = torch.cat((freqs, freqs), dim=-1)
        return torch.stack([embeddings.cos()[:, None, None, :],
                            embeddings.sin()[:, None, None, :]]).type_as(hidden_states)

    return forward


def _relative_scores_by_gather(module, query, key, relative_position_embeddings):
    """Wav2Vec2-Conformer's relative position scores (``_apply_relative_position_encoding``) with
    the shift done as a gather: query ``i`` reads key ``j``'s score at table row ``length - 1 - i + j``.
    The model's pad-and-view shift reshapes by sizes that torch.export cannot prove divide."""
    projected = module.linear_pos(relative_position_embeddings)
    projected = projected.view(*relative_position_embeddings.shape[:2], -1, module.head_size).permute(0, 2, 3, 1)
    q_with_bias_v = query + module.pos_bias_v[None, :, None, :]
    scores = torch.matmul(q_with_bias_v, projected)  # (batch, heads, queries, 2 * length - 1)
    queries, keys = query.shape[2], key.shape[2]
    rows = torch.arange(queries, device=query.device)[:, None]
    columns = torch.arange(keys, device=query.device)[None, :]
    index = (scores.shape[-1] // 2 - rows + columns).expand(*scores.shape[:2], queries, keys)
    scores = torch.gather(scores, -1, index) * module.scaling
    return query + module.pos_bias_u[None, :, None, :], scores


# the modelling modules whose tables are built with exactly these formulas
POSITION_TABLE_MODULES = frozenset({"transformers.models.wav2vec2_conformer.modeling_wav2vec2_conformer"})


def position_table_patches(model: torch.nn.Module) -> list[PatchingSpec]:
    """Relative and rotary position tables that a model builds or caches for one length on a
    Python branch, computed in the graph for the input's length instead."""
    specs = []
    for module in model.modules():
        name = type(module).__name__
        if type(module).__module__ not in POSITION_TABLE_MODULES:
            continue
        if name.endswith("RelPositionalEmbedding") and callable(getattr(module, "extend_pe", None)) and hasattr(
                module, "d_model"):
            specs.append(PatchingSpec(o=module, name="forward", custom_op=_relative_table_for_length(module)))
        elif name.endswith("RotaryPositionalEmbedding") and hasattr(module, "cached_rotary_positional_embedding"):
            specs.append(PatchingSpec(o=module, name="forward", custom_op=_rotary_table_for_length(module)))
    for namespace in sorted({type(module).__module__ for module in model.modules()} & POSITION_TABLE_MODULES):
        if callable(getattr(sys.modules[namespace], "_apply_relative_position_encoding", None)):
            specs.append(PatchingSpec(o=sys.modules[namespace], name="_apply_relative_position_encoding",
                                      custom_op=_relative_scores_by_gather))
    return specs
