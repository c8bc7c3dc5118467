"""Command line of the support matrix.

    python -m reports render RECORDS.jsonl|MATRIX.json --out DIR
    python -m reports merge PART.json... [--out DIR]
    python -m reports merge --onto MATRIX.json PART.json... [--out DIR]
    python -m reports diff OLD.json NEW.json [--html OUT.html] [--json]
    python -m reports coverage [MATRIX.json] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from exportkit.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_NO, EXIT_OK
from exportkit.support_matrix import shipped_matrix, version_drift
from reports.coverage import coverage, text_report as coverage_report
from reports.diff import diff_matrices, scope, text_report
from reports.html import render_html
from reports.matrix import _atomic_write, load_input, printable, write_matrix
from reports.merge import merge_onto, merge_partials


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also: EXPORTKIT_DEBUG=1)")
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__, parents=[common],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="exit status: 0 done, 1 diff found a regression, 2 bad input, "
                                            "70 internal error, 130 interrupted")
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render support-matrix.json and .html", parents=[common])
    render.add_argument("input", type=Path, help="records .jsonl (one record per line) or a matrix .json")
    render.add_argument("--out", type=Path, required=True, help="output directory (created if missing)")
    render.add_argument("--basename", default="support-matrix", help="output file stem (default: %(default)s)")
    merge = commands.add_parser(
        "merge", help="join the partial files of sharded runs into one matrix, or merge partial runs onto one",
        parents=[common],
        description="Join the partial files of sharded certifier runs (pytest conformance --shard I/N) into one "
                    "support matrix; with --onto, merge the partial files of filtered or sharded runs onto a "
                    "complete matrix: their cells replace its cells of the same cases, cases it lacks are added, "
                    "and its cells of cases no longer registered are dropped. Each cell keeps the commit that "
                    "measured it. Refuses files of different library versions, profiles, seeds or registries "
                    "(with --onto: versions, profile or seed other than the matrix's), a cell certified twice, "
                    "cells not measured by committed code, and a merge that misses a registered case.")
    merge.add_argument("parts", type=Path, nargs="+", help="partial files (conformance-artefacts/partials/*.json)")
    merge.add_argument("--onto", type=Path, metavar="MATRIX.json",
                       help="a complete matrix (e.g. reports/support-matrix.json) to merge the partial files onto")
    merge.add_argument("--out", type=Path, default=Path("reports"), help="output directory (default: %(default)s)")
    diff = commands.add_parser(
        "diff", help="what changed between two matrices; exit status 1 on a regression", parents=[common],
        description="Compare two support matrices cell by cell: regressions (certified before, not now), new "
                    "cells, fixes, changed causes (same status, another stage or reason), other status changes "
                    "and removed cells. Exit status 1 when a cell regressed or a new cell failed, crashed or timed "
                    "out; 0 otherwise.")
    diff.add_argument("old", type=Path, help="the baseline matrix (or records), e.g. the published one")
    diff.add_argument("new", type=Path, help="the matrix (or records) to compare with it")
    diff.add_argument("--json", action="store_true", help="print the comparison as JSON")
    diff.add_argument("--html", type=Path, metavar="OUT.html",
                      help="also write the new matrix's page with a 'Changes since' section")
    covered = commands.add_parser(
        "coverage", help="how many of transformers' Auto-backed (model type, task) pairs have cells, certified",
        parents=[common],
        description="Count the (model type, task) pairs that the installed transformers backs with an Auto class "
                    "of exportkit's tasks: with a cell, certified on at least one engine, per task and engine; the "
                    "ten commonest causes of cells not certified; generation certified without its -with-past.")
    covered.add_argument("matrix", type=Path, nargs="?", default=None,
                         help="matrix .json or records .jsonl (default: the published matrix)")
    covered.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def _check_out_dir(out: Path) -> None:
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--out {out} is a dangling symbolic link")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")


def _check_out_file(out: Path) -> None:
    if out.is_dir():
        raise ValueError(f"--html {out} is a directory")
    if out.is_symlink() and not out.exists():
        raise ValueError(f"--html {out} is a dangling symbolic link")


def run_diff(args) -> int:
    if args.html is not None:
        _check_out_file(args.html)
    old, new = load_input(args.old), load_input(args.new)
    diff = diff_matrices(old, new, baseline=str(args.old), current=str(args.new), only=scope(old, new))
    if args.html is not None:
        page = render_html(new, diff=diff)  # rendered before anything is written
        args.html.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(args.html, page)
        print(f"written: {args.html}", file=sys.stderr)
    _print(json.dumps(diff.to_json(), indent=2) if args.json else "\n".join(text_report(diff)))
    return EXIT_NO if diff.blocking else EXIT_OK


def run_coverage(args) -> int:
    matrix = load_input(args.matrix or shipped_matrix())
    report = coverage(matrix)
    drift = version_drift(matrix)
    _print(json.dumps(report, indent=2) if args.json else "\n".join(coverage_report(report, drift=drift)))
    return EXIT_OK


def _print(text: str) -> None:
    try:
        print(text)  # JSON in ASCII: no terminal control character gets through
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): what was decided still stands
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run(args) -> int:
    if args.command == "diff":
        return run_diff(args)
    if args.command == "coverage":
        return run_coverage(args)
    _check_out_dir(args.out)
    if args.command == "render":
        paths = write_matrix(load_input(args.input), args.out, basename=args.basename)
    elif args.onto is not None:
        merged = merge_onto(args.onto, args.parts)
        paths = write_matrix(merged.matrix, args.out)
        print(f"merged {len(args.parts)} partial files onto {args.onto}: {len(merged.replaced)} cells replaced, "
              f"{len(merged.added)} added, {len(merged.dropped)} dropped; {merged.matrix['summary']['total']} cells",
              file=sys.stderr)
        for case_id in merged.dropped:
            print(f"dropped (no longer registered): {printable(case_id)}", file=sys.stderr)
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
