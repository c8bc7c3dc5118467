"""Bad input to `exportkit`: one line on stderr, the documented exit status, nothing changed.

Grouped as the README's "Exit status" is: arguments, model directories, checkpoints whose
weights do not fit their config, output directories, interrupted runs, the support matrix.
Every case runs in a temporary directory, and checks that nothing else changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from exportkit.cli import main
from exportkit.errors import (
    EXIT_BAD_INPUT,
    EXIT_EXPORT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NO,
    EXIT_OK,
    EXIT_VALIDATION_FAILED,
)

from conftest import tiny_bert_config, tiny_gpt2_config

REPO = Path(__file__).resolve().parents[1]


# ---- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny checkpoints, saved once: a BERT classifier, a BERT masked-LM, a GPT-2, a timm ResNet."""
    root = tmp_path_factory.mktemp("models")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(tiny_bert_config()).save_pretrained(root / "bert")
    transformers.BertForMaskedLM(tiny_bert_config()).save_pretrained(root / "bert-mlm")
    transformers.GPT2LMHeadModel(tiny_gpt2_config()).save_pretrained(root / "gpt2")
    import timm

    (root / "timm").mkdir()
    save_file(timm.create_model("resnet10t", pretrained=False, num_classes=5).state_dict(),
              str(root / "timm" / "model.safetensors"))
    (root / "timm" / "config.json").write_text(json.dumps({"architecture": "resnet10t", "num_classes": 5}))
    from diffusers import AutoencoderKL

    AutoencoderKL(block_out_channels=(8,), norm_num_groups=4, latent_channels=4, layers_per_block=1,
                  down_block_types=("DownEncoderBlock2D",), up_block_types=("UpDecoderBlock2D",)
                  ).save_pretrained(root / "vae")
    return root


def variant(models: Path, tmp_path: Path, source: str, name: str, **config_changes) -> Path:
    """A copy of a saved model with config.json edited."""
    target = tmp_path / name
    shutil.copytree(models / source, target)
    config = json.loads((target / "config.json").read_text())
    config.update(config_changes)
    (target / "config.json").write_text(json.dumps(config))
    return target


def _tracked_state() -> dict[str, float]:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    state = {name: (REPO / name).stat().st_mtime for name in files if (REPO / name).exists()}
    state["<top level>"] = hash(tuple(sorted(os.listdir(REPO))))
    return state


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch):
    """Run in tmp_path; afterwards nothing tracked in the checkout, nor its top level, has changed."""
    monkeypatch.chdir(tmp_path)
    before = _tracked_state() if (REPO / ".git").exists() else None
    yield tmp_path
    if before is not None:
        assert _tracked_state() == before, "a bad-input case changed files outside its temporary directory"


