"""Unit tests for reports: matrix building, validation, writing and HTML rendering."""

from __future__ import annotations

import json
import re

import pytest

import reports.html
from reports import STATUSES, build_matrix, compact, expand, load_matrix, render_html, write_matrix
from reports.__main__ import main

VERSIONS = {"torch": "2.15.0", "transformers": "5.0.0"}
COMMIT_A, COMMIT_B = "a" * 39 + "1", "0123456789abcdef0123456789abcdef01234567"


def make_record(library="transformers", model_type="bert", engine="dynamo",
                task="text-classification", status="certified", **extra) -> dict:
    column = f"onnx-{engine}"
    rid = f"{library}/{model_type}/{column}/{task}"
    failed = status != "certified"
    record = {
        "id": rid, "library": library, "model_type": model_type, "exporter": "onnx",
        "engine": engine, "column": column, "task": task, "status": status,
        "stage": "capture" if failed else None,
        "reason": "Unsupported: data-dependent branch" if failed else None,
        "error": None,
        "outputs": {} if failed else {"logits": {"max_abs_diff": 1.2e-6, "atol": 1e-4}},
        "shapes_tried": [{"batch_size": 1, "sequence_length": 3}],
        "minimal_failing_shape": None, "opset": 18, "export_seconds": 1.5, "artefact_bytes": 12345,
        "versions": VERSIONS, "seed": 0, "hypothesis_profile": "ci",
        "reproduce": f"pytest conformance -p no:randomly -k '{rid}'",
        "registered_at": "exportkit/exporters/onnx/models/text.py:41", "duration_seconds": 3.2,
    }
    record.update(extra)
    return record


@pytest.fixture
def records() -> list[dict]:
    return [
        make_record(status="certified"),
        make_record(engine="torchscript", status="failed"),
        make_record(model_type="gpt2", task="text-generation", status="xfail"),
        make_record(model_type="gpt2", engine="torchscript", task="text-generation", status="timeout"),
        make_record(library="timm", model_type="resnet", task="image-classification", status="crashed"),
        make_record(library="timm", model_type="resnet", engine="torchscript", task="image-classification",
                    status="skipped"),
        make_record(library="timm", model_type="vit", task="image-classification", status="certified"),
    ]


def embedded_json(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="matrix-data"[^>]*>(.*?)</script>', page, re.S)
    assert match, "matrix JSON is not embedded"
    return expand(json.loads(match.group(1)))


# -- build_matrix ------------------------------------------------------------

def test_summary_counts(records):
    matrix = build_matrix(list(reversed(records)), versions=VERSIONS, profile="ci",
                          generated_at="2025-01-02T03:04:05Z")
    summary = matrix["summary"]
    assert matrix["schema_version"] == 4
    assert matrix["generated_at"] == "2025-01-02T03:04:05Z"
    assert matrix["versions"] == VERSIONS and matrix["hypothesis_profile"] == "ci"
    assert summary["total"] == 7
    assert summary["by_status"] == {"certified": 2, "failed": 1, "xfail": 1, "skipped": 1, "crashed": 1, "timeout": 1}
    assert list(summary["by_status"]) == list(STATUSES)
    assert summary["by_library"]["timm"] == {
        "certified": 1, "failed": 0, "xfail": 0, "skipped": 1, "crashed": 1, "timeout": 0, "total": 3}
    assert summary["by_library"]["transformers"]["total"] == 4
    assert summary["by_column"]["onnx-dynamo"] == {
        "certified": 2, "failed": 0, "xfail": 1, "skipped": 0, "crashed": 1, "timeout": 0, "total": 4}
    assert summary["by_column"]["onnx-torchscript"]["total"] == 3
    ids = [c["id"] for c in matrix["cells"]]
    assert ids == sorted(ids)


def test_generated_at_defaults_to_utc_now(records):
    stamp = build_matrix(records, versions={})["generated_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)


def test_records_are_not_mutated(records):
    before = json.dumps(records, sort_keys=True)
    build_matrix(records, versions=VERSIONS)["cells"][0]["status"] = "failed"
    assert json.dumps(records, sort_keys=True) == before


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("status"), r"transformers/bert/onnx-dynamo/text-classification: missing .*status"),
        (lambda r: r.pop("task"), r"missing required key\(s\): task"),
        (lambda r: r.update(status="passed"), r"bert/onnx-dynamo/text-classification: unknown status 'passed'"),
        (lambda r: r.update(stage="lowering"), r"unknown stage 'lowering'"),
        (lambda r: r.update(library=""), r"'library' must be a non-empty string"),
    ],
)
def test_invalid_record_is_rejected(records, mutate, message):
    mutate(records[0])
    with pytest.raises(ValueError, match=message):
        build_matrix(records, versions=VERSIONS)


