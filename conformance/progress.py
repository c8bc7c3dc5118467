"""Live progress of a certifier run: cells done of the total, counts by status, time left.

:class:`Progress` counts what finished and estimates the time left; :class:`Throttle` says
when the next report is due. Both take a clock, so they are pure. The controller shows the
line one of two ways (:class:`ProgressReporter`): on a terminal, :class:`StatusLine` keeps it
on the bottom row, redrawn at most every few seconds, while pytest's and xdist's output
scrolls above it untouched; elsewhere (a CI log), :class:`LogLines` prints it as a plain line
of its own every tenth of the cells (at least ten) or every 30 s, whichever comes first.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

import pytest

from reports.matrix import STATUSES  # the order of the counts on the line, as on the page

TERMINAL_SECONDS = 2.0
LOG_SECONDS = 30.0


def format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """What finished, of the cells expected. ``costs`` (seconds each case took when the
    published matrix was made) weight the estimate; a case without one weighs their mean."""

    def __init__(self, costs: Mapping[str, float] | Callable[[], Mapping[str, float]] | None = None, *,
                 expected: Iterable[str] = (), clock: Callable[[], float] = time.monotonic):
        # a callable is asked once cases are expected: a pytest run that collects none never reads the registry
        self._cost_source = costs if callable(costs) else None
        self.costs = {} if callable(costs) else self._positive(costs or {})
        self.clock = clock
        self.expected: list[str] = list(dict.fromkeys(expected))
        self.statuses: dict[str, str] = {}
        self.started: float | None = None

    def start(self) -> None:
        if self.started is None:
            self.started = self.clock()

    @staticmethod
    def _positive(costs: Mapping[str, float]) -> dict[str, float]:
        return {case_id: float(seconds) for case_id, seconds in costs.items() if seconds > 0}

    def expect(self, case_ids: Iterable[str]) -> None:
        """The cases collected (a ``-k`` deselection makes them fewer than the selection's)."""
        self.expected = list(dict.fromkeys(case_ids))
        if self.expected and self._cost_source is not None:
            self.costs, self._cost_source = self._positive(self._cost_source()), None

    def done(self, case_id: str, status: str) -> None:
        self.statuses[case_id] = status  # a cell recorded again (a teardown report) counts once
        self.start()

    @property
    def total(self) -> int:
        return len(set(self.expected) | set(self.statuses))

    @property
    def finished(self) -> int:
        return len(self.statuses)

    def elapsed(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started

    def seconds_left(self) -> float | None:
        """Elapsed time scaled by the cost still to run over the cost already run; None before
        the first cell finished. The elapsed time is wall time, so parallel workers count."""
        if not self.statuses:
            return None
        pending = [case_id for case_id in self.expected if case_id not in self.statuses]
        if not pending:
            return 0.0
        default = statistics.mean(self.costs.values()) if self.costs else 1.0
        done_cost = sum(self.costs.get(case_id, default) for case_id in self.statuses)
        pending_cost = sum(self.costs.get(case_id, default) for case_id in pending)
        return self.elapsed() * pending_cost / done_cost

    def counts(self) -> dict[str, int]:
        tally = Counter(self.statuses.values())
        return {status: tally[status] for status in STATUSES if tally[status]}

    def line(self) -> str:
        total, finished = self.total, self.finished
        text = f"certifier: {finished}/{total} cells"
        if total:
            text += f" ({math.floor(100 * finished / total)}%)"
        counts = ", ".join(f"{n} {status}" for status, n in self.counts().items())
        if counts:
            text += f": {counts}"
        left = self.seconds_left()
        if finished and finished >= total:
            return f"{text}; done in {format_seconds(self.elapsed())}"
        text += f"; {format_seconds(self.elapsed())} elapsed"
        return text if left is None else f"{text}, about {format_seconds(left)} left"


class Throttle:
    """Whether the next report is due. With ``cells`` (a log): when a cell finished since the
    last report and either ``cells`` cells did or ``seconds`` passed, and once at the end.
    Without (a terminal's status line, which shows the elapsed time too): ``seconds`` after the
    last report. A True answer counts as a report made."""

    def __init__(self, *, seconds: float, cells: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.cells = cells
        self.clock = clock
        self.last_time = clock()
        self.last_done = 0

    def due(self, done: int, *, final: bool = False) -> bool:
        now = self.clock()
        if self.cells is None:
            ready = final or now - self.last_time >= self.seconds
        else:
            ready = done > self.last_done and (
                final or now - self.last_time >= self.seconds or done - self.last_done >= self.cells)
        if ready:
            self.last_time, self.last_done = now, done
        return ready


def log_cells(total: int) -> int:
    """How many cells a log line waits for: a tenth of the run, at least ten."""
    return max(10, math.ceil(total / 10))


# ---- showing it ------------------------------------------------------------------------------------

SAVE, RESTORE = "\x1b7", "\x1b8"
DOWN_UP = "\x1bD\x1bM"  # index then reverse index: scrolls when on the last row, keeps the column
CLEAR_LINE = "\x1b[2K"
RESET_REGION = "\x1b[r"


class StatusLine:
    """The bottom row of a terminal, kept out of the scrolling region (as apt's progress bar
    is): everything pytest and xdist print scrolls in the rows above, so no line of theirs is
    cut or overwritten. Written raw (around the terminal writer's column bookkeeping), with
    the cursor saved and restored each time."""

    def __init__(self, write: Callable[[str], None], size: Callable[[], os.terminal_size] | None = None):
        self.write = write
        self.size = size or shutil.get_terminal_size
        self.rows: int | None = None  # the terminal's height when the region was set; None: not set

    @staticmethod
    def fits(size: os.terminal_size) -> bool:
        return size.lines >= 4 and size.columns >= 20

    def show(self, text: str) -> None:
        size = self.size()
        if not self.fits(size):
            self.close()
            return
        if size.lines != self.rows:  # first draw, or the terminal was resized
            self.write(f"{DOWN_UP}{SAVE}\x1b[1;{size.lines - 1}r{RESTORE}")
            self.rows = size.lines
        self.write(f"{SAVE}\x1b[{size.lines};1H{CLEAR_LINE}{text[:size.columns - 1]}{RESTORE}")

    def close(self) -> None:
        """Clear the row and give the whole terminal back to scrolling."""
        if self.rows is not None:
            self.write(f"{SAVE}\x1b[{self.rows};1H{CLEAR_LINE}{RESET_REGION}{RESTORE}")
            self.rows = None


class LogLines:
    """Plain lines, each its own (a run of dots is ended first, as pytest ends its own)."""

    def __init__(self, terminalreporter):
        self.tr = terminalreporter

    def show(self, text: str) -> None:
        # The terminal writer's column is not public; assume mid-line when it cannot be read.
        column = getattr(getattr(self.tr, "_tw", None), "width_of_current_line", 1)
        self.tr.write(("\n" if column else "") + text + "\n", flush=True)

    def close(self) -> None:
        pass


def on_terminal(terminalreporter) -> bool:
    return (bool(terminalreporter.isatty()) and os.environ.get("TERM") != "dumb"
            and StatusLine.fits(shutil.get_terminal_size()))


class ProgressReporter:
    """The controller's plugin that shows :class:`Progress` (which the certificate collector
    feeds) while the cases run; gone by the time the terminal summary is written."""

    def __init__(self, config, progress: Progress, *, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.progress = progress
        self.clock = clock
        self.display: StatusLine | LogLines | None = None
        self.live = False  # a status line redrawn in place, rather than lines of a log
        self.throttle: Throttle | None = None

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: the last line comes after pytest's [100%]
    def pytest_runtestloop(self, session):
        self.open(self.config.pluginmanager.getplugin("terminalreporter"))
        try:
            return (yield)
        finally:
            if self.display is not None and not self.live and self.throttle.due(self.progress.finished, final=True):
                self.display.show(self.progress.line())
            self.close()

    def open(self, tr) -> None:
        if tr is None:  # -p no:terminal
            return
        self.progress.start()
        self.live = on_terminal(tr)
        if self.live:
            self.display = StatusLine(lambda text: (tr.write_raw(text), tr.flush()))
            self.throttle = Throttle(seconds=TERMINAL_SECONDS, clock=self.clock)
            self.display.show(self.progress.line())
        else:
            self.display = LogLines(tr)
            self.throttle = Throttle(seconds=LOG_SECONDS, cells=log_cells(self.progress.total), clock=self.clock)

    @pytest.hookimpl(trylast=True)  # after the collector recorded the cell and pytest wrote its letter
    def pytest_runtest_logreport(self, report):
        self.refresh()

    def pytest_runtest_logstart(self, nodeid, location):
        if self.live:  # keeps the elapsed time moving between results
            self.refresh()

    def refresh(self) -> None:
        if self.display is None:
            return
        if not self.live:
            self.throttle.cells = log_cells(self.progress.total)  # the total is known once collected
        if self.throttle.due(self.progress.finished):
            self.display.show(self.progress.line())

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
            self.display = None

    def pytest_unconfigure(self, config):
        self.close()  # never leave a terminal with a scrolling region, whatever ended the run
