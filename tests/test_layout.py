"""What `exportkit export onnx` writes beside the graphs, and where (exportkit.layout)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from exportkit.cli import main
from exportkit.errors import EXIT_BAD_INPUT, EXIT_EXPORT_FAILED, EXIT_OK
from exportkit.layout import LAYOUTS, SEQ2SEQ_DECODER_INPUTS, runtime_files

from conftest import (GENERATING_T5_ATOL, bpe_tokenizer, build_model, generating_t5_config, tiny_bert_config,
                      tiny_gpt2_config, wordpiece_tokenizer)

# ---- the file-selection rule ---------------------------------------------------------------------

RUNTIME = ["added_tokens.json", "additional_chat_templates/tool_use.jinja", "chat_template.jinja",
           "chat_template.json", "config.json", "generation_config.json", "merges.txt", "preprocessor_config.json",
           "processor_config.json", "sentencepiece.bpe.model", "special_tokens_map.json", "spiece.model",
           "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "video_preprocessor_config.json",
           "vocab.json", "vocab.txt"]
NOT_RUNTIME = ["model.safetensors", "model-00001-of-00002.safetensors", "model.safetensors.index.json",
               "pytorch_model.bin", "pytorch_model.bin.index.json", "training_args.bin", "optimizer.pt", "flax_model.msgpack",
               "tf_model.h5", "README.md", "LICENSE", "modelcard.json", "onnx/model.onnx", "model.onnx", "model.onnx_data",
               "notes/config.json", ".gitattributes"]


def _tree(root: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root


def test_runtime_files_are_config_tokenizer_and_processor_files_only(tmp_path):
    source = _tree(tmp_path, RUNTIME + NOT_RUNTIME)
    assert runtime_files(source) == sorted(RUNTIME)


def test_nothing_is_invented(tmp_path):
    source = _tree(tmp_path, ["config.json", "model.safetensors"])
    assert runtime_files(source) == ["config.json"]
    assert runtime_files(_tree(tmp_path / "empty", [])) == []


def test_links_are_followed_and_fifos_skipped(tmp_path):
    blobs = _tree(tmp_path / "blobs", ["abc123"])
    source = tmp_path / "snapshot"
    source.mkdir()
    (source / "tokenizer.json").symlink_to(blobs / "abc123")  # a hub cache snapshot links to its blobs
    os.mkfifo(source / "vocab.txt")  # reading it would block
    assert runtime_files(source) == ["tokenizer.json"]


def test_sentence_transformers_module_configs_but_not_their_weights(tmp_path):
    source = _tree(tmp_path / "st", ["config.json", "tokenizer.json", "model.safetensors", "modules.json",
                                     "sentence_bert_config.json", "config_sentence_transformers.json", "README.md",
                                     "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors",
                                     "3_Normalize/config.json", "unlisted/config.json"])
    _tree(tmp_path, ["outside/config.json"])
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
               {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"},
               {"idx": 4, "name": "4", "path": "../outside", "type": "x"}]
    (source / "modules.json").write_text(json.dumps(modules))
    assert runtime_files(source, "sentence_transformers") == [
        "1_Pooling/config.json", "2_Dense/config.json", "3_Normalize/config.json", "config.json",
        "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"]
    assert runtime_files(source, "transformers") == ["config.json", "tokenizer.json"]


def test_the_layouts_name_their_graphs_as_their_runtimes_look_for_them():
    optimum, js = LAYOUTS["optimum"], LAYOUTS["transformers.js"]
    assert optimum.file_name("model") == "model.onnx" and optimum.file_name("model", "fp16") == "model.onnx"
    assert optimum.file_name("decoder_with_past_model") == "decoder_with_past_model.onnx"
    assert js.file_name("model") == "onnx/model.onnx" and js.file_name("model", "fp16") == "onnx/model_fp16.onnx"
    assert js.file_name("decoder_model_merged") == "onnx/decoder_model_merged.onnx"


# ---- through the command line -------------------------------------------------------------------

@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Tiny checkpoints with their tokenizers: a BERT classifier, a GPT-2, a T5; and a BERT with weights only."""
    root = tmp_path_factory.mktemp("sources")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(tiny_bert_config()).save_pretrained(root / "bert")
    wordpiece_tokenizer().save_pretrained(root / "bert")
    transformers.BertForSequenceClassification(tiny_bert_config()).save_pretrained(root / "bare")
    transformers.GPT2LMHeadModel(tiny_gpt2_config()).save_pretrained(root / "gpt2")
    bpe_tokenizer().save_pretrained(root / "gpt2")
    build_model(transformers.T5ForConditionalGeneration, generating_t5_config()).save_pretrained(root / "t5")
    bpe_tokenizer(eos_after=True).save_pretrained(root / "t5")
    return root


