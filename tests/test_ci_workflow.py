"""The CI workflow that certifies in shards is valid and agrees with itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "certify.yml"


def test_the_workflow_validates_against_githubs_schema():
    checker = shutil.which("check-jsonschema") or pytest.fail("check-jsonschema is a test extra: install .[test]")
    done = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_shard_of_the_matrix_runs_and_the_merge_takes_them_all():
    import yaml

    workflow = yaml.safe_load(WORKFLOW.read_text())
    count = int(workflow["env"]["SHARDS"])
    shard_job = workflow["jobs"]["shard"]
    assert shard_job["strategy"]["matrix"]["shard"] == list(range(1, count + 1))
    assert shard_job["strategy"]["fail-fast"] is False  # one failing shard must not cancel the others
    steps = "\n".join(step.get("run", "") for step in shard_job["steps"])
    assert '--shard "${{ matrix.shard }}/${SHARDS}"' in steps
    merge = "\n".join(step.get("run", "") for step in workflow["jobs"]["merge"]["steps"])
    assert "python -m reports merge partials/*.json" in merge
    assert workflow["jobs"]["merge"]["needs"] == "shard"


def test_the_shard_planner_prints_every_shard():
    done = subprocess.run([sys.executable, "-m", "conformance.shards", "3"], capture_output=True, text=True,
                          timeout=300, cwd=WORKFLOW.parents[2])
    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["shard 1/3", "shard 2/3", "shard 3/3"]