def test_record_without_id_is_named_by_position(records):
    records[2].pop("id")
    with pytest.raises(ValueError, match=r"record #2: missing required key\(s\): id"):
        build_matrix(records, versions=VERSIONS)


def test_duplicate_ids_are_rejected(records):
    with pytest.raises(ValueError, match=r"transformers/bert/onnx-dynamo/text-classification: duplicate id"):
        build_matrix(records + [make_record()], versions=VERSIONS)


def test_records_sharing_a_table_cell_are_rejected(records):
    clash = make_record(id="custom-id")
    with pytest.raises(ValueError, match=r"custom-id: same library/model_type/column/task as transformers/bert/"):
        build_matrix(records + [clash], versions=VERSIONS)


# -- write_matrix / load_matrix ------------------------------------------------

def test_write_and_load_round_trip(records, tmp_path):
    matrix = build_matrix(records, versions=VERSIONS)
    out = tmp_path / "nested" / "site"
    json_path, html_path = write_matrix(matrix, out)
    assert (json_path.name, html_path.name) == ("support-matrix.json", "support-matrix.html")
    assert sorted(p.name for p in out.iterdir()) == ["support-matrix.html", "support-matrix.json"]
    assert load_matrix(json_path) == matrix
    assert embedded_json(html_path.read_text(encoding="utf-8")) == matrix
    assert json_path.stat().st_mode & 0o777 == 0o644


