"""Sharded certifier runs: deterministic cost-balanced shares, partial files, and their merge."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases import Case
from conformance.selection import Selection
from conformance.shards import Shard, case_costs, split
from reports import build_matrix, load_matrix, merge_onto, merge_partials, write_matrix
from reports.merge import MergeError

REPO = Path(__file__).resolve().parents[1]
VERSIONS = {"torch": "2.15.0", "transformers": "5.23.0"}
OLD, NEW = "1" * 40, "2" * 40  # the commits that measured the published cells, and the re-run ones


def cases(n: int) -> list[Case]:
    return [Case("transformers", f"m{i:02d}", "onnx", engine, "fill-mask")
            for i in range(n) for engine in ("dynamo", "torchscript")]


def test_shard_names_are_checked():
    assert Shard.parse("2/4") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"
    for bad in ("0/4", "5/4", "2", "a/b", "1/0"):
        with pytest.raises(ValueError):
            Shard.parse(bad)


def test_shares_are_disjoint_complete_deterministic_and_balanced():
    every = cases(40)
    costs = {case.id: (7.0 if case.engine == "dynamo" else 1.0) * (1 + int(case.model_type[1:]) % 5)
             for case in every}
    shares = split(every, 4, costs)
    ids = [case.id for share in shares for case in share]
    assert sorted(ids) == sorted(case.id for case in every) and len(ids) == len(set(ids))
    assert split(list(reversed(every)), 4, costs) == shares  # the order cases come in does not matter
    loads = [sum(costs[case.id] for case in share) for share in shares]
    assert max(loads) - min(loads) <= max(costs.values())  # greedy bound: within one costliest case


def test_costs_fall_back_from_the_cell_to_its_family_to_its_engine():
    recorded = [{"id": "transformers/m00/onnx-dynamo/fill-mask", "library": "transformers", "model_type": "m00",
                 "engine": "dynamo", "duration_seconds": 10.0},
                {"id": "transformers/m01/onnx-dynamo/text-classification", "library": "transformers",
                 "model_type": "m01", "engine": "dynamo", "duration_seconds": 4.0}]
    every = cases(3)
    costs = case_costs(every, recorded)
    assert costs["transformers/m00/onnx-dynamo/fill-mask"] == 10.0  # its own duration
    assert costs["transformers/m01/onnx-dynamo/fill-mask"] == 4.0  # its family's
    assert costs["transformers/m02/onnx-dynamo/fill-mask"] == 7.0  # its engine's mean
    assert costs["transformers/m02/onnx-torchscript/fill-mask"] == 1.0  # nothing recorded: one second


def test_costs_are_read_from_a_matrix_as_it_is_published(tmp_path):
    from conformance.shards import recorded_costs
    from reports import write_matrix

    records = [{"id": f"transformers/m0{i}/onnx-dynamo/fill-mask", "library": "transformers", "model_type": f"m0{i}",
                "exporter": "onnx", "engine": "dynamo", "column": "onnx-dynamo", "task": "fill-mask",
                "status": "certified", "duration_seconds": 3.0 + i} for i in range(2)]
    json_path, _ = write_matrix(build_matrix(records, versions=VERSIONS), tmp_path)
    assert "rows" in json.loads(json_path.read_text())  # the compact storage
    costs = case_costs(cases(2), recorded_costs(json_path))
    assert costs["transformers/m00/onnx-dynamo/fill-mask"] == 3.0
    assert costs["transformers/m01/onnx-dynamo/fill-mask"] == 4.0
    assert recorded_costs(tmp_path / "missing.json") == []


def test_only_an_unfiltered_unsharded_selection_is_complete():
    assert Selection().complete
    assert not Selection(model_type="bert").complete
    assert not Selection(shard=Shard(1, 2)).complete
    assert Selection(model_type="bert", shard=Shard(1, 2)).describe() == "--model-type bert --shard 1/2"


# ---- the commit each record names -----------------------------------------------------------------

def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_a_record_names_the_commit_of_the_code_that_measured_it(monkeypatch):
    from conformance.certify import base_record, code_commit

    record = base_record(cases(1)[0], profile="ci", seed=0)
    assert record["commit"] == code_commit()
    try:
        head, changed = _git("rev-parse", "HEAD"), _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        assert record["commit"] is None  # not a git checkout (or no git): no commit is claimed
    else:
        assert record["commit"] == head + ("+dirty" if changed else "")

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert code_commit.__wrapped__() is None  # uncached: without git, None


# ---- merging partial files ------------------------------------------------------------------------

def record(case_id: str, status: str = "certified", commit: str | None = NEW, **changes) -> dict:
    library, model_type, column, task = case_id.split("/")
    return {"id": case_id, "library": library, "model_type": model_type, "exporter": "onnx",
            "engine": column.split("-", 1)[1], "column": column, "task": task, "status": status,
            "commit": commit, **changes}


def partial(tmp_path: Path, name: str, ids: list[str], registry_ids: list[str], *, records: list[dict] | None = None,
            **changes) -> Path:
    meta = {"versions": VERSIONS, "profile": "ci", "seed": 0,
            "registry": {"fingerprint": "abc", "size": len(registry_ids)}, **changes}
    document = build_matrix(records or [record(i) for i in ids], **meta,
                            partial={"selection": "--shard", "shard": None, "registry_ids": registry_ids})
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    return path


IDS = [case.id for case in cases(3)]


def test_shards_merge_into_the_matrix_of_one_run(tmp_path):
    first = partial(tmp_path, "a", IDS[:2], IDS)
    second = partial(tmp_path, "b", IDS[2:], IDS)
    merged = merge_partials([first, second])
    assert sorted(cell["id"] for cell in merged["cells"]) == sorted(IDS)
    assert "partial" not in merged and merged["registry"]["fingerprint"] == "abc"
    assert merged["summary"]["total"] == len(IDS)


@pytest.mark.parametrize("change, message", [
    ({"versions": {**VERSIONS, "torch": "2.14.1"}}, "library versions"),
    ({"profile": "thorough"}, "hypothesis profile"),
    ({"seed": 3}, "seed"),
    ({"registry": {"fingerprint": "def", "size": 6}}, "registry"),
])
def test_partial_files_of_different_runs_are_refused(tmp_path, change, message):
    first = partial(tmp_path, "a", IDS[:2], IDS)
    second = partial(tmp_path, "b", IDS[2:], IDS, **change)
    with pytest.raises(MergeError, match=message):
        merge_partials([first, second])


def test_a_merge_names_what_no_shard_certified_and_refuses_twice_certified_cells(tmp_path):
    first = partial(tmp_path, "a", IDS[:2], IDS)
    with pytest.raises(MergeError, match=f"{len(IDS) - 2} registered cases are in none"):
        merge_partials([first])
    with pytest.raises(MergeError, match="is in both"):
        merge_partials([first, partial(tmp_path, "b", IDS[1:], IDS)])


def test_merge_command_writes_the_matrix_and_fails_cleanly(tmp_path):
    from reports.__main__ import main

    first, second = partial(tmp_path, "a", IDS[:2], IDS), partial(tmp_path, "b", IDS[2:], IDS)
    assert main(["merge", str(first), str(second), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "support-matrix.json").exists() and (tmp_path / "out" / "support-matrix.html").exists()
    assert main(["merge", str(first), "--out", str(tmp_path / "refused")]) == 2
    assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize("commit", [None, NEW + "+dirty"])
def test_a_merge_refuses_cells_not_measured_by_committed_code(tmp_path, commit):
    first = partial(tmp_path, "a", IDS[:2], IDS)
    second = partial(tmp_path, "b", IDS[2:], IDS, records=[record(i, commit=commit) for i in IDS[2:]])
    with pytest.raises(MergeError, match=rf"b.json has {len(IDS) - 2} cells not measured by committed code "
                                         rf"\(commit {re.escape(str(commit))}\)"):
        merge_partials([first, second])
    with pytest.raises(MergeError, match="not measured by committed code"):
        merge_onto(published(tmp_path, IDS), [first, second])


# ---- merging partial runs onto the published matrix ---------------------------------------------------

def published(tmp_path: Path, ids: list[str], **changes) -> Path:
    """A complete matrix of ``ids``, every cell failed at commit OLD, as the published one is stored."""
    meta = {"versions": VERSIONS, "profile": "ci", "seed": 0, "registry": {"fingerprint": "old", "size": len(ids)},
            **changes}
    cells = [record(i, "failed", OLD, stage="capture", reason="an old failure") for i in ids]
    return write_matrix(build_matrix(cells, **meta), tmp_path / "published")[0]


def test_a_partial_run_merged_onto_the_matrix_replaces_adds_and_drops_cells(tmp_path):
    registry = IDS[:-1] + ["transformers/new/onnx-dynamo/fill-mask"]  # IDS[-1] unregistered, a case registered
    base = published(tmp_path, IDS)
    rerun = [IDS[0], registry[-1]]
    part = partial(tmp_path, "a", rerun, registry, registry={"fingerprint": "new", "size": len(registry)})
    merged = merge_onto(base, [part])
    assert (merged.replaced, merged.added, merged.dropped) == ([IDS[0]], [registry[-1]], [IDS[-1]])
    matrix = merged.matrix
    cells = {cell["id"]: cell for cell in matrix["cells"]}
    assert sorted(cells) == sorted(registry) and "partial" not in matrix
    assert (cells[IDS[0]]["status"], cells[IDS[0]]["commit"]) == ("certified", NEW)  # the re-run replaces
    assert (cells[registry[-1]]["status"], cells[registry[-1]]["commit"]) == ("certified", NEW)  # added
    for kept in IDS[1:-1]:  # the others are as published, each with the commit that measured it
        assert (cells[kept]["status"], cells[kept]["reason"], cells[kept]["commit"]) == \
            ("failed", "an old failure", OLD)
    assert matrix["commits"] == {OLD: len(registry) - 2, NEW: 2}
    assert matrix["registry"] == {"fingerprint": "new", "size": len(registry)}  # the partials' registry
    assert matrix["versions"] == VERSIONS and matrix["summary"]["by_status"]["certified"] == 2


def test_several_partial_files_merge_onto_the_matrix_at_once(tmp_path):
    base = published(tmp_path, IDS)
    parts = [partial(tmp_path, "a", IDS[:1], IDS), partial(tmp_path, "b", IDS[3:4], IDS)]
    merged = merge_onto(base, parts)
    assert merged.replaced == sorted([IDS[0], IDS[3]]) and not merged.added and not merged.dropped
    assert sum(cell["status"] == "certified" for cell in merged.matrix["cells"]) == 2


@pytest.mark.parametrize("change, message", [
    ({"versions": {**VERSIONS, "torch": "2.14.1"}}, r"differ in library versions \(torch: '2.15.0' vs '2.14.1'\)"),
    ({"profile": "thorough"}, "differ in hypothesis profile"),
    ({"seed": 3}, "differ in conformance seed"),
])
def test_partial_runs_of_other_versions_profile_or_seed_are_not_merged_onto_the_matrix(tmp_path, change, message):
    base = published(tmp_path, IDS)
    with pytest.raises(MergeError, match=message):
        merge_onto(base, [partial(tmp_path, "a", IDS[:1], IDS, **change)])


def test_a_merge_onto_the_matrix_names_the_registered_cases_it_lacks(tmp_path):
    registry = IDS + ["transformers/new/onnx-dynamo/fill-mask", "transformers/new/onnx-torchscript/fill-mask"]
    part = partial(tmp_path, "a", registry[-1:], registry)  # one new case re-run, the other not
    with pytest.raises(MergeError, match=r"1 registered cases have a cell neither in --onto .* nor in the partial "
                                         r"files: transformers/new/onnx-dynamo/fill-mask$"):
        merge_onto(published(tmp_path, IDS), [part])


def test_a_merge_onto_refuses_a_partial_base_and_cells_that_never_ran(tmp_path):
    from reports.matrix import NOT_RUN_REASON

    part = partial(tmp_path, "a", IDS[:1], IDS)
    with pytest.raises(MergeError, match="is a partial file: merge onto a complete matrix"):
        merge_onto(partial(tmp_path, "base", IDS, IDS), [part])
    never = partial(tmp_path, "b", IDS[:1], IDS, records=[record(IDS[0], "skipped", reason=NOT_RUN_REASON)])
    with pytest.raises(MergeError, match="1 cells of the partial files were never run"):
        merge_onto(published(tmp_path, IDS), [never])


def test_merge_onto_command_writes_the_matrix_and_names_the_dropped_cells(tmp_path, capsys):
    from reports.__main__ import main

    base = published(tmp_path, IDS)
    before = base.read_bytes()
    part = partial(tmp_path, "a", IDS[:1], IDS[:-1])
    assert main(["merge", "--onto", str(base), str(part), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "1 cells replaced, 0 added, 1 dropped" in err and f"dropped (no longer registered): {IDS[-1]}" in err
    written = load_matrix(tmp_path / "out" / "support-matrix.json")
    assert {cell["id"]: cell["commit"] for cell in written["cells"]} == {
        **{i: OLD for i in IDS[1:-1]}, IDS[0]: NEW}
    assert base.read_bytes() == before  # the base is read, never written unless --out is its directory
    dirty = partial(tmp_path, "b", IDS[:1], IDS, records=[record(IDS[0], commit=NEW + "+dirty")])
    assert main(["merge", "--onto", str(base), str(dirty), "--out", str(tmp_path / "refused")]) == 2
    assert "not measured by committed code" in capsys.readouterr().err and not (tmp_path / "refused").exists()
    # onto the published directory itself: the matrix is replaced in place
    assert main(["merge", "--onto", str(base), str(part), "--out", str(base.parent)]) == 0
    assert load_matrix(base)["commits"] == {OLD: len(IDS) - 2, NEW: 1}


# ---- through pytest: shards of a run and the run itself give the same cells ------------------------

RESTRICT_REGISTRY = """
from exportkit import TasksManager
from exportkit.tasks import unregister

