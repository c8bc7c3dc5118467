"""How many cores each certifier worker computes with.

torch and ONNX Runtime each start one thread per core. Under xdist with a worker per core
that puts several busy threads on every core, and a run spends much of its time switching
between them (two workers on two cores ran 2.2 times slower than with a thread each). A
worker takes its share of the cores instead; the certifier gives ONNX Runtime as many
threads as torch.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def share_cores(workers: int) -> int:
    """Give this process its share of the cores among ``workers`` processes; the threads it keeps."""
    import torch

    threads = max(1, available_cores() // max(1, workers))
    torch.set_num_threads(threads)
    return threads