def run(capsys, *argv: str) -> tuple[int, str]:
    """exit status and stderr of `exportkit ARGV`; an error is one line naming exportkit, never a traceback."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as stop:  # argparse's usage errors
        status = stop.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if status not in (EXIT_OK, EXIT_NO):
        last = err.strip().splitlines()[-1]
        assert last.startswith("exportkit"), err
    return status, err


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(directory.rglob("*"))}


# ---- arguments: refused before anything is loaded or written ------------------------------------

ARGUMENT_CASES = {
    "opset 0": (["--opset", "0"], "writes opsets 18 to"),
    "opset 13 with dynamo": (["--opset", "13", "--engine", "dynamo"], "the torchscript engine writes opset 13"),
    "opset 99 with torchscript": (["--opset", "99", "--engine", "torchscript"], "torchscript engine writes opsets"),
    "negative atol": (["--atol", "-1"], "--atol must be a finite number >= 0"),
    "nan atol": (["--atol", "nan"], "--atol must be a finite number >= 0"),
    "infinite atol": (["--atol", "inf"], "--atol must be a finite number >= 0"),
    "zero image height": (["--image-height", "0"], "--image-height must be >= 1"),
    "negative audio length": (["--audio-sequence-length", "-3"], "--audio-sequence-length must be >= 1"),
    "negative past": (["--past-sequence-length", "-1"], "--past-sequence-length must be >= 0"),
    "negative seed": (["--seed", "-1"], "--seed must be >= 0"),
    "device banana": (["--device", "banana"], "is not a device"),
    "device tpu": (["--device", "meta"], "exports on cpu or cuda"),
    "bf16": (["--dtype", "bf16"], "--dtype bf16 is refused"),
    "fp16 with torchscript": (["--dtype", "fp16", "--engine", "torchscript"], "--dtype fp16 needs --engine dynamo"),
    "unknown library": (["--library", "nope"], "'nope' is not a library"),
    "unknown engine": (["--engine", "onnxscript"], "invalid choice"),
    "opset not a number": (["--opset", "x"], "invalid int value"),
}
if not torch.cuda.is_available():
    ARGUMENT_CASES["cuda without a GPU"] = (["--device", "cuda"], "no CUDA device is available")


@pytest.mark.parametrize("flags,message", ARGUMENT_CASES.values(), ids=ARGUMENT_CASES.keys())
def test_bad_arguments_are_refused_before_loading(capsys, models, tmp_path, flags, message):
    status, err = run(capsys, "export", "onnx", "--model", models / "bert", *flags, tmp_path / "out")
    assert status == EXIT_BAD_INPUT
    assert message in last_line(err)
    assert "loading" not in err
    assert not (tmp_path / "out").exists()


SIZE_CASES = {
    "image height on a text model": (["--image-height", "32"], "--image-height does not apply to a bert"),
    "audio length on a text model": (["--audio-sequence-length", "30"], "--audio-sequence-length does not apply"),
    "sequence past the position table": (["--sequence-length", "9999"], "--sequence-length 9999 is outside"),
}


@pytest.mark.parametrize("flags,message", SIZE_CASES.values(), ids=SIZE_CASES.keys())
def test_size_flags_must_apply_to_the_export(capsys, models, tmp_path, flags, message):
    status, err = run(capsys, "export", "onnx", "--model", models / "bert", *flags, tmp_path / "out")
    assert status == EXIT_BAD_INPUT
    assert message in last_line(err)
    assert not (tmp_path / "out").exists()


# ---- model directories -----------------------------------------------------------------------

def _number_config(tmp_path, models):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("3")
    return tmp_path / "m"


def _fifo_config(tmp_path, models):
    (tmp_path / "m").mkdir()
    os.mkfifo(tmp_path / "m" / "config.json")
    return tmp_path / "m"


def _truncated_weights(tmp_path, models):
    target = variant(models, tmp_path, "bert", "m")
    data = (target / "model.safetensors").read_bytes()
    (target / "model.safetensors").write_bytes(data[: len(data) // 2])
    return target


def _garbage_weights(tmp_path, models):
    target = variant(models, tmp_path, "bert", "m")
    (target / "model.safetensors").write_bytes(b"\0" * 64)
    return target


def _pickled_weights(tmp_path, models):
    target = variant(models, tmp_path, "bert", "m")
    torch.save(load_file(str(target / "model.safetensors")), target / "pytorch_model.bin")
    (target / "model.safetensors").unlink()
    return target


def _a_file(tmp_path, models):
    (tmp_path / "m").write_text("not a directory")
    return tmp_path / "m"


MODEL_DIR_CASES = {
    "hub id": (lambda t, m: "bert-base-uncased", "never downloads"),
    "relative path that does not exist": (lambda t, m: "./bert-base-uncased", "is not a local directory"),
    "empty string": (lambda t, m: "", "the model directory is empty"),
    "a file": (_a_file, "is not a directory"),
    "directory without config": (lambda t, m: (t / "m").mkdir() or t / "m", "cannot tell which library"),
    "config.json is a number": (_number_config, "holds a JSON int, not an object"),
    "config.json is a FIFO": (_fifo_config, "is not a regular file"),
    "list-valued model_type": (lambda t, m: variant(m, t, "bert", "m", model_type=["bert"]),
                               "'model_type' must be a string"),
    "unknown model_type": (lambda t, m: variant(m, t, "bert", "m", model_type="bertt"), "did you mean 'bert'"),
    "string hidden_size": (lambda t, m: variant(m, t, "bert", "m", hidden_size="32"), "hidden_size"),
    "truncated safetensors": (_truncated_weights, "SafetensorError"),
    "garbage safetensors": (_garbage_weights, "SafetensorError"),
    "pickled weights": (_pickled_weights, "pass --allow-pickle"),
    "custom code": (lambda t, m: variant(m, t, "bert", "m", model_type="mine", auto_map={
        "AutoConfig": "configuration_mine.MineConfig"}), "'mine' is not a supported model type"),
    "unsupported task": (lambda t, m: m / "bert", "does not support task 'object-detection'"),  # see TASKS
    "timm hub architecture": (lambda t, m: variant(m, t, "timm", "m", architecture="hf-hub:timm/resnet10t"),
                              "names a location"),
    "timm checkpoint_path": (lambda t, m: variant(m, t, "timm", "m", model_args={"checkpoint_path": "/etc/hosts"}),
                             "would read files or the hub"),
    "absurd size": (lambda t, m: variant(m, t, "bert", "m", hidden_size=2**40, num_attention_heads=1),
                    "could not load"),
}


TASKS = {"unsupported task": ["--task", "object-detection"]}


@pytest.mark.parametrize("name", MODEL_DIR_CASES)
def test_bad_model_directories(capsys, models, tmp_path, name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # loading from a directory must not need the environment's help
    make, message = MODEL_DIR_CASES[name]
    model = make(tmp_path, models)
    status, err = run(capsys, "export", "onnx", "--model", model, *TASKS.get(name, []), tmp_path / "out")
    assert status == EXIT_BAD_INPUT
    assert message in last_line(err)
    assert not (tmp_path / "out").exists()
    if message.startswith("does not support"):
        assert "loading" not in err  # refused before the model is loaded


def test_pickles_load_only_when_allowed(capsys, models, tmp_path):
    model = _pickled_weights(tmp_path, models)
    status, err = run(capsys, "export", "onnx", "--model", model, "--allow-pickle", "--engine", "torchscript",
                      tmp_path / "out")
    assert status == EXIT_OK, err
    assert (tmp_path / "out" / "model.onnx").is_file()


# ---- checkpoints whose weights do not fit their config ------------------------------------------

WEIGHT_CASES = {
    "GPT-2 weights under a BERT config": ("gpt2", {**tiny_bert_config().to_dict()}, "are missing from"),
    "4 layers over a 2-layer checkpoint": ("bert", {"num_hidden_layers": 4}, "are missing from"),
    "1 layer over a 2-layer checkpoint": ("bert", {"num_hidden_layers": 1}, "for layers config.json does not have"),
    "wider config than its weights": ("bert", {"hidden_size": 64}, "are of another size in"),
    "more labels than the head has": ("bert", {"id2label": {str(i): str(i) for i in range(5)}},
                                      "are of another size in"),
    "a VAE decoder deeper than its weights": ("vae", {"layers_per_block": 2}, "are missing from"),
    "a timm model with another head": ("timm", {"num_classes": 7}, "size mismatch"),
}


@pytest.mark.parametrize("source,changes,message", WEIGHT_CASES.values(), ids=WEIGHT_CASES.keys())
def test_a_checkpoint_that_did_not_load_is_not_exported(capsys, models, tmp_path, source, changes, message):
    model = variant(models, tmp_path, source, "m", **changes)
    task = ["--task", "text-classification"] if source in ("bert", "gpt2") else []
    status, err = run(capsys, "export", "onnx", "--model", model, *task, tmp_path / "out")
    assert status == EXIT_BAD_INPUT
    assert message in last_line(err)
    assert not (tmp_path / "out").exists()


def test_random_weights_are_exported_only_when_asked(capsys, models, tmp_path):
    model = variant(models, tmp_path, "bert", "m", num_hidden_layers=3)
    status, err = run(capsys, "export", "onnx", "--model", model, "--allow-random-weights", "--engine",
                      "torchscript", tmp_path / "out")
    assert status == EXIT_OK, err
    assert "random (allowed)" in err


def test_weights_the_export_does_not_read_may_be_missing(capsys, models, tmp_path):
    # A masked-LM checkpoint has no pooler; feature-extraction does not export the pooler's output.
    status, err = run(capsys, "export", "onnx", "--model", models / "bert-mlm", "--task", "feature-extraction",
                      "--engine", "torchscript", tmp_path / "out")
    assert status == EXIT_OK, err
    assert "are not read by the export (pooler.dense.bias, pooler.dense.weight)" in err
    assert "belong to parts this task does not use (cls.predictions" in err


# ---- output directories ----------------------------------------------------------------------

def test_a_failed_validation_leaves_an_existing_outdir_byte_identical(capsys, models, tmp_path):
    out = tmp_path / "out"
    assert run(capsys, "export", "onnx", "--model", models / "gpt2", "--task", "text-generation-with-past",
               "--engine", "torchscript", out)[0] == EXIT_OK
    (out / "notes.txt").write_text("mine")
    before = digest(out)
    status, err = run(capsys, "export", "onnx", "--model", models / "gpt2", "--task", "text-generation-with-past",
                      "--engine", "torchscript", "--atol", "0", "--overwrite", out)
    assert status == EXIT_VALIDATION_FAILED
    assert "the export does not reproduce the model" in last_line(err)
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left beside it


def test_overwrite_replaces_the_outdir_as_a_whole(capsys, models, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "decoder_with_past_model.onnx").write_text("an earlier export")
    status, err = run(capsys, "export", "onnx", "--model", models / "bert", "--engine", "torchscript", out)
    assert status == EXIT_BAD_INPUT and "is not empty; pass --overwrite" in last_line(err)
    assert run(capsys, "export", "onnx", "--model", models / "bert", "--engine", "torchscript", "--overwrite",
               out)[0] == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.onnx"]  # the model's config comes along


def test_a_failed_export_leaves_no_folders_it_created(capsys, models, tmp_path, monkeypatch):
    from exportkit.errors import ExportError
    from exportkit.exporters.onnx import convert

    def fail(*args, **kwargs):
        raise ExportError("planted", stage="capture")

    monkeypatch.setattr(convert, "_export_to", fail)
    status, err = run(capsys, "export", "onnx", "--model", models / "bert", tmp_path / "a" / "b" / "out")
    assert status == EXIT_EXPORT_FAILED and "[capture] planted" in last_line(err)
    assert not (tmp_path / "a").exists()


def test_a_new_outdir_follows_the_umask(capsys, models, tmp_path):
    previous = os.umask(0o022)
    try:
        assert run(capsys, "export", "onnx", "--model", models / "bert", "--engine", "torchscript",
                   tmp_path / "out")[0] == EXIT_OK
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def _dangling(tmp_path):
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")


def _onnx_is_a_directory(tmp_path):
    (tmp_path / "out" / "model.onnx").mkdir(parents=True)


def _read_only_parent(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)


OUTDIR_CASES = {
    "a file": ("out", lambda t: (t / "out").write_text("x"), "exists and is not a directory"),
    "under a file": ("f/out", lambda t: (t / "f").write_text("x"), "is not a directory, so"),
    "a dangling symlink": ("out", _dangling, "is a symbolic link"),
    "model.onnx is a directory": ("out", _onnx_is_a_directory, "is not empty; pass --overwrite"),
    "empty name": ("", lambda t: None, "the output directory is empty"),
}
if os.geteuid() != 0:  # root writes anywhere
    OUTDIR_CASES["in a read-only directory"] = ("ro/out", _read_only_parent, "permission denied")


@pytest.mark.parametrize("name,prepare,message", OUTDIR_CASES.values(), ids=OUTDIR_CASES.keys())
def test_bad_output_directories(capsys, models, tmp_path, name, prepare, message):
    prepare(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    status, err = run(capsys, "export", "onnx", "--model", models / "bert", name)
    assert status == EXIT_BAD_INPUT
    assert message in last_line(err)
    assert "loading" not in err
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_staging_folders_of_dead_runs_are_removed(capsys, models, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.exportkit-staging-{dead.pid}-0123abcd"
    (stale / "model.onnx").parent.mkdir()
    (stale / "model.onnx").write_text("half written")
    live = tmp_path / f".out.exportkit-staging-{os.getpid()}-0123abcd"  # a run still going: left alone
    live.mkdir()
    assert run(capsys, "export", "onnx", "--model", models / "bert", "--engine", "torchscript",
               tmp_path / "out")[0] == EXIT_OK
    assert not stale.exists() and live.exists()


def test_a_set_aside_outdir_of_a_dead_run_is_restored(capsys, models, tmp_path):
    from exportkit.outdir import remove_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    aside = tmp_path / f".out.exportkit-replaced-{dead.pid}-0123abcd"
    aside.mkdir()
    (aside / "model.onnx").write_text("the user's previous export")
    remove_stale(tmp_path / "out")
    assert (tmp_path / "out" / "model.onnx").read_text() == "the user's previous export"


# ---- interrupted runs ------------------------------------------------------------------------

def test_ctrl_c_changes_nothing(capsys, models, tmp_path, monkeypatch):
    from exportkit.exporters.onnx import convert

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "_export_to", interrupted)
    status, err = run(capsys, "export", "onnx", "--model", models / "bert", tmp_path / "out")
    assert status == EXIT_INTERRUPTED and "interrupted; nothing was changed" in last_line(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_mid_export_changes_nothing(models, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.onnx").write_text("the user's export")
    # A run that signals itself once the export is under way (its staging folder exists).
    script = (
        "import os, signal, sys\n"
        "from exportkit.exporters.onnx import convert\n"
        "real = convert._export_to\n"
        "def export_then_term(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return real(*a, **k)\n"
        "convert._export_to = export_then_term\n"
        "from exportkit.cli import main\n"
        f"sys.exit(main(['export', 'onnx', '--model', {str(models / 'bert')!r}, '--overwrite', {str(out)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_INTERRUPTED, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "model.onnx").read_text() == "the user's export"


def test_debug_shows_the_traceback(models, tmp_path):
    done = subprocess.run([sys.executable, "-m", "exportkit.cli", "export", "onnx", "--model", "nowhere", "--debug",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" in done.stderr
    quiet = subprocess.run([sys.executable, "-m", "exportkit.cli", "export", "onnx", "--model", "nowhere",
                            str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == EXIT_BAD_INPUT and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip().count("\n") == 0


# ---- the support matrix ----------------------------------------------------------------------

def _matrix_file(tmp_path, cells) -> Path:
    from reports import build_matrix, write_matrix

    json_path, _ = write_matrix(build_matrix(cells, versions={}), tmp_path / "m")
    return json_path


def _cell(model_type="bert", status="certified", **extra):
    return {"id": f"transformers/{model_type}/onnx-dynamo/text-classification", "library": "transformers",
            "model_type": model_type, "exporter": "onnx", "column": "onnx-dynamo", "task": "text-classification",
            "status": status, "stage": None, **extra}


def _text(tmp_path: Path, text: str) -> Path:
    (tmp_path / "m.json").write_text(text)
    return tmp_path / "m.json"


SUPPORT_CASES = {
    "matrix is a directory": (lambda t: t, "is not a support matrix file"),
    "matrix is a FIFO": (lambda t: os.mkfifo(t / "fifo") or t / "fifo", "is not a support matrix file"),
    "matrix is a list": (lambda t: _text(t, "[1, 2]"), "not a readable support"),
    "matrix is not JSON": (lambda t: _text(t, "{"), "not a readable support"),
    "cells of the wrong type": (lambda t: _text(t, json.dumps({"schema_version": 1, "cells": [
        {"model_type": 5, "status": []}]})), "not a readable support"),
}


@pytest.mark.parametrize("make,message", SUPPORT_CASES.values(), ids=SUPPORT_CASES.keys())
def test_support_with_a_bad_matrix(capsys, tmp_path, make, message):
    status, err = run(capsys, "support", "bert", "--matrix", make(tmp_path))
    assert status == EXIT_BAD_INPUT
    assert message in last_line(err)


def test_support_names_the_libraries_a_model_type_has(capsys, tmp_path):
    status, err = run(capsys, "support", "bert", "--library", "timm", "--matrix", _matrix_file(tmp_path, [_cell()]))
    assert status == EXIT_NO
    assert "'bert' has no cells for library 'timm'; it has cells for transformers" in err
    assert "did you mean" not in err


def test_support_prints_no_terminal_escapes_from_a_matrix(capsys, tmp_path):
    path = _matrix_file(tmp_path, [_cell(status="failed", stage="capture", reason="\x1b[2J\x1b[31mboom\x07")])
    status = main(["support", "bert", "--matrix", str(path)])
    out = capsys.readouterr().out
    assert status == EXIT_NO
    assert "\x1b" not in out and "\x07" not in out
    assert "boom" in out


def test_exit_statuses_are_documented():
    readme = (REPO / "README.md").read_text()
    for status in (EXIT_OK, EXIT_NO, EXIT_BAD_INPUT, EXIT_EXPORT_FAILED, EXIT_VALIDATION_FAILED, EXIT_INTERRUPTED):
        assert f"| {status} |" in readme


# ---- half precision --------------------------------------------------------------------------

def test_fp16_exports_and_validates_with_the_dynamo_engine(capsys, models, tmp_path):
    status, err = run(capsys, "export", "onnx", "--model", models / "bert-mlm", "--task", "feature-extraction",
                      "--dtype", "fp16", tmp_path / "out")
    assert status == EXIT_OK, err
    assert err.count("validated model") == 2


# ---- artefacts carry no local paths ----------------------------------------------------------

def test_the_same_export_from_two_directories_is_byte_identical(capsys, models, tmp_path, monkeypatch):
    artefacts = []
    for place in ("first", "second/deeper"):
        (tmp_path / place).mkdir(parents=True)
        monkeypatch.chdir(tmp_path / place)
        assert run(capsys, "export", "onnx", "--model", models / "bert", "--engine", "dynamo", "out")[0] == EXIT_OK
        artefacts.append((tmp_path / place / "out" / "model.onnx").read_bytes())
    assert artefacts[0] == artefacts[1]
    for local in (str(REPO), str(tmp_path), str(Path(torch.__file__).parent), os.environ.get("USER") or "root"):
        assert local.encode() not in artefacts[0]
    kept = tmp_path / "kept"
    assert run(capsys, "export", "onnx", "--model", models / "bert", "--engine", "dynamo", "--keep-debug-metadata",
               kept)[0] == EXIT_OK
    assert b"stack_trace" in (kept / "model.onnx").read_bytes()  # what the default drops
