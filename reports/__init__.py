"""Render conformance certificate records into the published support matrix.

``build_matrix`` validates records and computes summary counts,
``write_matrix`` publishes ``support-matrix.json`` and a self-contained
``support-matrix.html``; ``python -m reports render`` re-renders from disk.
"""

from reports.html import render_html
from reports.matrix import (
    SCHEMA_VERSION,
    STAGES,
    STATUSES,
    build_matrix,
    load_matrix,
    write_matrix,
)

__all__ = [
    "SCHEMA_VERSION",
    "STAGES",
    "STATUSES",
    "build_matrix",
    "load_matrix",
    "render_html",
    "write_matrix",
]
