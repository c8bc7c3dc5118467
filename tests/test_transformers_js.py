"""transformers.js loads what `exportkit export onnx --layout transformers.js` writes, and computes
what PyTorch computes: embeddings, greedy generation with a KV cache (decoder-only and
encoder-decoder), image-classification logits.

transformers.js is installed once, with npm, into a cache folder outside the checkout
(``$EXPORTKIT_NODE_CACHE``, else ``~/.cache/exportkit``), under a file lock so that parallel
workers install it once. Without Node and npm these tests skip, unless EXPORTKIT_REQUIRE_NODE=1
(set by CI), where they fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers

from exportkit.cli import main

from conftest import (GENERATING_T5_ATOL, bpe_tokenizer, build_model, generating_t5_config, tiny_bert_config,
                      tiny_gpt2_config, tiny_llama_config, wordpiece_tokenizer)

pytestmark = [pytest.mark.node, pytest.mark.slow]

# Exact: the version whose file names exportkit's transformers.js layout follows (exportkit/layout.py).
TRANSFORMERS_JS = "4.3.2"
CLIENT = Path(__file__).parent / "js" / "transformers_js_client.mjs"
INSTALLED = ".exportkit-installed"

# transformers.js and PyTorch differ by what ONNX Runtime and PyTorch round differently.
EMBEDDING_ATOL = 1e-4
LOGITS_ATOL = 1e-4
NEW_TOKENS = 20
# The smallest top-1/top-2 logit gap a greedy step of the reference may have: ten times the
# graphs' validated tolerance (1e-4), so that rounding cannot flip a token.
MIN_GREEDY_GAP = 1e-3

TEXTS = ["the cat sat on the mat", "hello world", "a red dog ran fast on the blue mat"]


# ---- transformers.js, installed once ---------------------------------------------------------

def _unavailable(reason: str):
    if os.environ.get("EXPORTKIT_REQUIRE_NODE") == "1":
        pytest.fail(f"EXPORTKIT_REQUIRE_NODE=1, but {reason}")
    pytest.skip(reason)


def _cache_root() -> Path:
    configured = os.environ.get("EXPORTKIT_NODE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "exportkit"


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        yield


def _install(npm: str, target: Path) -> None:
    """npm-install transformers.js into ``target``, complete or not at all."""
    if (target / INSTALLED).is_file():
        return
    scratch = Path(tempfile.mkdtemp(prefix=".installing-", dir=target.parent))
    try:
        (scratch / "package.json").write_text('{"private": true}\n')
        # --ignore-scripts: onnxruntime-node's install script downloads from outside the registry;
        # its CPU binary ships inside the package.
        done = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error",
                               f"@huggingface/transformers@{TRANSFORMERS_JS}"],
                              cwd=scratch, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            _unavailable(f"npm could not install @huggingface/transformers@{TRANSFORMERS_JS}: "
                         f"{(done.stderr or done.stdout).strip()[-500:]}")
        (scratch / INSTALLED).write_text(TRANSFORMERS_JS + "\n")
        shutil.rmtree(target, ignore_errors=True)  # an earlier, incomplete install
        os.rename(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def transformers_js():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable(f"the transformers.js tests need Node.js and npm ({'node' if not node else 'npm'} is not on "
                     "PATH; Debian: apt-get install nodejs npm)")
    root = _cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"transformers-js-{TRANSFORMERS_JS}"
    with _locked(root / f".transformers-js-{TRANSFORMERS_JS}.lock"):
        _install(npm, target)
    package = target / "node_modules" / "@huggingface" / "transformers"
    manifest = json.loads((package / "package.json").read_text())
    assert manifest["version"] == TRANSFORMERS_JS
    return SimpleNamespace(node=node, entry=str(package / manifest["exports"]["node"]["import"]["default"]))


def run_client(transformers_js, export: Path, flow: str, **request) -> dict:
    """What transformers.js computes for ``flow`` on the export in ``export`` (remote models disabled)."""
    payload = {"entry": transformers_js.entry, "models": str(export.parent), "model": export.name, "flow": flow,
               **request}
    done = subprocess.run([transformers_js.node, str(CLIENT)], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- sources and exports -------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory):
    transformers.logging.set_verbosity_error()
    return tmp_path_factory.mktemp("transformers-js")


def export_for_transformers_js(source: Path, out: Path, *flags: str) -> Path:
    status = main(["export", "onnx", "--model", str(source), "--layout", "transformers.js", *flags, str(out)])
    assert status == 0, f"exportkit export onnx exited {status}"
    return out


def files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def mean_pooled(model, tokenizer, texts) -> np.ndarray:
    """Mean pooling over the real tokens, then L2 normalization: what sentence-transformers computes."""
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def max_abs_diff(expected, got) -> float:
    expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    assert expected.shape == got.shape, (expected.shape, got.shape)
    return float(np.max(np.abs(expected - got)))


# ---- (a) feature extraction ------------------------------------------------------------------

def test_feature_extraction_of_an_encoder_matches_pytorch(transformers_js, work):
    source = work / "bert"
    build_model(transformers.BertModel, tiny_bert_config()).save_pretrained(source)
    tokenizer = wordpiece_tokenizer()
    tokenizer.save_pretrained(source)
    out = export_for_transformers_js(source, work / "bert-js", "--task", "feature-extraction")
    assert files(out) == ["config.json", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"]

    got = run_client(transformers_js, out, "feature-extraction", texts=TEXTS)
    model = transformers.BertModel.from_pretrained(source).eval()
    diff = max_abs_diff(mean_pooled(model, tokenizer, TEXTS), got["embeddings"])
    print(f"feature-extraction (BERT): max abs diff {diff:.3g}")
    assert diff <= EMBEDDING_ATOL


@pytest.fixture(scope="module")
def sentence_transformer(work):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_modules

    base = work / "st-base"
    build_model(transformers.BertModel, tiny_bert_config(), seed=1).save_pretrained(base)
    wordpiece_tokenizer().save_pretrained(base)
    transformer = st_modules.Transformer(str(base))
    model = SentenceTransformer(modules=[transformer, st_modules.Pooling(transformer.get_word_embedding_dimension(),
                                                                         "mean"), st_modules.Normalize()])
    model.save_pretrained(str(work / "st"))
    return work / "st"


def test_a_sentence_transformers_directory_loads_in_transformers_js(transformers_js, work, sentence_transformer):
    from sentence_transformers import SentenceTransformer

    out = export_for_transformers_js(sentence_transformer, work / "st-js")  # no --task: its default
    written = files(out)
    for name in ("onnx/model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json", "modules.json",
                 "1_Pooling/config.json"):
        assert name in written
    assert not [name for name in written if name.endswith((".safetensors", ".bin"))]

    got = run_client(transformers_js, out, "feature-extraction", texts=TEXTS)
    assert got["sessions"] == ["model"]
    expected = SentenceTransformer(str(sentence_transformer), device="cpu").encode(TEXTS, convert_to_numpy=True)
    diff = max_abs_diff(expected, got["embeddings"])
    print(f"feature-extraction (sentence-transformers): max abs diff {diff:.3g}")
    assert diff <= EMBEDDING_ATOL


# ---- (b, c) greedy generation with a KV cache --------------------------------------------------

def greedy_reference(model, input_ids: torch.Tensor) -> list[int]:
    """transformers' greedy tokens, checked to be far from a tie at every step."""
    out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=NEW_TOKENS,
                         min_new_tokens=NEW_TOKENS, do_sample=False, output_scores=True, return_dict_in_generate=True)
    gaps = [float(top[0, 0] - top[0, 1]) for top in (torch.topk(scores, 2).values for scores in out.scores)]
    assert min(gaps) > MIN_GREEDY_GAP, f"the reference nearly ties at a step (gap {min(gaps):.3g}): pick another seed"
    tokens = out.sequences[0].tolist()
    assert len(set(tokens[-NEW_TOKENS:])) >= 5  # a model that repeats one token would show little
    return tokens