KEEP = {("distilbert", "fill-mask"), ("distilbert", "text-classification")}
for entry in TasksManager.list_registrations():
    if (entry.model_type, str(entry.task)) not in KEEP or entry.library != "transformers":
        unregister(entry.library, entry.model_type, entry.exporter, str(entry.task))
"""


def run_certifier(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "restrict_registry.py").write_text(RESTRICT_REGISTRY)
    command = [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-p", "restrict_registry",
               "-q", "-n", "2", "--matrix-dir", str(tmp_path / "published"), *args]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)


@pytest.mark.slow
def test_sharded_runs_merge_into_what_one_run_writes_and_leave_reports_alone(tmp_path):
    """With the registry cut to two triples (four cases): two shards, merged, and one complete run."""
    published = REPO / "reports" / "support-matrix.json"
    before = published.read_bytes()
    for shard in ("1/2", "2/2"):
        done = run_certifier(tmp_path, "--shard", shard, "--partial-dir", str(tmp_path / "parts"))
        assert done.returncode == 0, done.stdout[-3000:]
        assert "a partial run" in done.stdout
    assert not (tmp_path / "published").exists()  # a shard never writes a matrix
    parts = sorted((tmp_path / "parts").glob("shard-*.json"))
    assert [p.name for p in parts] == ["shard-1-of-2.json", "shard-2-of-2.json"]
    from conformance.certify import code_commit
    from reports.matrix import is_published_commit

    shards = [load_matrix(part) for part in parts]
    assert {cell["commit"] for shard in shards for cell in shard["cells"]} == {code_commit()}  # this checkout's
    if is_published_commit(code_commit()):
        merged = merge_partials(parts)
    else:  # uncommitted changes (or no git): the merge refuses such cells; compare the shards' cells as they are
        with pytest.raises(MergeError, match="not measured by committed code"):
            merge_partials(parts)
        merged = {"cells": [cell for shard in shards for cell in shard["cells"]], "registry": shards[0]["registry"]}

    whole = run_certifier(tmp_path)
    assert whole.returncode == 0, whole.stdout[-3000:]
    single = load_matrix(tmp_path / "published" / "support-matrix.json")
    assert {c["id"]: c["status"] for c in merged["cells"]} == {c["id"]: c["status"] for c in single["cells"]}
    assert len(single["cells"]) == 4 and merged["registry"] == single["registry"]
    assert single["commits"] == {code_commit(): 4}
    assert published.read_bytes() == before  # nothing here touched the published matrix


def test_a_filter_that_matches_nothing_is_a_usage_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--model-type",
                           "no-such-model*", "--matrix-dir", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "no registered case matches --model-type no-such-model*" in done.stderr
    assert not any(tmp_path.iterdir())


def test_the_sample_takes_one_case_per_config_class_engine_and_cache_preferring_certified_then_cheap():
    from conformance.selection import sample

    def case(model_type, engine, task, origin):
        return Case("transformers", model_type, "onnx", engine, task, origin)

    every = [case(m, e, t, o) for m, o in (("a", "derived"), ("b", "derived"), ("c", "derived"), ("llama", "family"))
             for e in ("dynamo", "torchscript") for t in ("text-generation", "text-generation-with-past")]
    costs = {c.id: {"a": 1.0, "b": 5.0, "c": 2.0, "llama": 3.0}[c.model_type] for c in every}
    picked = sample(every, costs)
    assert len(picked) == 8  # 2 origins x 2 engines x with and without a cache
    assert {c.model_type for c in picked if c.origin == "derived"} == {"a"}  # the cheapest
    certified = {c.id for c in every if c.model_type in ("b", "c")}
    assert {c.model_type for c in sample(every, costs, certified) if c.origin == "derived"} == {"c"}
