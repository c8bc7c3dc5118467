"""The committed support matrix belongs to this registry: a cell for every registered case, no others,
each measured by committed code of this history.

A registry change is finished only when the matrix has been regenerated from a complete run
(`tox exec -e tests -- pytest conformance -n auto`), a complete merge of shards (`python -m reports merge`),
or partial runs of the changed cases merged onto it (`python -m reports merge --onto`). Every cell names the
commit that measured it: 40 hex digits, never `+dirty`, and, in a checkout with the whole history, a commit
of this branch.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conformance.cases import all_cases
from conformance.selection import registry_fingerprint
from reports import STATUSES, load_matrix

PUBLISHED = Path(__file__).resolve().parents[1] / "reports" / "support-matrix.json"


def test_the_published_matrix_has_a_cell_for_every_registered_case_and_no_other():
    matrix = load_matrix(PUBLISHED)
    registered = {case.id for case in all_cases()}
    published = {cell["id"] for cell in matrix["cells"]}
    missing, stale = sorted(registered - published), sorted(published - registered)
    assert not missing, f"{len(missing)} registered cases have no cell, e.g. {missing[:5]}: regenerate the matrix"
    assert not stale, f"{len(stale)} cells are no longer registered, e.g. {stale[:5]}: regenerate the matrix"
    assert matrix["registry"]["fingerprint"] == registry_fingerprint(all_cases())
    assert "partial" not in matrix  # never a filtered or sharded run's file


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(PUBLISHED.parent), *args], capture_output=True, text=True)


def test_every_published_cell_was_measured_by_a_commit_of_this_history():
    matrix = load_matrix(PUBLISHED)
    commits = {cell["commit"] for cell in matrix["cells"]}
    wrong = sorted(str(commit) for commit in commits if not re.fullmatch(r"[0-9a-f]{40}", str(commit)))
    assert not wrong, f"cells measured by no commit or by uncommitted code ({wrong[:3]}): rerun them committed"
    assert matrix["commits"] == {commit: sum(cell["commit"] == commit for cell in matrix["cells"])
                                 for commit in commits}
    try:
        shallow = _git("rev-parse", "--is-shallow-repository")
    except OSError:  # no git: the history cannot be asked
        return
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        return  # not a git checkout, or one without the whole history
    for commit in sorted(commits):
        ancestor = _git("merge-base", "--is-ancestor", commit, "HEAD")
        assert ancestor.returncode == 0, f"cells were measured at {commit}, which is not a commit of this history"


def test_every_published_cell_says_what_ran():
    for cell in load_matrix(PUBLISHED)["cells"]:
        assert cell["status"] in STATUSES
        if cell["status"] == "certified":
            assert cell["examples"] > 0 and cell["outputs"], cell["id"]
            assert all(run["status"] == "certified" for run in cell["variants"]), cell["id"]
        else:  # a worker that died mid-case left its stage outside the process (conformance/stages.py)
            assert cell["stage"] and cell["reason"] and cell["reproduce"], cell["id"]


def test_the_test_environment_installs_the_versions_the_matrix_was_certified_against():
    constraints = PUBLISHED.parents[1] / "conformance" / "constraints.txt"
    pinned = dict(line.split("==") for line in constraints.read_text().splitlines()
                  if line.strip() and not line.startswith("#"))
    recorded = {name: version for name, version in load_matrix(PUBLISHED)["versions"].items()
                if name not in ("python", "exportkit")}
    assert {name: pinned.get(name) for name in recorded} == recorded, \
        "conformance/constraints.txt and the matrix's versions differ: regenerate the matrix under the new pins"
    assert "PIP_CONSTRAINT = {tox_root}/conformance/constraints.txt" in (PUBLISHED.parents[1] / "tox.ini").read_text()