DECODERS = {
    # larger initial weights than the defaults: the greedy output then varies
    "gpt2": (transformers.GPT2LMHeadModel, tiny_gpt2_config, 0.2),
    "llama": (transformers.LlamaForCausalLM, tiny_llama_config, 0.5),
}


@pytest.mark.parametrize("name", DECODERS)
def test_text_generation_with_past_matches_transformers(transformers_js, work, name):
    model_class, make_config, initializer_range = DECODERS[name]
    config = make_config()
    config.initializer_range = initializer_range
    source = work / name
    build_model(model_class, config).save_pretrained(source)
    tokenizer = bpe_tokenizer()
    tokenizer.save_pretrained(source)
    out = export_for_transformers_js(source, work / f"{name}-js", "--task", "text-generation-with-past")
    assert files(out) == ["config.json", "generation_config.json", "onnx/model.onnx", "tokenizer.json",
                          "tokenizer_config.json"]

    prompt = TEXTS[0]
    got = run_client(transformers_js, out, "text-generation", prompt=prompt, new_tokens=NEW_TOKENS)
    input_ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    assert got["prompt_ids"] == input_ids[0].tolist()
    assert any(".key" in n for n in got["sessions"]["model"])  # it runs the graph with its KV cache
    expected = greedy_reference(model_class.from_pretrained(source).eval(), input_ids)
    assert got["tokens"] == expected


