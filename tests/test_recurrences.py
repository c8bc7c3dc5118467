"""Linear-attention recurrences rewritten for torch.export: the same outputs as transformers'
own code, and a graph that keeps the sequence length dynamic."""

from __future__ import annotations

import functools
import importlib
import inspect

import pytest
import torch

from exportkit.exporters.onnx.linear_attention import (
    CHUNKED_RULE_PARAMETERS,
    CHUNKED_RULES,
    _recurrent_attention_mask,
    _unit_lower_triangular_inverse,
)

# every modelling module of transformers with a chunked delta rule, and its rule
CHUNKED_RULE_MODULES = {
    **{name: "torch_chunk_gated_delta_rule"
       for name in ("qwen3_next", "qwen3_5", "qwen3_5_moe", "olmo_hybrid", "lara_mini", "qwen4_exp")},
    **{name: "chunk_kimi_delta_attention" for name in ("kimi_linear", "glm5_next", "bailing_hybrid")},
}


def _modelling_module(name: str):
    return importlib.import_module(f"transformers.models.{name}.modeling_{name}")


@pytest.mark.parametrize("size", [1, 2, 3, 8, 64, 100])
def test_the_blockwise_inverse_inverts_unit_lower_triangular_matrices(size):
    rng = torch.Generator().manual_seed(size)
    matrix = torch.randn(3, 2, size, size, generator=rng, dtype=torch.float64).tril(-1) * 0.3 + torch.eye(
        size, dtype=torch.float64)
    inverse = _unit_lower_triangular_inverse(matrix)
    assert inverse.shape == matrix.shape
    torch.testing.assert_close(inverse, torch.linalg.inv(matrix), rtol=1e-9, atol=1e-9)
    assert torch.equal(inverse, inverse.tril()), "the inverse of a lower-triangular matrix is lower-triangular"


@pytest.mark.parametrize("module_name", sorted(CHUNKED_RULE_MODULES))
def test_the_modelling_modules_chunked_rule_has_the_rewritten_signature(module_name):
    rule = getattr(_modelling_module(module_name), CHUNKED_RULE_MODULES[module_name])
    assert tuple(inspect.signature(rule).parameters) == CHUNKED_RULE_PARAMETERS


@pytest.mark.parametrize("length", [1, 5, 64, 70, 130])  # one chunk, a full chunk, several with a padded last
@pytest.mark.parametrize("module_name", ["qwen3_next", "olmo_hybrid", "kimi_linear"])
def test_the_rule_over_chunks_is_the_modelling_code_s(module_name, length):
    module, name = _modelling_module(module_name), CHUNKED_RULE_MODULES[module_name]
    rule, rewrite = getattr(module, name), functools.partial(CHUNKED_RULES[name], l2norm=module.l2norm)
    rng = torch.Generator().manual_seed(length)
    batch, key_heads, value_heads, key_dim, value_dim = 2, 2, 4, 16, 6
    if name == "chunk_kimi_delta_attention":  # one head count, a decay per key channel
        key_heads, decay_shape = value_heads, (batch, length, value_heads, key_dim)
    else:  # grouped value heads, a decay per head
        decay_shape = (batch, length, value_heads)
    query, key = (torch.randn(batch, length, key_heads, key_dim, generator=rng) for _ in range(2))
    value = torch.randn(batch, length, value_heads, value_dim, generator=rng)
    decay = -torch.rand(*decay_shape, generator=rng) * 0.1
    beta = torch.rand(batch, length, value_heads, generator=rng)
    state = torch.randn(batch, value_heads, key_dim, value_dim, generator=rng)
    kwargs = {"g": decay, "beta": beta, "use_qk_l2norm_in_kernel": True}
    expected_output, expected_state = rule(query, key, value, initial_state=state, output_final_state=True, **kwargs)
    output, final_state = rewrite(query, key, value, initial_state=state, output_final_state=True, **kwargs)
    torch.testing.assert_close(output, expected_output, rtol=0, atol=1e-5)
    torch.testing.assert_close(final_state, expected_state, rtol=0, atol=1e-5)
    # from a zero state, and without asking for the final one
    output, no_state = rewrite(query, key, value, **kwargs)
    torch.testing.assert_close(output, rule(query, key, value, **kwargs)[0], rtol=0, atol=1e-5)
    assert no_state is None


