"""Command line of the support matrix.

    python -m reports render RECORDS.jsonl|MATRIX.json --out DIR
    python -m reports merge PART.json... [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reports.matrix import build_matrix, expand, write_matrix
from reports.merge import MergeError, merge_partials


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
    if path.suffix in (".jsonl", ".ndjson"):
        return _matrix_from_records(_read_records_jsonl(path))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if isinstance(doc, list):
        return _matrix_from_records(doc)
    if isinstance(doc, dict) and isinstance(doc.get("rows"), list):
        doc = expand(doc)  # a stored (compact) matrix
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render support-matrix.json and .html")
    render.add_argument("input", type=Path, help="records .jsonl (one record per line) or a matrix .json")
    render.add_argument("--out", type=Path, required=True, help="output directory (created if missing)")
    render.add_argument("--basename", default="support-matrix", help="output file stem (default: %(default)s)")
    merge = commands.add_parser(
        "merge", help="join the partial files of sharded runs into one matrix",
        description="Join the partial files of sharded certifier runs (pytest conformance --shard I/N) into one "
                    "support matrix. Refuses files of different library versions, profiles, seeds or registries, "
                    "a cell certified twice, and a merge that misses a registered case.")
    merge.add_argument("parts", type=Path, nargs="+", help="partial files (conformance-artefacts/partials/*.json)")
    merge.add_argument("--out", type=Path, default=Path("reports"), help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)

    inputs = [args.input] if args.command == "render" else args.parts
    for path in inputs:
        if not path.is_file():
            parser.error(f"input file not found: {path}")
    try:
        if args.command == "render":
            paths = write_matrix(load_input(args.input), args.out, basename=args.basename)
        else:
            matrix = merge_partials(args.parts)
            paths = write_matrix(matrix, args.out)
            print(f"merged {len(args.parts)} partial files: {matrix['summary']['total']} cells", file=sys.stderr)
    except (ValueError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
