"""Bad options to the certifier: a one-line pytest usage error (exit status 4), nothing written.

Grouped as: hypothesis profiles, filters that select nothing (alone and combined), numeric
options out of range, shards that are not I/N, output folders that are files, and baselines
that are not matrices. The
published matrix is never touched, and nothing is written where the run was told to write.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "reports" / "support-matrix.json"
USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR


def _file(tmp_path: Path) -> str:
    (tmp_path / "a-file").write_text("x")
    return str(tmp_path / "a-file")


CASES = {
    "unknown hypothesis profile": (["--hypothesis-profile", "bogus"], "'bogus' is not a profile"),
    "model type that matches nothing": (["--model-type", "nosuchmodel"], "no registered case matches --model-type"),
    "unknown library": (["--library", "nope"], "no registered case matches --library nope"),
    "unknown engine": (["--engine", "banana"], "no registered case matches --engine banana"),
    "task glob that matches nothing": (["--task", "*zzz*"], "no registered case matches --task *zzz*"),
    "empty intersection": (["--library", "timm", "--model-type", "bert"], "--library timm --model-type bert"),
    "zero case timeout": (["--case-timeout", "0"], "--case-timeout must be a finite number > 0"),
    "negative case timeout": (["--case-timeout", "-1"], "--case-timeout must be a finite number > 0"),
    "nan case timeout": (["--case-timeout", "nan"], "--case-timeout must be a finite number > 0"),
    "zero example budget": (["--example-budget", "0"], "--example-budget must be a finite number > 0"),
    "negative memory budget": (["--memory-budget", "-2"], "--memory-budget must be a finite number > 0"),
    "nan memory budget": (["--memory-budget", "nan"], "--memory-budget must be a finite number > 0"),
    "negative seed": (["--conformance-seed", "-1"], "--conformance-seed must be >= 0"),
    "shard 0/2": (["--shard", "0/2"], "1 <= I <= N"),
    "shard 3/2": (["--shard", "3/2"], "1 <= I <= N"),
    "shard 1/0": (["--shard", "1/0"], "1 <= I <= N"),
    "shard a/b": (["--shard", "a/b"], "--shard takes I/N"),
    "shard without N": (["--shard", "1"], "--shard takes I/N"),
}


@pytest.fixture(autouse=True)
def published_matrix_untouched():
    before = hashlib.sha256(PUBLISHED.read_bytes()).hexdigest()
    yield
    assert hashlib.sha256(PUBLISHED.read_bytes()).hexdigest() == before


def certify(capsys, tmp_path: Path, *options: str) -> tuple[int, str]:
    """Run the certifier in this process (its options are checked before any case runs)."""
    status = pytest.main(["conformance", "-p", "no:cacheprovider", "-q", "--rootdir", str(REPO),
                          "--matrix-dir", str(tmp_path / "matrix"), "--partial-dir", str(tmp_path / "partials"),
                          *options])
    captured = capsys.readouterr()
    return int(status), captured.out + captured.err


@pytest.mark.parametrize("options,message", CASES.values(), ids=CASES.keys())
def test_bad_certifier_options(capsys, tmp_path, monkeypatch, options, message):
    monkeypatch.chdir(REPO)
    status, output = certify(capsys, tmp_path, *options)
    assert status == USAGE_ERROR, output
    assert message in output
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert not (tmp_path / "matrix").exists() and not (tmp_path / "partials").exists()


@pytest.mark.parametrize("option", ["--matrix-dir", "--partial-dir"])
def test_output_folders_that_are_files(capsys, tmp_path, monkeypatch, option):
    monkeypatch.chdir(REPO)
    path = _file(tmp_path)
    status = pytest.main(["conformance", "-p", "no:cacheprovider", "-q", "--rootdir", str(REPO), option, path])
    output = "".join(capsys.readouterr())
    assert int(status) == USAGE_ERROR
    assert f"{option} {path} exists and is not a directory" in output
    assert Path(path).read_text() == "x"


def _baseline(tmp_path: Path, text: str | None) -> str:
    if text is None:
        return str(tmp_path / "missing.json")
    (tmp_path / "baseline.json").write_text(text)
    return str(tmp_path / "baseline.json")


BASELINES = {
    "missing": (None, "no such file"),
    "not JSON": ("{", "invalid JSON"),
    "not a matrix": ('{"rows": 3}', "expected a support matrix"),
    "a cell with an unknown status": ('{"cells": [{"id": "a", "library": "l", "model_type": "m", "exporter": "e", '
                                      '"column": "c", "task": "t", "status": "great"}]}', "unknown status 'great'"),
}


@pytest.mark.parametrize("text,message", BASELINES.values(), ids=BASELINES.keys())
def test_bad_baselines(capsys, tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(REPO)
    path = _baseline(tmp_path, text)
    status, output = certify(capsys, tmp_path, "--model-type", "bert", "--baseline", path)
    assert status == USAGE_ERROR, output
    assert f"--baseline: {path}" in output and message in output
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert not (tmp_path / "matrix").exists() and not (tmp_path / "partials").exists()


def test_a_baseline_that_is_a_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    status, output = certify(capsys, tmp_path, "--baseline", str(tmp_path))
    assert status == USAGE_ERROR and f"--baseline: {tmp_path}: not a regular file" in output


def test_a_filter_that_matches_nothing_under_xdist(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-n", "2", "-p", "no:cacheprovider", "--model-type", "nosuch",
         "--matrix-dir", str(tmp_path / "matrix"), "--partial-dir", str(tmp_path / "partials")],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == USAGE_ERROR, done.stdout + done.stderr
    assert "no registered case matches --model-type nosuch" in done.stdout + done.stderr
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []
