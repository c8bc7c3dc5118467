"""Exporters: a backend-agnostic config base and one subpackage per backend."""

from ..tasks import TasksManager
from .base import ExporterConfig

__all__ = ["ExporterConfig", "TasksManager"]