def test_the_gated_delta_rule_exports_with_its_length_dynamic():
    """Exported at 7 positions (two chunks of 4), the graph computes 2, 4, 9 and 13 positions:
    the count of chunks follows the length."""
    import torch.fx.experimental._config as symbolic_shapes_config

    module = _modelling_module("qwen3_next")
    rewrite = functools.partial(CHUNKED_RULES["torch_chunk_gated_delta_rule"], l2norm=module.l2norm)

    class GatedDeltaRule(torch.nn.Module):
        def forward(self, query, key, value, decay, beta):
            return rewrite(query, key, value, g=decay, beta=beta, chunk_size=4)[0]

    def inputs(length):
        rng = torch.Generator().manual_seed(length)
        return (torch.randn(1, length, 2, 8, generator=rng), torch.randn(1, length, 2, 8, generator=rng),
                torch.randn(1, length, 2, 8, generator=rng), -torch.rand(1, length, 2, generator=rng),
                torch.rand(1, length, 2, generator=rng))

    length = torch.export.Dim("length", min=2, max=64)
    with symbolic_shapes_config.patch(backed_size_oblivious=True):
        program = torch.export.export(GatedDeltaRule(), inputs(7), dynamic_shapes=[{1: length}] * 5, strict=False)
    for other in (2, 4, 9, 13):
        torch.testing.assert_close(program.module()(*inputs(other)), GatedDeltaRule()(*inputs(other)))


def test_the_recurrent_mask_zeroes_what_transformers_zeroes():
    from transformers.masking_utils import create_recurrent_attention_mask

    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    embeds = torch.zeros(2, 3, 4)
    assert torch.equal(_recurrent_attention_mask(None, embeds, mask),
                       create_recurrent_attention_mask(None, embeds, mask))
    # where transformers skips the mask (one token, or no padding), the rewritten mask is all ones
    for mask, length in ((torch.ones(2, 5, dtype=torch.long), 5), (mask, 1)):
        assert create_recurrent_attention_mask(None, torch.zeros(2, length, 4), mask) is None
        assert _recurrent_attention_mask(None, torch.zeros(2, length, 4), mask).eq(1).all()
    assert _recurrent_attention_mask(None, embeds, None) is None


@pytest.mark.parametrize("length", [1, 5, 16, 21, 40])  # one chunk, a full chunk, several with a padded last
def test_the_mamba2_chunk_scan_over_length_is_the_modelling_code_s(length):
    from exportkit.exporters.onnx.linear_attention import (
        MAMBA2_CHUNK_SCAN_PARAMETERS,
        _mamba2_chunk_scan_over_length,
    )

    module = _modelling_module("mamba2")
    assert tuple(inspect.signature(module.mamba2_chunk_scan).parameters) == MAMBA2_CHUNK_SCAN_PARAMETERS
    rng = torch.Generator().manual_seed(length)
    batch, heads, head_dim, groups, state_size = 2, 4, 3, 2, 5
    hidden = torch.randn(batch, length, heads, head_dim, generator=rng)
    dt = torch.randn(batch, length, heads, generator=rng)
    A = -torch.rand(heads, generator=rng)
    B, C = (torch.randn(batch, length, groups, state_size, generator=rng) for _ in range(2))
    kwargs = {"chunk_size": 16, "D": torch.randn(heads, generator=rng), "dt_bias": torch.randn(heads, generator=rng),
              "dt_softplus": True, "dt_limit": (0.0, float("inf"))}
    initial = torch.randn(batch, heads, head_dim, state_size, generator=rng)
    expected, expected_state = module.mamba2_chunk_scan(hidden, dt, A, B, C, initial_states=initial,
                                                        return_final_states=True, **kwargs)
    output, final_state = _mamba2_chunk_scan_over_length(hidden, dt, A, B, C, initial_states=initial,
                                                         return_final_states=True, **kwargs)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(final_state, expected_state, rtol=0, atol=1e-5)
    torch.testing.assert_close(_mamba2_chunk_scan_over_length(hidden, dt, A, B, C, **kwargs),
                               module.mamba2_chunk_scan(hidden, dt, A, B, C, **kwargs), rtol=0, atol=1e-5)
    # contiguous, as transformers' output is (Falcon-H1's mixer views it)
    assert _mamba2_chunk_scan_over_length(hidden, dt, A, B, C, **kwargs).is_contiguous()


