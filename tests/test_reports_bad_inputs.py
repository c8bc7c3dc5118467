"""Bad input to `python -m reports`: one line, exit status 2 (130 interrupted, 70 a defect), nothing written.

Grouped as: input files that are not matrices (missing, a directory, a FIFO, not JSON, the
wrong JSON; given to `render`, or as either side of `diff`), matrices whose cells have
wrong-typed fields (whole and compact storage), output directories that cannot be written,
partial files that cannot be merged (with each other or onto a matrix), and text from a
matrix that must not act on a terminal or a page.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exportkit.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from reports import build_matrix, write_matrix
from reports.__main__ import main
from reports.matrix import compact, load_matrix, printable

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "reports" / "support-matrix.json"


def cell(**changes):
    base = {"id": "transformers/bert/onnx-dynamo/fill-mask", "library": "transformers", "model_type": "bert",
            "exporter": "onnx", "column": "onnx-dynamo", "task": "fill-mask", "status": "certified", "stage": None}
    return {**base, **changes}


@pytest.fixture(autouse=True)
def published_matrix_untouched():
    before = hashlib.sha256(PUBLISHED.read_bytes()).hexdigest()
    yield
    assert hashlib.sha256(PUBLISHED.read_bytes()).hexdigest() == before


def render(capsys, source: Path, out: Path) -> tuple[int, str]:
    try:
        status = main(["render", str(source), "--out", str(out)])
    except SystemExit as stop:
        status = stop.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


def _write(tmp_path: Path, text: str, name: str = "m.json") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


def _write_bytes(tmp_path: Path, data: bytes) -> Path:
    (tmp_path / "m.json").write_bytes(data)
    return tmp_path / "m.json"


def _interned_index_out_of_range(document: dict) -> None:
    document["rows"][0][document["fields"].index(document["interned"][0])] = 999


def _compact_with(tmp_path: Path, change) -> Path:
    document = compact(build_matrix([cell()], versions={}))
    change(document)
    return _write(tmp_path, json.dumps(document))


INPUT_CASES = {
    "missing": (lambda t: t / "nothing.json", "no such file"),
    "a directory": (lambda t: t, "not a regular file"),
    "a FIFO": (lambda t: os.mkfifo(t / "fifo.json") or t / "fifo.json", "not a regular file"),
    "empty": (lambda t: _write(t, ""), "invalid JSON"),
    "not JSON": (lambda t: _write(t, "{"), "invalid JSON"),
    "not UTF-8": (lambda t: _write_bytes(t, b"\xff\xfe{"), "not UTF-8"),
    "a number": (lambda t: _write(t, "3"), "expected a support matrix"),
    "a string": (lambda t: _write(t, '"cells"'), "expected a support matrix"),
    "a list of numbers": (lambda t: _write(t, "[1, 2]"), "expected a dict"),
    "cells not a list": (lambda t: _write(t, json.dumps({"cells": "abc"})), "expected a support matrix"),
    "a cell that is a list": (lambda t: _write(t, json.dumps({"cells": [[1]]})), "expected a dict"),
    "a numeric status": (lambda t: _write(t, json.dumps({"cells": [cell(status=5)]})), "'status' must be"),
    "a list model_type": (lambda t: _write(t, json.dumps({"cells": [cell(model_type=["x"])]})),
                          "'model_type' must be"),
    "a numeric reason": (lambda t: _write(t, json.dumps({"cells": [cell(status="failed", stage="run", reason=3)]})),
                         "'reason' must be a string or null"),
    "an unknown stage": (lambda t: _write(t, json.dumps({"cells": [cell(stage="dreaming")]})), "unknown stage"),
    "compact: schema_version 99": (lambda t: _compact_with(t, lambda d: d.update(schema_version=99)),
                                   "unsupported schema_version 99"),
    "compact: schema_version 'x'": (lambda t: _compact_with(t, lambda d: d.update(schema_version="x")),
                                    "unsupported schema_version 'x'"),
    "compact: a short row": (lambda t: _compact_with(t, lambda d: d["rows"][0].pop()), "values for"),
    "compact: rows of numbers": (lambda t: _compact_with(t, lambda d: d.update(rows=[1, 2])), "values for"),
    "compact: a value index out of range": (lambda t: _compact_with(t, _interned_index_out_of_range),
                                            "which is not stored"),
    "compact: fields missing": (lambda t: _compact_with(t, lambda d: d.pop("fields")), "no 'fields'"),
    "compact: interned not a list": (lambda t: _compact_with(t, lambda d: d.update(interned=[["x"]])),
                                     "malformed compact matrix"),
}


@pytest.mark.parametrize("make,message", INPUT_CASES.values(), ids=INPUT_CASES.keys())
def test_bad_matrix_inputs(capsys, tmp_path, make, message):
    source = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    status, err = render(capsys, source, tmp_path / "out")
    assert status == EXIT_BAD_INPUT
    assert message in err and err.count("\n") == 1, err
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.parametrize("make", [make for make, _ in INPUT_CASES.values()], ids=INPUT_CASES.keys())
def test_load_matrix_raises_value_error_only(tmp_path, make):
    # what `exportkit support` reads with: a ValueError naming the file, never a KeyError or TypeError
    source = make(tmp_path)
    with pytest.raises(ValueError) as raised:
        load_matrix(source)
    assert str(source) in str(raised.value)


@pytest.mark.parametrize("side", ["old", "new"])
@pytest.mark.parametrize("make,message", INPUT_CASES.values(), ids=INPUT_CASES.keys())
def test_bad_inputs_to_diff(capsys, tmp_path, make, message, side):
    good = write_matrix(build_matrix([cell()], versions={}), tmp_path / "good")[0]
    bad = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    paths = [bad, good] if side == "old" else [good, bad]
    try:
        status = main(["diff", *map(str, paths), "--html", str(tmp_path / "out" / "changes.html")])
    except SystemExit as stop:
        status = stop.code
    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT  # not 1: a bad input is not a regression
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"error: {bad}" in err  # which of the two files
    assert sorted(tmp_path.rglob("*")) == before


def _dangling(tmp_path: Path) -> Path:
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")
    return tmp_path / "out"


OUT_CASES = {
    "a file": (lambda t: _write(t, "x", "out"), "exists and is not a directory"),
    "a dangling symlink": (_dangling, "is a dangling symbolic link"),
    "under a file": (lambda t: _write(t, "x", "f") / "out", "Not a directory"),
}
if os.geteuid() != 0:
    OUT_CASES["in a read-only directory"] = (
        lambda t: ((t / "ro").mkdir(), (t / "ro").chmod(0o555), t / "ro" / "out")[-1], "Permission denied")


@pytest.mark.parametrize("make,message", OUT_CASES.values(), ids=OUT_CASES.keys())
def test_bad_output_directories(capsys, tmp_path, make, message):
    source = write_matrix(build_matrix([cell()], versions={}), tmp_path / "src")[0]
    out = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    status, err = render(capsys, source, out)
    assert status == EXIT_BAD_INPUT
    assert message in err and err.count("\n") == 1, err
    assert sorted(tmp_path.rglob("*")) == before


def test_merge_refusals_are_one_line(capsys, tmp_path):
    whole = write_matrix(build_matrix([cell()], versions={}), tmp_path / "whole")[0]
    assert main(["merge", str(whole), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "is not a partial file" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as stop:
        main(["merge", "--out", str(tmp_path / "out")])  # no files: argparse's usage error
    assert stop.value.code == EXIT_BAD_INPUT


COMMITTED = "c" * 40


def _partial(tmp_path: Path, name: str, **changes) -> Path:
    document = build_matrix([cell(**{"commit": COMMITTED, **changes})], versions={},
                            partial={"selection": "-k bert", "shard": None, "registry_ids": [cell()["id"]]})
    return _write(tmp_path, json.dumps(document), name)


ONTO_CASES = {
    "the base missing": (lambda t: t / "nothing.json", {}, "no such file"),
    "the base a partial file": (lambda t: _partial(t, "base.json"), {}, "is a partial file: merge onto a complete"),
    "a dirty commit": (lambda t: write_matrix(build_matrix([cell()], versions={}), t / "whole")[0],
                       {"commit": COMMITTED + "+dirty"}, "not measured by committed code"),
    "no commit": (lambda t: write_matrix(build_matrix([cell()], versions={}), t / "whole")[0],
                  {"commit": None}, "not measured by committed code (commit None)"),
    "other versions": (lambda t: write_matrix(build_matrix([cell()], versions={"torch": "1"}), t / "whole")[0],
                       {}, "differ in library versions (torch: '1' vs None)"),
}


@pytest.mark.parametrize("make,changes,message", ONTO_CASES.values(), ids=ONTO_CASES.keys())
def test_merge_onto_refusals_are_one_line_and_write_nothing(capsys, tmp_path, make, changes, message):
    base, part = make(tmp_path), _partial(tmp_path, "part.json", **changes)
    before = sorted(tmp_path.rglob("*"))
    assert main(["merge", "--onto", str(base), str(part), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_interrupt_and_defect_statuses(capsys, tmp_path, monkeypatch):
    import reports.__main__ as cli

    source = write_matrix(build_matrix([cell()], versions={}), tmp_path / "src")[0]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "write_matrix", interrupted)
    assert main(["render", str(source), "--out", str(tmp_path / "out")]) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err

    def defect(*args, **kwargs):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(cli, "write_matrix", defect)
    assert main(["render", str(source), "--out", str(tmp_path / "out")]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: planted (rerun with --debug" in err
    with pytest.raises(ZeroDivisionError):
        main(["render", str(source), "--out", str(tmp_path / "out"), "--debug"])


def test_a_process_gives_one_line_and_the_status(tmp_path):
    _write(tmp_path, json.dumps({"cells": [cell(status=5)]}))
    done = subprocess.run([sys.executable, "-m", "reports", "render", str(tmp_path / "m.json"), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_text_from_a_matrix_cannot_act_on_a_terminal_or_a_page(capsys, tmp_path):
    hostile = "\x1b[2J\x1b[31m<script>alert(1)</script>\x07"
    source = _write(tmp_path, json.dumps({"cells": [cell(status="failed", stage="run", reason=hostile)]}))
    status, _ = render(capsys, source, tmp_path / "out")
    assert status == EXIT_OK
    page = (tmp_path / "out" / "support-matrix.html").read_text()
    assert "<script>alert(1)</script>" not in page and "\x1b" not in page
    assert printable(hostile) == "\\x1b[2J\\x1b[31m<script>alert(1)</script>\\x07"
    assert printable("line\nbreak") == "line\\nbreak"
