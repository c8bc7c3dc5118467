"""Comparing two support matrices: reports.diff and `python -m reports diff`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from exportkit.errors import EXIT_BAD_INPUT, EXIT_NO, EXIT_OK
from reports import build_matrix, expand, load_matrix, write_matrix
from reports.__main__ import main
from reports.diff import Outcome, describe, diff_matrices, scope, text_report
from reports.html import render_html


def cell(model_type: str, status: str = "certified", stage: str | None = None, reason: str | None = None,
         engine: str = "dynamo") -> dict:
    column = f"onnx-{engine}"
    return {"id": f"transformers/{model_type}/{column}/fill-mask", "library": "transformers",
            "model_type": model_type, "exporter": "onnx", "engine": engine, "column": column, "task": "fill-mask",
            "status": status, "stage": stage, "reason": reason}


def cid(model_type: str) -> str:
    return f"transformers/{model_type}/onnx-dynamo/fill-mask"


OLD = [
    cell("bert"),                                              # regresses
    cell("gpt2", "failed", "run", "onnxruntime error"),        # is fixed
    cell("t5", "failed", "compare", "max abs diff 3e-3"),      # fails for another reason
    cell("llama", "xfail", "capture", "declared"),             # stays xfail
    cell("opt", "failed", "compare", "max abs diff 1e-2"),     # times out now
    cell("roberta"),                                           # is no longer registered
    cell("vit"),                                               # stays certified
]
NEW = [
    cell("bert", "failed", "compare", "max abs diff 2e-3 over atol 1e-4"),
    cell("gpt2"),
    cell("t5", "failed", "capture", "data-dependent branch"),
    cell("llama", "xfail", "capture", "declared"),
    cell("opt", "timeout", "run", "timed out after 180 s"),
    cell("vit"),
    cell("mistral", "crashed", "run", "worker died"),          # new, failing
    cell("qwen2"),                                             # new, certified
    cell("phi", "xfail", "capture", "declared"),               # new, a declared failure
]


@pytest.fixture
def old() -> dict:
    return build_matrix(OLD, versions={}, generated_at="2025-06-01T12:00:00Z")


@pytest.fixture
def new() -> dict:
    return build_matrix(NEW, versions={})


def embedded_json(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="matrix-data"[^>]*>(.*?)</script>', page, re.S)
    return expand(json.loads(match.group(1)))


def ids(changes) -> list[str]:
    return [change.id for change in changes]


def test_every_kind_of_change_is_told_apart(old, new):
    diff = diff_matrices(old, new)
    assert ids(diff.regressions) == [cid("bert")]
    assert ids(diff.fixes) == [cid("gpt2")]
    assert ids(diff.changed_causes) == [cid("t5")]
    assert ids(diff.changed_status) == [cid("opt")]
    assert ids(diff.new) == [cid("mistral"), cid("phi"), cid("qwen2")]
    assert ids(diff.removed) == [cid("roberta")]
    assert diff.unchanged == 2  # llama (xfail, same cause) and vit (certified)
    assert diff.regressions[0].new == Outcome("failed", "compare", "max abs diff 2e-3 over atol 1e-4")


def test_regressions_and_new_failing_cells_block(old, new):
    diff = diff_matrices(old, new)
    assert ids(diff.new_failing) == [cid("mistral")]  # a new xfail or certified cell does not block
    assert ids(diff.blocking) == [cid("bert"), cid("mistral")]
    assert not diff_matrices(old, old).blocking and diff_matrices(old, old).changes == 0


def test_only_compares_the_selected_cells(old, new):
    diff = diff_matrices(old, new, only={cid("gpt2"), cid("roberta"), cid("vit")})
    assert ids(diff.fixes) == [cid("gpt2")] and ids(diff.removed) == [cid("roberta")]
    assert not diff.regressions and not diff.new and diff.unchanged == 1


def test_a_partial_matrix_speaks_for_its_own_cells_only(old, tmp_path, capsys):
    partial = build_matrix(NEW[:2], versions={}, partial={"selection": "--model-type b*,g*", "shard": None,
                                                          "registry_ids": [c["id"] for c in NEW]})
    assert scope(old, partial) == {cid("bert"), cid("gpt2")} and scope(old) is None
    old_path = write_matrix(old, tmp_path / "old")[0]
    new_path = write_matrix(partial, tmp_path / "new", basename="partial")[0]
    assert main(["diff", str(old_path), str(new_path), "--json"]) == EXIT_NO
    document = json.loads(capsys.readouterr().out)
    assert document["compared"] == 2 and document["removed"] == []  # the other cells were not selected
    assert [c["id"] for c in document["regressions"]] == [cid("bert")]
    assert main(["diff", str(old_path), str(new_path)]) == EXIT_NO
    assert capsys.readouterr().out.splitlines()[1] == (
        "compared: 2 selected cells (a partial run speaks for its own cells only)")


def test_a_reader_that_stops_early_does_not_change_the_verdict(files):
    old_path, new_path = files
    reader = subprocess.Popen([sys.executable, "-m", "reports", "diff", str(old_path), str(new_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # as `| head` does once it has what it wants
    assert reader.wait(timeout=120) == EXIT_NO
    assert reader.stderr.read() == b""


def test_a_cell_that_is_certified_and_then_skipped_regressed():
    diff = diff_matrices(build_matrix([cell("bert")], versions={}),
                         build_matrix([cell("bert", "skipped", None, "not run")], versions={}))
    assert ids(diff.regressions) == [cid("bert")]


def test_one_line_per_cell_says_old_new_and_the_cause(old, new):
    diff = diff_matrices(old, new)
    assert describe(diff.regressions[0]) == (
        f"{cid('bert')}: certified -> failed at compare: max abs diff 2e-3 over atol 1e-4")
    assert describe(diff.changed_causes[0]) == (
        f"{cid('t5')}: failed -> failed at capture: data-dependent branch (was compare: max abs diff 3e-3)")
    assert describe(diff.new[0]) == f"{cid('mistral')}: new -> crashed at run: worker died"
    assert describe(diff.removed[0]) == f"{cid('roberta')}: certified -> removed"


def test_to_json_round_trips_through_json(old, new):
    document = json.loads(json.dumps(diff_matrices(old, new, baseline="a.json", current="b.json").to_json()))
    assert document["compared"] is None  # every cell of both
    assert document["counts"] == {"regressions": 1, "new": 3, "fixes": 1, "changed_causes": 1, "changed_status": 1,
                                  "removed": 1, "new_failing": 1, "unchanged": 2}
    assert document["blocking"] == [cid("bert"), cid("mistral")]
    assert document["baseline"] == {"name": "a.json", "generated_at": "2025-06-01T12:00:00Z"}
    assert document["fixes"] == [{"id": cid("gpt2"),
                                  "old": {"status": "failed", "stage": "run", "reason": "onnxruntime error"},
                                  "new": {"status": "certified", "stage": None, "reason": None}}]


# ---- the command ---------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path, old, new) -> tuple[Path, Path]:
    return write_matrix(old, tmp_path / "old")[0], write_matrix(new, tmp_path / "new")[0]


def test_text_report_has_a_section_per_kind_with_counts(files, capsys):
    old_path, new_path = files
    assert main(["diff", str(old_path), str(new_path)]) == EXIT_NO
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"changes since {old_path} (generated 2025-06-01T12:00:00Z) in {new_path}"
    headings = [line for line in out if not line.startswith("  ")][1:]
    assert headings == ["regressions: 1", "new cells: 3 (1 failing)", "fixes: 1", "changed causes: 1",
                        "other status changes: 1", "removed cells: 1", "unchanged: 2",
                        "result: 1 regression and 1 new cell failing"]
    assert f"  {cid('gpt2')}: failed -> certified (was run: onnxruntime error)" in out


def test_exit_status_is_0_without_a_regression(files, capsys, tmp_path, old):
    old_path, _ = files
    assert main(["diff", str(old_path), str(old_path)]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[-1] == "result: no regression"
    fixed_only = write_matrix(build_matrix([{**c, "status": "certified", "stage": None, "reason": None}
                                            for c in OLD], versions={}), tmp_path / "fixed")[0]
    assert main(["diff", str(old_path), str(fixed_only)]) == EXIT_OK


def test_json_output(files, capsys):
    old_path, new_path = files
    assert main(["diff", str(old_path), str(new_path), "--json"]) == EXIT_NO
    document = json.loads(capsys.readouterr().out)
    assert document["blocking"] == [cid("bert"), cid("mistral")]
    assert [c["id"] for c in document["regressions"]] == [cid("bert")]


def test_records_compare_as_matrices_do(tmp_path, files, capsys):
    old_path, new_path = files
    records = tmp_path / "new.jsonl"
    records.write_text("\n".join(json.dumps(c) for c in NEW) + "\n")
    assert main(["diff", str(old_path), str(records), "--json"]) == EXIT_NO
    from_records = json.loads(capsys.readouterr().out)
    assert main(["diff", str(old_path), str(new_path), "--json"]) == EXIT_NO
    from_matrix = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in from_records.items() if k != "current"} == {
        k: v for k, v in from_matrix.items() if k != "current"}


def test_html_shows_the_changes_and_keeps_the_matrix(files, tmp_path, capsys, new):
    old_path, new_path = files
    out = tmp_path / "site" / "changes.html"
    assert main(["diff", str(old_path), str(new_path), "--html", str(out)]) == EXIT_NO
    page = out.read_text(encoding="utf-8")
    assert f"Changes since <span class=\"mono\">{old_path}</span>" in page
    counts = dict(re.findall(r'data-change-count="(\w+)">(\d+)<', page))
    assert counts == {"regressions": "1", "new": "3", "fixes": "1", "changed_causes": "1", "changed_status": "1",
                      "removed": "1"}
    assert 'href="#transformers%2Fbert%2Fonnx-dynamo%2Ffill-mask"' in page  # opens the certificate
    assert 'href="#transformers%2Froberta' not in page  # a removed cell has none on this page
    assert embedded_json(page) == json.loads(json.dumps(load_matrix(new_path)))  # the matrix, no more
    assert sorted(p.name for p in out.parent.iterdir()) == ["changes.html"]


def test_the_changes_section_escapes_case_ids_and_reasons():
    hostile = '<img src=x onerror=alert(1)>"\''
    old = build_matrix([cell("bert")], versions={})
    new = build_matrix([cell("bert", "failed", "run", hostile), {**cell("x"), "id": "</script><b>x</b>"}],
                       versions={})
    page = render_html(new, diff=diff_matrices(old, new, baseline="<i>base</i>"))
    assert "<img" not in page and "<b>x</b>" not in page and "<i>base</i>" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;" in page


def test_a_page_without_a_diff_has_no_changes_section(new):
    assert 'id="changes"' not in render_html(new)


def test_text_from_a_matrix_cannot_act_on_a_terminal(tmp_path, capsys):
    old = write_matrix(build_matrix([cell("bert")], versions={}), tmp_path / "a")[0]
    new = write_matrix(build_matrix([cell("bert", "failed", "run", "\x1b[2J\x9b31m")], versions={}),
                       tmp_path / "b")[0]
    for args in ([], ["--json"]):
        assert main(["diff", str(old), str(new), *args]) == EXIT_NO
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x9b" not in out


def test_bad_html_destinations_are_one_line_and_write_nothing(files, tmp_path, capsys):
    old_path, new_path = files
    (tmp_path / "a-dir").mkdir()
    assert main(["diff", str(old_path), str(new_path), "--html", str(tmp_path / "a-dir")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "is a directory" in err and err.count("\n") == 1
    assert list((tmp_path / "a-dir").iterdir()) == []


def test_text_report_lists_empty_sections_too(old):
    lines = text_report(diff_matrices(old, old, baseline="a", current="b"))
    assert lines[1:] == ["regressions: 0", "new cells: 0", "fixes: 0", "changed causes: 0",
                         "other status changes: 0", "removed cells: 0", "unchanged: 7", "result: no regression"]