@pytest.mark.parametrize("length", [1, 2, 7])
@pytest.mark.parametrize("activation", [None, "silu"])
def test_the_causal_convolution_by_shifts_is_the_modelling_code_s(length, activation):
    from exportkit.exporters.onnx.linear_attention import CAUSAL_CONV1D_PARAMETERS, _causal_conv1d_by_shifts

    module = _modelling_module("mamba2")
    assert tuple(inspect.signature(module.causal_conv1d_fn).parameters) == CAUSAL_CONV1D_PARAMETERS
    rng = torch.Generator().manual_seed(length)
    hidden, weight, bias = (torch.randn(2, 6, length, generator=rng), torch.randn(6, 4, generator=rng),
                            torch.randn(6, generator=rng))
    torch.testing.assert_close(_causal_conv1d_by_shifts(hidden, weight, bias, activation=activation),
                               module.causal_conv1d_fn(hidden, weight, bias, activation=activation),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("length", [1, 2, 9])
def test_rwkv_attention_over_time_is_the_modelling_code_s(length, with_state):
    from exportkit.exporters.onnx.linear_attention import RWKV_ATTENTION_PARAMETERS, _rwkv_attention_over_time

    module = _modelling_module("rwkv")
    assert tuple(inspect.signature(module.rwkv_linear_attention).parameters) == RWKV_ATTENTION_PARAMETERS
    rng = torch.Generator().manual_seed(length)
    decay, first = torch.randn(6, generator=rng), torch.randn(6, generator=rng)
    key, value = torch.randn(2, length, 6, generator=rng) * 3, torch.randn(2, length, 6, generator=rng)

    def state():  # the modelling code's (numerator, denominator, running maximum) of a previous call
        return [torch.rand(2, 6, generator=torch.Generator().manual_seed(i)) for i in range(3)] if with_state else None

    expected, expected_state = module.rwkv_linear_attention_cpu(decay, first, key, value, state(), return_state=True)
    output, final_state = _rwkv_attention_over_time(decay, first, key, value, state(), return_state=True)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-5)
    for got, wanted in zip(final_state, expected_state):
        torch.testing.assert_close(got, wanted, rtol=0, atol=1e-5)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("length", [1, 2, 9])
def test_the_rg_lru_recurrence_over_time_is_the_modelling_code_s(length, with_state):
    from transformers import RecurrentGemmaConfig

    from exportkit.exporters.onnx.linear_attention import RNN_SCAN_PARAMETERS, _linear_recurrence_over_time

    rg_lru = _modelling_module("recurrent_gemma").RecurrentGemmaRglru(
        RecurrentGemmaConfig(lru_width=8, num_attention_heads=2))
    assert tuple(inspect.signature(rg_lru._rnn_scan).parameters) == RNN_SCAN_PARAMETERS
    rng = torch.Generator().manual_seed(length)
    hidden, gate = torch.randn(2, length, 8, generator=rng), torch.rand(2, length, 8, generator=rng)
    reset = torch.zeros(2, length, 1, dtype=torch.bool)
    reset[:, 0] = True  # each row's first position starts a document
    state = torch.randn(2, 8, generator=rng) if with_state else None
    expected, expected_state = rg_lru._rnn_scan(hidden, gate, reset, state)
    output, final_state = _linear_recurrence_over_time(hidden, gate, reset, state)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(final_state, expected_state, rtol=0, atol=1e-6)


def test_the_recurrences_export_with_their_length_dynamic():
    """RWKV's attention and the RG-LRU's recurrence, exported at 5 positions, compute 1, 2 and 11."""
    from exportkit.exporters.onnx.linear_attention import _linear_recurrence_over_time, _rwkv_attention_over_time

    class Recurrences(torch.nn.Module):
        def forward(self, key, value, gate):
            decay, first = torch.linspace(-1, 1, 4), torch.linspace(0, 1, 4)
            reset = torch.zeros(*gate.shape[:2], 1, dtype=torch.bool)
            return (_rwkv_attention_over_time(decay, first, key, value)[0],
                    _linear_recurrence_over_time(value, gate, reset, None)[0])

    def inputs(length):
        rng = torch.Generator().manual_seed(length)
        return tuple(torch.rand(2, length, 4, generator=rng) for _ in range(3))

    length = torch.export.Dim("length", min=1, max=64)
    program = torch.export.export(Recurrences(), inputs(5), dynamic_shapes=[{1: length}] * 3, strict=False)
    for other in (1, 2, 11):
        for got, wanted in zip(program.module()(*inputs(other)), Recurrences()(*inputs(other))):
            torch.testing.assert_close(got, wanted)


@pytest.mark.parametrize("length", [1, 3, 4, 9])  # within a block, a full block, several with a partial last
def test_lightning_attention_without_blocks_is_the_modelling_code_s(length):
    from transformers import MiniMaxConfig

    from exportkit.exporters.onnx.linear_attention import lightning_attention_patches

    config = MiniMaxConfig(hidden_size=16, num_attention_heads=2, head_dim=8, num_hidden_layers=2, block_size=4)
    attention = _modelling_module("minimax").MiniMaxLightningAttention(config, layer_idx=0).eval()
    with torch.no_grad():
        for parameter in attention.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(parameter.numel())))
    hidden = torch.randn(2, length, 16, generator=torch.Generator().manual_seed(length))
    mask = torch.ones(2, length, dtype=torch.long)
    mask[0, :length // 2] = 0  # left padding, zeroed before the recurrence
    [spec] = lightning_attention_patches(torch.nn.Sequential(attention))
    rewrite = spec.op_wrapper(attention.forward)
    with torch.no_grad():
        expected, expected_state = attention(hidden, None, mask)
        output, state = rewrite(hidden, None, mask)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(state, expected_state, rtol=0, atol=1e-5)