def export(capsys, *argv) -> tuple[int, str]:
    try:
        status = main(["export", "onnx", *map(str, argv)])
    except SystemExit as stop:  # argparse's usage errors
        status = stop.code
    return status, capsys.readouterr().err


def files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def digest(directory: Path) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in files(directory)}


def test_optimum_layout_carries_the_config_and_tokenizer_beside_the_graph(capsys, sources, tmp_path):
    status, err = export(capsys, "--model", sources / "bert", "--engine", "torchscript", tmp_path / "out")
    assert status == EXIT_OK, err
    assert files(tmp_path / "out") == ["config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json"]
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "out" / name).read_bytes() == (sources / "bert" / name).read_bytes()


def test_a_directory_with_weights_only_gets_its_config_only(capsys, sources, tmp_path):
    status, err = export(capsys, "--model", sources / "bare", "--engine", "torchscript", tmp_path / "out")
    assert status == EXIT_OK, err
    assert files(tmp_path / "out") == ["config.json", "model.onnx"]


def test_transformers_js_layout_puts_the_graphs_under_onnx(capsys, sources, tmp_path):
    status, err = export(capsys, "--model", sources / "gpt2", "--layout", "transformers.js", "--engine", "torchscript",
                         tmp_path / "out")
    assert status == EXIT_OK, err
    assert files(tmp_path / "out") == ["config.json", "generation_config.json", "onnx/model.onnx", "tokenizer.json",
                                       "tokenizer_config.json"]
    assert "task text-generation-with-past" in err  # transformers.js generates with a KV cache
    import onnx

    inputs = [value.name for value in onnx.load(str(tmp_path / "out" / "onnx" / "model.onnx")).graph.input]
    assert inputs[:2] == ["input_ids", "attention_mask"] and "past_key_values.0.key" in inputs


def test_optimum_seq2seq_graphs_take_optimums_decoder_input_names(capsys, sources, tmp_path):
    status, err = export(capsys, "--model", sources / "t5", "--task", "text2text-generation-with-past",
                         "--engine", "torchscript", "--atol", GENERATING_T5_ATOL, tmp_path / "out")
    assert status == EXIT_OK, err
    assert files(tmp_path / "out") == ["config.json", "decoder_model.onnx", "decoder_with_past_model.onnx",
                                       "encoder_model.onnx", "generation_config.json", "tokenizer.json",
                                       "tokenizer_config.json"]
    assert err.count("validated decoder_with_past_model") == 2  # the renamed graphs are the validated ones
    import onnxruntime as ort

    for name in ("decoder_model", "decoder_with_past_model"):
        session = ort.InferenceSession(str(tmp_path / "out" / f"{name}.onnx"))
        names = [i.name for i in session.get_inputs()]
        assert names[:3] == ["input_ids", "encoder_hidden_states", "encoder_attention_mask"]
        assert not set(SEQ2SEQ_DECODER_INPUTS) & set(names)


def greedy_with_onnxruntime(directory: Path, input_ids: np.ndarray, new_tokens: int, start: int) -> list[int]:
    """Greedy decoding as optimum's ORTModelForSeq2SeqLM runs the three graphs (optimum itself needs an
    older transformers than exportkit's)."""
    import onnxruntime as ort

    encoder, decoder, with_past = (ort.InferenceSession(str(directory / f"{name}.onnx")) for name in
                                   ("encoder_model", "decoder_model", "decoder_with_past_model"))
    mask = np.ones_like(input_ids)
    hidden = encoder.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
    tokens = [start]
    feed = {"input_ids": np.array([[start]]), "encoder_hidden_states": hidden, "encoder_attention_mask": mask}
    outputs = dict(zip([o.name for o in decoder.get_outputs()], decoder.run(None, feed)))
    cross = {name.replace("present", "past_key_values"): value for name, value in outputs.items() if ".encoder." in name}
    for _ in range(new_tokens):
        tokens.append(int(outputs["logits"][0, -1].argmax()))
        past = {name.replace("present", "past_key_values"): value for name, value in outputs.items()
                if ".decoder." in name}
        feed = {"input_ids": np.array([[tokens[-1]]]), "encoder_hidden_states": hidden,
                "encoder_attention_mask": mask, **past, **cross}
        outputs = dict(zip([o.name for o in with_past.get_outputs()], with_past.run(None, feed)))
    return tokens


