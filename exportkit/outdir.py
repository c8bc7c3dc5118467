"""Output directories that change all at once or not at all.

An export is assembled in a staging folder beside its destination, checked there, and only
then swapped in as a whole: a failure, Ctrl-C or SIGTERM leaves the destination exactly as
it was. Staging folders carry the writing process's id, so a later run can tell the folders
of a dead run (killed with SIGKILL) from those of a live one and clean them up.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path

from .errors import ExportKitError

STAGING, REPLACED = "staging", "replaced"
_MARKED = re.compile(r"^\.(?P<name>.+)\.exportkit-(?P<kind>staging|replaced)-(?P<pid>\d+)-[0-9a-f]{8}$")


class OutputDirectoryError(ExportKitError):
    """The output directory cannot be written as asked (a file, a link, not empty, not writable)."""


# What to do with an existing, non-empty destination.
EXISTING = ("refuse", "replace", "merge")


def check_destination(final: Path, existing: str = "refuse") -> None:
    """Refuse, before any work, a destination that could not be written as asked."""
    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, got {existing!r}")
    if not str(final):
        raise OutputDirectoryError("the output directory is empty: name a directory to write into")
    if final.is_symlink():
        raise OutputDirectoryError(f"{final} is a symbolic link; pass the directory itself")
    if final.exists():
        if not final.is_dir():
            raise OutputDirectoryError(f"{final} exists and is not a directory")
        if existing == "refuse" and any(final.iterdir()):
            raise OutputDirectoryError(f"{final} is not empty; pass --overwrite to replace it as a whole "
                                       "(only after the new export has been validated)")
    parent = nearest_existing_parent(final)
    if not parent.is_dir():
        raise OutputDirectoryError(f"{parent} is not a directory, so {final} cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputDirectoryError(f"cannot write in {parent}: permission denied")


def nearest_existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _marked_name(final: Path, kind: str) -> Path:
    return final.parent / f".{final.name}.exportkit-{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale(final: Path) -> list[Path]:
    """Clean up after dead runs that wrote to ``final``: their staging folders are deleted, and a
    previous directory a run had set aside but not yet deleted is put back if nothing replaced it."""
    handled = []
    if not final.parent.is_dir():
        return handled
    for entry in sorted(final.parent.iterdir()):
        match = _MARKED.match(entry.name)
        if not match or match["name"] != final.name or _alive(int(match["pid"])):
            continue
        if match["kind"] == REPLACED and not final.exists():
            os.rename(entry, final)  # the swap died half-way: the old directory is still the current one
        else:
            shutil.rmtree(entry, ignore_errors=True)
        handled.append(entry)
    return handled


@contextlib.contextmanager
def staging_folder(final: Path):
    """A marked scratch folder beside ``final``, deleted on exit whatever happens."""
    remove_stale(final)
    folder = _marked_name(final, STAGING)
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class StagedDirectory:
    """``with StagedDirectory(out) as staged: ...write into staged.path...; staged.commit()``.

    Leaving the block without :meth:`commit` (an exception, Ctrl-C) deletes the staging folder
    and any parent folders this created; ``out`` is untouched. What :meth:`commit` does with an
    existing, non-empty ``out`` is ``existing``: "refuse" it (checked on entry, before any
    work), "replace" it as a whole (set aside, staging renamed into place, then deleted), or
    "merge" into it (each staged file, in subfolders too, replaces its namesake; the user's other
    files stay).
    """

    def __init__(self, final: str | os.PathLike, existing: str = "refuse"):
        self.final = Path(final)
        self.existing = existing
        self.path: Path | None = None
        self._created: list[Path] = []
        self.committed = False

    def __enter__(self) -> "StagedDirectory":
        check_destination(self.final, self.existing)
        remove_stale(self.final)
        self._created = [p for p in (self.final.parent, *self.final.parent.parents) if not p.exists()]
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.path = _marked_name(self.final, STAGING)
            self.path.mkdir()  # mode 0o777 less the umask, as the user expects of a new directory
        except OSError as error:
            self._remove_created_parents()
            raise OutputDirectoryError(f"cannot create {self.final}: {error.strerror or error}") from error
        return self

    def commit(self) -> Path:
        assert self.path is not None, "commit() outside the with block"
        if self.existing == "merge" and self.final.is_dir():
            # file by file, into subfolders too (a layout's onnx/): a folder cannot replace a non-empty one
            for produced in sorted(p for p in self.path.rglob("*") if not p.is_dir()):
                target = self.final / produced.relative_to(self.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(produced, target)
            shutil.rmtree(self.path)
        elif self.final.exists():
            # An empty directory, or one the caller allowed to be replaced (checked on entry).
            aside = _marked_name(self.final, REPLACED)
            os.rename(self.final, aside)
            try:
                os.rename(self.path, self.final)
            except BaseException:
                os.rename(aside, self.final)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(self.path, self.final)
        self.committed = True
        return self.final

    def __exit__(self, *exc_info) -> None:
        if self.committed or self.path is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        self._remove_created_parents()

    def _remove_created_parents(self) -> None:
        for directory in self._created:  # innermost first
            with contextlib.suppress(OSError):
                directory.rmdir()
