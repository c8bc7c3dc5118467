"""Encoder-only text models."""

from __future__ import annotations

from typing import Any

from conformance.known_failures import KnownFailure

from ..sizes import TINY_SIZES

OVERRIDES: dict[str, dict[str, Any]] = {
    # Bros embeds each of a box's 8 coordinates sinusoidally in hidden_size / 4 / 8 dims, in sine
    # and cosine halves: 2 at the least, so a hidden size of 64
    "bros": {"hidden_size": 64},
    # LayoutLMv3 embeds each box as four coordinates and two extents, together its width:
    # 4 * 4 + 2 * 8 = 32
    "layoutlmv3": {"coordinate_size": 4, "shape_size": 8},
    # MPNet's attention computes 32 relative-position buckets whatever its config says.
    "mpnet": {"relative_attention_num_buckets": 32},
    # SqueezeBERT's first grouped convolution takes the embeddings as they are (no projection), and
    # its feed-forward convolutions split their channels into four groups
    "squeezebert": {"embedding_size": TINY_SIZES["hidden_size"], "intermediate_size": 40},
    # ESM's config names no vocabulary or special tokens (each checkpoint sets them): a protein alphabet
    "esm": {"vocab_size": 33, "pad_token_id": 1, "mask_token_id": 32},
    # LiLT concatenates six layout embeddings of hidden_size // 6 back to hidden_size, and splits
    # its layout stream (hidden_size // channel_shrink_ratio) over the attention heads
    "lilt": {"hidden_size": 48},
    # X-MOD: adapters for two languages, so lang_ids selects between them
    "xmod": {"languages": ["en_XX", "de_DE"]},
    # ESMC attends with every head its own keys and values
    "esmc": {"num_key_value_heads": TINY_SIZES["num_attention_heads"]},
}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "distilbert": {"sinusoidal-positions": {"sinusoidal_pos_embds": True}},
    # BigBird checkpoints that attend fully (the base model's block-sparse attention is declared below)
    "big-bird": {"original-full": {"attention_type": "original_full"}},
}

KNOWN_FAILURES: list = [
    KnownFailure("transformers/xlm/onnx-*/text-generation-with-past",
                 "XLM keeps its cache as a dict its forward fills in place (each layer's keys and values, and "
                 "the length seen, under 'slen'), neither a transformers Cache nor returned with the outputs: "
                 "there are no present keys and values for a graph to give back"),
    KnownFailure("transformers/big-bird/onnx-*/*",
                 "BigBird's block-sparse attention switches itself to full attention, for good, on the first "
                 "input of at most (5 + 2 * num_random_blocks) * block_size tokens (44 here, 704 for "
                 "bigbird-roberta-base): an export traced on a shorter input computes full attention where the "
                 "model as loaded computes block-sparse, and torch.export cannot take both sides of that Python "
                 "branch"),
    KnownFailure("transformers/canine/onnx-dynamo/*",
                 "torch.export keeps CANINE's count of molecules (sequence_length // downsampling_rate) at "
                 "the example's: its MaxPool1d over the characters and the matmuls of its deep encoder over "
                 "the molecules guard that count against 1, even under size-oblivious reasoning"),
    KnownFailure("transformers/fnet/onnx-torchscript/*",
                 "the TorchScript exporter has no symbolic for aten::fft_fftn (FNet's Fourier mixing); "
                 "the dynamo exporter translates it to DFT"),
    KnownFailure("transformers/funnel/onnx-*/*",
                 "Funnel's pooling blocks: the model itself fails on fewer than 5 tokens here (index out of "
                 "bounds, as torch runs it), and torch.export specialises the sequence length its pooled "
                 "lengths are computed from in Python"),
    KnownFailure("transformers/mobilebert/onnx-dynamo/*",
                 "torch.export guards sequence_length != 2 (the trigram input embedding pads a one-token "
                 "shifted slice, which broadcasts at that size): no Dim range leaves out one size"),
    KnownFailure("transformers/tapas/onnx-torchscript/*",
                 "the TorchScript exporter cannot translate scatter_reduce with include_self=False (TAPAS's "
                 "segmented reductions over its table's cells); the dynamo exporter translates it"),
    KnownFailure("transformers/xmod/onnx-torchscript/*",
                 "X-MOD routes rows to their language's adapter by boolean-mask indexing on lang_ids: a "
                 "TorchScript trace records each language's row count as a constant"),
    KnownFailure("transformers/xmod/onnx-dynamo/multiple-choice",
                 "XmodForMultipleChoice repeats lang_ids batch_size * num_choices times instead of once per "
                 "choice, which fits only one row of one language (upstream modeling_xmod)"),
]
