"""exportkit: export PyTorch models to ONNX from one typed registry of export configs, and certify them."""

__version__ = "0.1.0"

from .axes import Axis, TensorSpec  # noqa: E402
from .errors import ExportKitError  # noqa: E402
from .task_names import Task  # noqa: E402
from .tasks import TasksManager, make_backend_config_constructor_for_task, register  # noqa: E402
from .exporters.onnx import models as _builtin_configs  # noqa: E402,F401  (registers every built-in config)

__all__ = ["Axis", "ExportKitError", "Task", "TasksManager", "TensorSpec", "__version__",
           "make_backend_config_constructor_for_task", "register"]
