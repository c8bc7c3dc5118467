"""Render conformance certificate records into the published support matrix.

``build_matrix`` validates records and computes summary counts,
``write_matrix`` publishes ``support-matrix.json`` and a self-contained
``support-matrix.html``; ``merge_partials`` joins the partial files of sharded
runs, ``merge_onto`` merges partial runs onto a complete matrix; ``diff_matrices``
compares two matrices cell by cell; ``python -m reports render``, ``merge`` and
``diff`` do these from disk.
"""

from reports.diff import MatrixDiff, diff_matrices
from reports.html import render_html
from reports.matrix import (
    SCHEMA_VERSION,
    STAGES,
    STATUSES,
    build_matrix,
    compact,
    expand,
    load_matrix,
    write_matrix,
)
from reports.merge import MergeError, merge_onto, merge_partials

__all__ = [
    "SCHEMA_VERSION",
    "STAGES",
    "STATUSES",
    "build_matrix",
    "compact",
    "diff_matrices",
    "expand",
    "MatrixDiff",
    "MergeError",
    "load_matrix",
    "merge_onto",
    "merge_partials",
    "render_html",
    "write_matrix",
]
