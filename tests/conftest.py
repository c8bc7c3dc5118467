"""Shared tiny model configs, tokenizers and a seeded model builder for the unit tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import transformers

VOCAB = 100


def tiny_bert_config() -> transformers.BertConfig:
    return transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, max_position_embeddings=64, type_vocab_size=2,
    )


def tiny_gpt2_config() -> transformers.GPT2Config:
    return transformers.GPT2Config(
        vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=0, eos_token_id=0,
    )


def tiny_llama_config() -> transformers.LlamaConfig:
    return transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, bos_token_id=0, eos_token_id=1, pad_token_id=None,
    )


def tiny_t5_config() -> transformers.T5Config:
    # d_kv deliberately differs from d_model // num_heads: the cache head size is d_kv.
    return transformers.T5Config(
        vocab_size=VOCAB, d_model=32, d_kv=16, d_ff=37, num_layers=2, num_decoder_layers=2, num_heads=4,
        relative_attention_num_buckets=8, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
    )


WORDS = ["hello", "world", "the", "a", "cat", "dog", "sat", "on", "mat", "ran", "fast", "slow", "red", "blue"]


def wordpiece_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """A BERT-style WordPiece tokenizer over a few words, built locally (no hub)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"),
              *"abcdefghijklmnopqrstuvwxyz"]
    tokenizer = Tokenizer(models.WordPiece({token: i for i, token in enumerate(tokens)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def bpe_tokenizer(specials=("<pad>", "</s>", "<unk>"), eos_after: bool = False) -> transformers.PreTrainedTokenizerFast:
    """A BPE tokenizer (letters merged into WORDS), built locally; ``eos_after`` appends ``</s>`` as T5's does."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {token: i for i, token in enumerate([*specials, *"abcdefghijklmnopqrstuvwxyz"])}
    merges = []
    for word in WORDS:
        for end in range(2, len(word) + 1):
            if word[:end] not in vocab:
                merges.append((word[: end - 1], word[end - 1]))
                vocab[word[:end]] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    if eos_after:
        tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>",
                                                eos_token="</s>")


GENERATING_T5_ATOL = "5e-4"


def generating_t5_config() -> transformers.T5Config:
    """The tiny T5 with larger initial weights: from seed 0 its greedy output varies (the default
    initialisation repeats one token), so comparing generated tokens says something. Its values
    are larger too: export it with GENERATING_T5_ATOL, the config's 1e-4 scaled alike."""
    config = tiny_t5_config()
    config.initializer_factor = 2.0
    return config


def build_model(model_cls, config, seed: int = 0) -> torch.nn.Module:
    """A freshly initialised model in eval mode; the same seed gives the same weights."""
    torch.manual_seed(seed)
    return model_cls(config).eval()


# Fresh configs per test: a test may change one.
@pytest.fixture
def bert_config():
    return tiny_bert_config()


@pytest.fixture
def gpt2_config():
    return tiny_gpt2_config()


@pytest.fixture
def llama_config():
    return tiny_llama_config()


@pytest.fixture
def t5_config():
    return tiny_t5_config()


@pytest.fixture(scope="session")
def make_model():
    return build_model


@pytest.fixture(scope="session")
def tiny():
    """The config factories, for fixtures wider than one test."""
    return SimpleNamespace(bert=tiny_bert_config, gpt2=tiny_gpt2_config, llama=tiny_llama_config,
                           t5=tiny_t5_config, build=build_model)