def test_optimum_seq2seq_graphs_generate_as_transformers_does(capsys, sources, tmp_path):
    status, err = export(capsys, "--model", sources / "t5", "--task", "text2text-generation-with-past",
                         "--engine", "torchscript", "--atol", GENERATING_T5_ATOL, tmp_path / "out")
    assert status == EXIT_OK, err
    model = transformers.T5ForConditionalGeneration.from_pretrained(sources / "t5").eval()
    input_ids = torch.tensor([[4, 9, 17, 23, 30, 41, 1]])
    expected = model.generate(input_ids=input_ids, max_new_tokens=20, min_new_tokens=20, do_sample=False)[0].tolist()
    assert len(set(expected)) >= 5  # a model that repeats one token would show little
    assert greedy_with_onnxruntime(tmp_path / "out", input_ids.numpy(), 20, model.config.decoder_start_token_id) == expected


def test_a_failed_copy_leaves_outdir_untouched(capsys, sources, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert export(capsys, "--model", sources / "bert", "--engine", "torchscript", out)[0] == EXIT_OK
    before = digest(out)
    import shutil

    real = shutil.copyfile

    def fail_on_tokenizer(source, target, *args, **kwargs):
        if Path(source).name == "tokenizer.json":
            raise OSError(28, "No space left on device", str(target))
        return real(source, target, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", fail_on_tokenizer)
    status, err = export(capsys, "--model", sources / "bert", "--layout", "transformers.js", "--engine", "torchscript",
                         "--overwrite", out)
    assert status == EXIT_EXPORT_FAILED, err
    assert "No space left on device" in err.strip().splitlines()[-1]
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left beside it


def test_a_failed_layout_step_leaves_no_outdir(capsys, sources, tmp_path, monkeypatch):
    from exportkit import layout

    real = layout.arrange

    def arrange_then_fail(*args, **kwargs):
        real(*args, **kwargs)  # the graphs are in place in the staging folder
        raise layout.ExportError("planted", stage="layout")

    monkeypatch.setattr(layout, "arrange", arrange_then_fail)
    status, err = export(capsys, "--model", sources / "bert", "--layout", "transformers.js", "--engine", "torchscript",
                         tmp_path / "a" / "out")
    assert status == EXIT_EXPORT_FAILED and "[layout] planted" in err
    assert list(tmp_path.iterdir()) == []


BAD_LAYOUT_CASES = {
    "unknown layout": (["--layout", "tfjs"], "gpt2", "invalid choice: 'tfjs'"),
    "generation without a cache": (["--layout", "transformers.js", "--task", "text-generation"], "gpt2",
                                   "export with --task text-generation-with-past"),
    "seq2seq without a cache": (["--layout", "transformers.js", "--task", "text2text-generation"], "t5",
                                "export with --task text2text-generation-with-past"),
    "seq2seq monolith": (["--layout", "transformers.js", "--monolith"], "t5", "--monolith cannot be used"),
}


@pytest.mark.parametrize("flags,source,message", BAD_LAYOUT_CASES.values(), ids=BAD_LAYOUT_CASES.keys())
def test_what_a_layout_cannot_load_is_refused(capsys, sources, tmp_path, flags, source, message):
    status, err = export(capsys, "--model", sources / source, *flags, tmp_path / "out")
    assert status == EXIT_BAD_INPUT
    assert message in err.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()
    if "cache" in message and "monolith" not in message:
        assert "loading" not in err  # refused before the model is loaded


def test_the_library_api_writes_the_graphs_only(tmp_path):
    from exportkit.exporters.onnx import export_models
    from exportkit.exporters.onnx.models.decoders import GPT2OnnxConfig

    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(tiny_gpt2_config()).eval()
    config = GPT2OnnxConfig(model.config, task="text-generation", use_past=True)
    results = export_models(model, config, tmp_path / "out", layout="transformers.js", engine="torchscript")
    assert files(tmp_path / "out") == ["onnx/model.onnx"]
    assert results["model"].path == tmp_path / "out" / "onnx" / "model.onnx"
    # exporting again merges into onnx/: the graph is replaced, the user's files there stay
    (tmp_path / "out" / "onnx" / "notes.txt").write_text("mine")
    export_models(model, config, tmp_path / "out", layout="transformers.js", engine="torchscript")
    assert files(tmp_path / "out") == ["onnx/model.onnx", "onnx/notes.txt"]
