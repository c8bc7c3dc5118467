"""Command line of the support matrix.

    python -m reports render RECORDS.jsonl|MATRIX.json --out DIR
    python -m reports merge PART.json... [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from exportkit.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from reports.matrix import build_matrix, load_matrix, printable, read_json_file, write_matrix
from reports.merge import merge_partials


def _read_records_jsonl(path: Path) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
    return records


def _matrix_from_records(records: list[dict]) -> dict:
    # A JSONL of records carries no run-level metadata: derive it from the
    # records (first value wins; the profile only when all records agree).
    versions: dict = {}
    for record in records:
        if isinstance(record, dict):
            for name, version in (record.get("versions") or {}).items():
                versions.setdefault(name, version)
    profiles = {r.get("hypothesis_profile") for r in records if isinstance(r, dict)}
    return build_matrix(records, versions=versions, profile=profiles.pop() if len(profiles) == 1 else None)


def load_input(path: Path) -> dict:
    """Build a validated matrix from a JSONL of records, a JSON list of records or a matrix JSON."""
    if not path.is_file():  # a directory, or a FIFO that would block the reader
        raise ValueError(f"{path}: not a regular file" if path.exists() else f"{path}: no such file")
    if path.suffix in (".jsonl", ".ndjson"):
        return _matrix_from_records(_read_records_jsonl(path))
    doc = read_json_file(path)
    if isinstance(doc, list):
        return _matrix_from_records(doc)
    if isinstance(doc, dict) and isinstance(doc.get("rows"), list):
        doc = load_matrix(path)  # a stored (compact) matrix, checked as it is expanded
    if isinstance(doc, dict) and isinstance(doc.get("cells"), list):
        # Rebuild rather than trust the stored summary, so a hand-edited matrix is re-checked.
        return build_matrix(
            doc["cells"],
            versions=doc.get("versions") or {},
            generated_at=doc.get("generated_at"),
            profile=doc.get("hypothesis_profile"),
            seed=doc.get("seed"),
            registry=doc.get("registry"),
            partial=doc.get("partial"),
        )
    raise ValueError(f"{path}: expected a support matrix (object with 'cells') or a list of records")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also: EXPORTKIT_DEBUG=1)")
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__, parents=[common],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="exit status: 0 done, 2 bad input, 70 internal error, 130 interrupted")
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render support-matrix.json and .html", parents=[common])
    render.add_argument("input", type=Path, help="records .jsonl (one record per line) or a matrix .json")
    render.add_argument("--out", type=Path, required=True, help="output directory (created if missing)")
    render.add_argument("--basename", default="support-matrix", help="output file stem (default: %(default)s)")
    merge = commands.add_parser(
        "merge", help="join the partial files of sharded runs into one matrix", parents=[common],
        description="Join the partial files of sharded certifier runs (pytest conformance --shard I/N) into one "
                    "support matrix. Refuses files of different library versions, profiles, seeds or registries, "
                    "a cell certified twice, and a merge that misses a registered case.")
    merge.add_argument("parts", type=Path, nargs="+", help="partial files (conformance-artefacts/partials/*.json)")
    merge.add_argument("--out", type=Path, default=Path("reports"), help="output directory (default: %(default)s)")
    return parser


def _check_out_dir(out: Path) -> None:
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--out {out} is a dangling symbolic link")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")


def run(args) -> int:
    _check_out_dir(args.out)
    if args.command == "render":
        paths = write_matrix(load_input(args.input), args.out, basename=args.basename)
    else:
        matrix = merge_partials(args.parts)
        paths = write_matrix(matrix, args.out)
        print(f"merged {len(args.parts)} partial files: {matrix['summary']['total']} cells", file=sys.stderr)
    for path in paths:
        print(path)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # a usage error exits 2 here, with argparse's message
    debug = args.debug or os.environ.get("EXPORTKIT_DEBUG", "") not in ("", "0")
    prog = "python -m reports"
    try:
        return run(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted; nothing was changed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as error:  # a bad input file or output directory
        if debug:
            raise
        message = f"{error.strerror}: {error.filename}" if isinstance(error, OSError) and error.filename else error
        print(f"{prog}: error: {printable(' '.join(str(message).split()))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:
        if debug:
            raise
        print(f"{prog}: internal error: {type(error).__name__}: {printable(error)} (rerun with --debug for the "
              "traceback, and report it)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
