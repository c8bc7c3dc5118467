"""Models taking text and images (or audio) together."""

from __future__ import annotations

from typing import Any

OVERRIDES: dict[str, dict[str, Any]] = {}

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {}

KNOWN_FAILURES: list = []