def test_text2text_generation_matches_transformers(transformers_js, work):
    source = work / "t5"
    build_model(transformers.T5ForConditionalGeneration, generating_t5_config()).save_pretrained(source)
    tokenizer = bpe_tokenizer(eos_after=True)
    tokenizer.save_pretrained(source)
    out = export_for_transformers_js(source, work / "t5-js", "--task", "text2text-generation-with-past",
                                     "--atol", GENERATING_T5_ATOL)
    assert files(out) == ["config.json", "generation_config.json", "onnx/decoder_model_merged.onnx",
                          "onnx/encoder_model.onnx", "tokenizer.json", "tokenizer_config.json"]

    prompt = TEXTS[0]
    got = run_client(transformers_js, out, "text2text-generation", prompt=prompt, new_tokens=NEW_TOKENS)
    input_ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    assert got["prompt_ids"] == input_ids[0].tolist()
    decoder_inputs = got["sessions"]["decoder_model_merged"]
    assert decoder_inputs[:3] == ["input_ids", "encoder_hidden_states", "encoder_attention_mask"]
    assert "past_key_values.0.decoder.key" in decoder_inputs and "use_cache_branch" not in decoder_inputs
    expected = greedy_reference(transformers.T5ForConditionalGeneration.from_pretrained(source).eval(), input_ids)
    assert got["tokens"] == expected


# ---- (d) image classification ----------------------------------------------------------------

def test_image_classification_matches_pytorch(transformers_js, work):
    from PIL import Image

    config = transformers.ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=4, intermediate_size=37, num_labels=5, initializer_range=0.2)
    source = work / "vit"
    build_model(transformers.ViTForImageClassification, config).save_pretrained(source)
    processor = transformers.ViTImageProcessor(size={"height": 32, "width": 32})
    processor.save_pretrained(source)  # preprocessor_config.json: transformers.js builds its processor from it
    out = export_for_transformers_js(source, work / "vit-js", "--task", "image-classification")
    assert files(out) == ["config.json", "onnx/model.onnx", "preprocessor_config.json"]

    image = work / "image.png"  # lossless, so both sides decode the same pixels
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(image)
    got = run_client(transformers_js, out, "image-classification", image=str(image))
    model = transformers.ViTForImageClassification.from_pretrained(source).eval()
    with torch.no_grad():
        expected = model(**processor(Image.open(image), return_tensors="pt")).logits.numpy()
    diff = max_abs_diff(expected, got["logits"])
    print(f"image-classification (ViT): max abs diff {diff:.3g}")
    assert diff <= LOGITS_ATOL