def test_failed_write_keeps_old_file_and_leaves_no_temp_files(records, tmp_path, monkeypatch):
    matrix = build_matrix(records, versions=VERSIONS)
    json_path, _ = write_matrix(matrix, tmp_path, basename="m")
    old = json_path.read_text(encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("reports.matrix.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_matrix(build_matrix(records[:1], versions=VERSIONS), tmp_path, basename="m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.html", "m.json"]
    assert json_path.read_text(encoding="utf-8") == old


def test_render_error_writes_nothing(records, tmp_path, monkeypatch):
    def broken_render(matrix):
        raise RuntimeError("template bug")

    monkeypatch.setattr(reports.html, "render_html", broken_render)
    with pytest.raises(RuntimeError):
        write_matrix(build_matrix(records, versions=VERSIONS), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_non_finite_floats_become_strict_json(tmp_path):
    record = make_record(outputs={"logits": {"max_abs_diff": float("nan"), "atol": 1e-4},
                                  "pooler": {"max_abs_diff": float("inf"), "atol": 1e-4}})
    json_path, html_path = write_matrix(build_matrix([record], versions={}), tmp_path)

    def reject(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    outputs = expand(json.loads(json_path.read_text(), parse_constant=reject))["cells"][0]["outputs"]
    assert outputs["logits"]["max_abs_diff"] == "NaN"
    assert outputs["pooler"]["max_abs_diff"] == "Infinity"
    assert embedded_json(html_path.read_text())["cells"][0]["outputs"] == outputs


def test_load_matrix_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"schema_version": 1}')
    with pytest.raises(ValueError, match="not a support matrix"):
        load_matrix(path)
    path.write_text('{"schema_version": 99, "cells": []}')
    with pytest.raises(ValueError, match="unsupported schema_version 99"):
        load_matrix(path)


# -- render_html ---------------------------------------------------------------

def test_html_is_self_contained(records):
    page = render_html(build_matrix(records, versions=VERSIONS))
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(?!data:)', page)
    assert "http://" not in page and "https://" not in page


def test_html_escapes_hostile_text(records):
    hostile = "</script><script>alert(1)</script><!-- & \u2028"
    records[1].update(error=hostile, reason="<img src=x onerror=alert(1)>")
    records.append(make_record(model_type='"><b>x</b>', status="failed", reason=hostile))
    matrix = build_matrix(records, versions={"torch": "<i>2</i>"})
    page = render_html(matrix)
    # Exactly our two <script> elements: the data island and the code.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<img" not in page and "<b>x</b>" not in page and "<i>2</i>" not in page
    assert embedded_json(page) == json.loads(json.dumps(matrix))  # the text survives, escaped in the JSON


def test_html_counts_match_summary(records):
    matrix = build_matrix(records, versions=VERSIONS)
    page = render_html(matrix)
    shown = dict(re.findall(r'data-count-status="(\w+)">(\d+)<', page))
    assert shown == {s: str(n) for s, n in matrix["summary"]["by_status"].items()}
    for library, counts in matrix["summary"]["by_library"].items():
        for status, n in counts.items():
            assert f'data-count-library="{library}" data-status="{status}">{n}<' in page
    # a header column for each (task, exporter-engine) present; the rows come from the data
    assert len(re.findall(r'<th scope="col" class="sub', page)) == len({(r["task"], r["column"]) for r in records})


def test_empty_matrix_renders():
    page = render_html(build_matrix([], versions={}))
    assert "No certificates were recorded." in page


# -- command line --------------------------------------------------------------

def test_cli_renders_jsonl_and_matrix_json(records, tmp_path, capsys):
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    assert main(["render", str(jsonl), "--out", str(tmp_path / "a")]) == 0
    first = load_matrix(tmp_path / "a" / "support-matrix.json")
    assert first["summary"]["total"] == len(records)
    assert first["versions"] == VERSIONS and first["hypothesis_profile"] == "ci"

    assert main(["render", str(tmp_path / "a" / "support-matrix.json"), "--out", str(tmp_path / "b")]) == 0
    assert load_matrix(tmp_path / "b" / "support-matrix.json") == first
    assert "support-matrix.html" in capsys.readouterr().out


def test_cli_reports_bad_input(records, tmp_path, capsys):
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text(json.dumps(records[0]) + "\n{not json\n")
    assert main(["render", str(jsonl), "--out", str(tmp_path)]) == 2
    assert "records.jsonl:2: invalid JSON" in capsys.readouterr().err

    jsonl.write_text(json.dumps(make_record(status="weird")) + "\n")
    assert main(["render", str(jsonl), "--out", str(tmp_path)]) == 2
    assert "unknown status 'weird'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [jsonl]

    assert main(["render", str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2
    assert "missing.json: no such file" in capsys.readouterr().err


# -- compact storage -------------------------------------------------------------

def test_compact_storage_keeps_every_certificate(records):
    for record in records:
        record.update(versions=VERSIONS, hypothesis_profile="ci", seed=0,
                      shapes_tried=[{"batch_size": 1}, {"batch_size": 2, "attention_mask": "ragged-left [0, 3]"}],
                      minimal_failing_shape={"batch_size": 2, "attention_mask": "ragged-left [0, 3]"},
                      largest_input={"elements": 6, "example": {"batch_size": 2}},
                      variants=[{"name": "base", "status": "certified", "minimal_failing_shape": None}])
        record["reproduce"] = f"pytest 'conformance/test_certify.py::test_certify[{record['id']}]' --no-matrix"
    records[0]["versions"] = {**VERSIONS, "torch": "other"}  # a cell that differs keeps its own
    records[1]["reproduce"] = "something else"
    matrix = build_matrix(records, versions=VERSIONS, profile="ci", seed=0)
    stored = compact(matrix)
    assert len(stored["examples"]) == 3  # each distinct example once
    assert VERSIONS in stored["values"] and {**VERSIONS, "torch": "other"} in stored["values"]
    assert stored["values"].count("transformers") == 1
    assert stored["reproduce_template"] == "pytest 'conformance/test_certify.py::test_certify[{id}]' --no-matrix"
    assert "cells" not in stored and len(stored["rows"]) == len(records)
    assert expand(stored) == json.loads(json.dumps(matrix))


def test_a_matrix_file_is_compact_and_loads_whole(records, tmp_path):
    matrix = build_matrix(records, versions=VERSIONS)
    json_path, _ = write_matrix(matrix, tmp_path)
    assert "\n" not in json_path.read_text().rstrip("\n")  # no indentation
    assert load_matrix(json_path) == json.loads(json.dumps(matrix))


def test_error_lines_are_stored_once_and_give_each_error_back(records):
    failing = [{**record, "status": "failed", "stage": "translate", "reason": "boom",
                "error": f"Traceback:\n  File convert.py, line 1\nValueError: {index}"}
               for index, record in enumerate(records)]
    matrix = build_matrix(failing, versions=VERSIONS, profile="ci")
    document = compact(matrix)
    assert len(document["error_lines"]) == 2 + len(failing)  # the shared frames once, each last line once
    assert [cell["error"] for cell in expand(document)["cells"]] == [cell["error"] for cell in matrix["cells"]]


# -- the commit that measured each cell ------------------------------------------------

def test_each_cell_keeps_its_commit_through_compact_storage_and_the_matrix_counts_them(records, tmp_path):
    for index, record in enumerate(records):
        record["commit"] = COMMIT_A if index < 4 else COMMIT_B + "+dirty" if index == 4 else COMMIT_B
    records[-1].pop("commit")  # a record that names none
    matrix = build_matrix(records, versions=VERSIONS)
    assert matrix["commits"] == {COMMIT_A: 4, COMMIT_B: 1, COMMIT_B + "+dirty": 1}
    by_id = {cell["id"]: cell["commit"] for cell in matrix["cells"]}
    assert by_id[records[0]["id"]] == COMMIT_A and by_id[records[-1]["id"]] is None
    stored = compact(matrix)
    assert "commit" in stored["fields"] and stored["values"].count(COMMIT_A) == 1  # each commit stored once
    json_path, html_path = write_matrix(matrix, tmp_path)
    loaded = load_matrix(json_path)
    assert loaded == json.loads(json.dumps(matrix))
    assert {cell["id"]: cell["commit"] for cell in loaded["cells"]} == by_id
    assert loaded["commits"] == matrix["commits"] and loaded["schema_version"] == 4


def test_a_schema_3_file_without_commits_loads_with_commit_none(records, tmp_path):
    document = compact(build_matrix(records, versions=VERSIONS))
    at = document["fields"].index("commit")  # the file as schema 3 wrote it: no commit field, no counts
    document["fields"].pop(at)
    for row in document["rows"]:
        row.pop(at)
    document.pop("commits")
    document["schema_version"] = 3
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    loaded = load_matrix(path)
    assert [cell["commit"] for cell in loaded["cells"]] == [None] * len(records)
    assert loaded["commits"] == {} and [cell["status"] for cell in loaded["cells"]] == \
        [cell["status"] for cell in sorted(records, key=lambda r: r["id"])]
    assert "no recorded commit" in render_html(loaded)


@pytest.mark.parametrize("commit", ["ac2e110", COMMIT_A.upper(), COMMIT_A + "+modified", 7])
def test_a_commit_that_is_not_a_full_hash_is_rejected(records, commit):
    records[0]["commit"] = commit
    with pytest.raises(ValueError, match="'commit' must be"):
        build_matrix(records, versions=VERSIONS)


def test_the_page_says_at_which_commits_the_cells_were_measured(records):
    for index, record in enumerate(records):
        record["commit"] = COMMIT_A if index < 5 else COMMIT_B
    records[0]["commit"] = None
    page = render_html(build_matrix(records, versions=VERSIONS))
    header = page[page.index('<header'):page.index('</header>')]
    assert re.search(r'Cells measured at commits <code class="commit" title="a{39}1">aaaaaaa</code> '
                     r'<span data-commit-count="a{39}1">\(4 cells\)</span>, '
                     r'<code class="commit" title="0123456789abcdef\w+">0123456</code>', header), header
    assert '(2 cells)' in header and '>1 cell</span> of no recorded commit' in header
    single = render_html(build_matrix([make_record(commit=COMMIT_B)], versions=VERSIONS))
    assert "Cells measured at commit <code" in single and "(1 cell)" in single
