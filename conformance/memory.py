"""Memory of one certification: its peak resident memory, and a budget that fails it cleanly.

:class:`MemoryWatch` samples the process's resident memory from a thread while a cell runs
(ONNX Runtime and torch release the GIL, so the sampler sees their peaks). The budget is on
resident growth: a cell whose resident memory grew past it fails at stage ``memory``.
Allocations are capped too (``RLIMIT_DATA``), at a multiple of the budget: that cap counts
address space reserved but never touched (allocator arenas, thread stacks), so it only
stops a runaway allocation with an error the certifier records, where an unbounded one
would have the kernel kill the worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import threading

try:
    import resource
except ImportError:  # not on every platform: measure only
    resource = None

DEFAULT_MEMORY_BUDGET = 4 * 2**30  # resident bytes a cell may add to what its process held before it
# The allocation cap over the budget: ONNX Runtime's thread pools and glibc's per-thread arenas
# reserve gigabytes of address space they never touch.
RESERVATION_FACTOR = 4
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return None


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system.

    Without it a worker's resident memory creeps up from case to case (glibc keeps freed
    memory of large tensors), so one case's figures would include its predecessors'.
    What survives a collection between cases is the process's own (modules, registries,
    caches): it is frozen out of later collections, which then only walk a case's own objects
    (a full collection over the imported libraries takes a quarter of a second).
    """
    gc.collect()
    gc.freeze()
    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


class MemoryWatch:
    """``with MemoryWatch(budget) as watch: ...`` then ``watch.peak_bytes`` / ``watch.growth_bytes``."""

    def __init__(self, budget_bytes: int | None = DEFAULT_MEMORY_BUDGET, interval_s: float = 0.01):
        if budget_bytes is not None and budget_bytes <= 0:
            raise ValueError(f"the memory budget must be positive, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self.interval_s = interval_s
        self.start_bytes: int | None = None
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved_limit = None

    @property
    def growth_bytes(self) -> int | None:
        if self.peak_bytes is None or self.start_bytes is None:
            return None
        return max(0, self.peak_bytes - self.start_bytes)

    @property
    def over_budget(self) -> bool:
        """Resident memory grew past the budget (as sampled so far)."""
        growth = self.growth_bytes
        return self.budget_bytes is not None and growth is not None and growth > self.budget_bytes

    def _sample(self) -> None:
        now = resident_bytes()
        if now is not None:
            self.peak_bytes = now if self.peak_bytes is None else max(self.peak_bytes, now)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> MemoryWatch:
        self.start_bytes = resident_bytes()
        self._sample()
        self._limit()
        self._thread = threading.Thread(target=self._run, name="exportkit-memory-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> bool:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self._unlimit()
        return False

    def _limit(self) -> None:
        data = _status_bytes("VmData")
        if self.budget_bytes is None or resource is None or data is None:
            return
        with contextlib.suppress(ValueError, OSError):
            soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
            wanted = data + RESERVATION_FACTOR * self.budget_bytes
            if hard != resource.RLIM_INFINITY:
                wanted = min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
            self._saved_limit = (soft, hard)

    def _unlimit(self) -> None:
        if self._saved_limit is not None:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_DATA, self._saved_limit)
            self._saved_limit = None
