"""Where each worker is: the case, variant and stage it is certifying, written as it goes.

A worker that dies mid-case (a native crash, or the hard timeout ending it) sends no
certificate. The controller then reads the dead worker's last entry here, so that the cell
still says at which stage the process died. The entries live in a directory the controller
makes for the session and names to each worker (xdist's ``workerinput``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

WORKERINPUT_KEY = "exportkit_stage_dir"


class StageLog:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @classmethod
    def create(cls) -> StageLog:
        return cls(Path(tempfile.mkdtemp(prefix="exportkit-stages-")))

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _path(self, worker: str) -> Path:
        return self.directory / f"{worker}.json"

    def writer(self, worker: str, case_id: str) -> Callable[[str | None, str], None]:
        """``write(variant, stage)``: the worker's current place, replaced whole on every call
        (a process killed mid-write leaves the previous entry)."""
        path = self._path(worker)

        def write(variant: str | None, stage: str) -> None:
            staged = path.with_suffix(".tmp")
            staged.write_text(json.dumps({"case": case_id, "variant": variant, "stage": stage}))
            os.replace(staged, path)

        return write

    def last(self, worker: str, case_id: str) -> dict | None:
        """The worker's last entry, if it is of ``case_id``: ``{"case", "variant", "stage"}``."""
        try:
            entry = json.loads(self._path(worker).read_text())
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and entry.get("case") == case_id else None
