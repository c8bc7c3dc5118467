"""Live progress of a certifier run: the estimate, the throttling, and how it is shown (clock injected)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from conformance import progress as progress_module
from conformance.progress import (LogLines, Progress, ProgressReporter, StatusLine, Throttle, format_seconds,
                                  log_cells)


class Clock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_time_left_scales_the_elapsed_time_by_the_cost_still_to_run():
    clock = Clock()
    progress = Progress({"a": 10, "b": 10, "c": 20, "d": 60}, expected="abcd", clock=clock)
    progress.start()
    assert progress.seconds_left() is None  # nothing finished: nothing to go by
    clock.now += 40  # two workers ran a and b: 20 s of recorded cost in 40 s of wall time
    progress.done("a", "certified")
    progress.done("b", "failed")
    assert progress.seconds_left() == pytest.approx(40 * 80 / 20)
    progress.done("c", "certified")
    progress.done("d", "certified")
    assert progress.seconds_left() == 0.0


def test_without_recorded_costs_every_cell_weighs_the_same():
    clock = Clock()
    progress = Progress(expected="abcd", clock=clock)
    progress.start()
    clock.now += 30
    progress.done("a", "certified")
    assert progress.seconds_left() == pytest.approx(90)


def test_a_case_without_a_recorded_cost_weighs_their_mean():
    clock = Clock()
    progress = Progress({"a": 10, "b": 30}, expected="abc", clock=clock)
    progress.start()
    clock.now += 10
    progress.done("a", "certified")
    assert progress.seconds_left() == pytest.approx(10 * (30 + 20) / 10)


def test_the_line_counts_by_status_and_says_the_time():
    clock = Clock()
    progress = Progress(expected=[f"c{i}" for i in range(8)], clock=clock)
    assert progress.line() == "certifier: 0/8 cells (0%); 0s elapsed"
    progress.start()
    clock.now += 125
    for case_id, status in zip(["c0", "c1", "c2", "c3", "c0"], ["xfail", "certified", "timeout", "certified",
                                                                    "certified"]):
        progress.done(case_id, status)  # c0 again: a cell counts once, by its last record
    assert progress.line() == "certifier: 4/8 cells (50%): 3 certified, 1 timeout; 2m05s elapsed, about 2m05s left"
    for case_id in ["c4", "c5", "c6", "c7"]:
        progress.done(case_id, "failed")
    assert progress.line() == "certifier: 8/8 cells (100%): 3 certified, 4 failed, 1 timeout; done in 2m05s"


def test_seconds_read_short():
    assert [format_seconds(s) for s in (0, 59.4, 60, 3599, 3600, 7322)] == ["0s", "59s", "1m00s", "59m59s",
                                                                            "1h00m", "2h02m"]


def test_a_log_line_waits_for_n_cells_or_30_seconds_and_never_repeats_itself():
    clock = Clock()
    throttle = Throttle(seconds=30, cells=10, clock=clock)
    assert [throttle.due(done) for done in range(1, 10)] == [False] * 9
    assert throttle.due(10)  # ten cells since the last line
    clock.now += 29
    assert not throttle.due(11)
    clock.now += 1
    assert throttle.due(11)  # 30 s since the last line, and a cell finished
    clock.now += 300
    assert not throttle.due(11)  # nothing new to say, however long it has been
    assert throttle.due(12, final=True) and not throttle.due(12, final=True)


def test_a_status_line_is_redrawn_at_most_every_few_seconds():
    clock = Clock()
    throttle = Throttle(seconds=2, clock=clock)
    assert not any(throttle.due(done) for done in range(50))  # fifty cells in no time: no redraw
    clock.now += 2
    assert throttle.due(50) and not throttle.due(51)
    clock.now += 2
    assert throttle.due(51)  # the elapsed time moved: redrawn even without a new cell


def test_log_lines_come_every_tenth_of_the_run_at_least_ten_cells():
    assert log_cells(4) == 10 and log_cells(174) == 18 and log_cells(10_000) == 1000


# ---- showing it ---------------------------------------------------------------------------------------

def size(columns: int, lines: int) -> os.terminal_size:
    return os.terminal_size((columns, lines))


def test_the_status_line_keeps_the_bottom_row_out_of_the_scrolling_region():
    written, current = [], [size(40, 24)]
    line = StatusLine(written.append, lambda: current[0])
    line.show("certifier: 1/2 cells")
    # scroll a row free if the cursor is on the last one, then rows 1..23 scroll; cursor kept
    assert written == ["\x1bD\x1bM\x1b7\x1b[1;23r\x1b8", "\x1b7\x1b[24;1H\x1b[2Kcertifier: 1/2 cells\x1b8"]
    written.clear()
    line.show("x" * 100)
    assert written == ["\x1b7\x1b[24;1H\x1b[2K" + "x" * 39 + "\x1b8"]  # one row, never wrapped
    written.clear()
    current[0] = size(40, 30)  # resized: the region follows
    line.show("y")
    assert written[0] == "\x1bD\x1bM\x1b7\x1b[1;29r\x1b8"
    written.clear()
    line.close()
    assert written == ["\x1b7\x1b[30;1H\x1b[2K\x1b[r\x1b8"]  # the row cleared, the whole terminal scrolls again
    line.close()
    assert written == ["\x1b7\x1b[30;1H\x1b[2K\x1b[r\x1b8"]  # once


def test_a_terminal_too_small_gets_no_status_line():
    written = []
    StatusLine(written.append, lambda: size(80, 3)).show("certifier")
    assert written == []


class FakeWriter:
    def __init__(self):
        self.width_of_current_line = 0


class FakeTerminal:
    def __init__(self, tty: bool = False):
        self._tw = FakeWriter()
        self.tty = tty
        self.out = ""

    def isatty(self):
        return self.tty

    def write(self, text, flush=False):
        self.out += text
        self._tw.width_of_current_line = len(text.rsplit("\n", 1)[-1])

    def write_raw(self, text, flush=False):
        self.out += text

    def flush(self):
        pass


def test_log_lines_end_a_run_of_dots_first():
    terminal = FakeTerminal()
    lines = LogLines(terminal)
    lines.show("certifier: 1/2 cells")
    terminal.write("..")
    lines.show("certifier: 2/2 cells")
    assert terminal.out == "certifier: 1/2 cells\n..\ncertifier: 2/2 cells\n"


def drive(reporter: ProgressReporter, progress: Progress, clock: Clock, events) -> None:
    """Run the reporter's runtestloop wrapper around ``events`` (seconds later, case id, status)."""
    loop = reporter.pytest_runtestloop(session=None)
    next(loop)
    for seconds, case_id, status in events:
        clock.now += seconds
        progress.done(case_id, status)
        reporter.pytest_runtest_logreport(report=None)
    with pytest.raises(StopIteration):
        loop.send(True)


def reporter_for(terminal: FakeTerminal, ids: list[str]) -> tuple[ProgressReporter, Progress, Clock]:
    clock = Clock()
    progress = Progress(expected=ids, clock=clock)
    config = SimpleNamespace(pluginmanager=SimpleNamespace(getplugin=lambda name: terminal))
    return ProgressReporter(config, progress, clock=clock), progress, clock


def test_in_a_log_a_run_prints_a_line_per_ten_cells_and_one_at_the_end():
    terminal = FakeTerminal()
    ids = [f"c{i:02d}" for i in range(25)]
    reporter, progress, clock = reporter_for(terminal, ids)
    drive(reporter, progress, clock, [(1, case_id, "certified") for case_id in ids])
    lines = terminal.out.splitlines()
    assert [line.split(" cells")[0] for line in lines] == ["certifier: 10/25", "certifier: 20/25",
                                                          "certifier: 25/25"]
    assert lines[-1] == "certifier: 25/25 cells (100%): 25 certified; done in 25s"


def test_on_a_terminal_the_status_line_is_drawn_then_given_back(monkeypatch):
    monkeypatch.setattr(progress_module.shutil, "get_terminal_size", lambda: size(80, 24))
    monkeypatch.setenv("TERM", "xterm")
    terminal = FakeTerminal(tty=True)
    reporter, progress, clock = reporter_for(terminal, ["a", "b", "c"])
    drive(reporter, progress, clock, [(0.5, "a", "certified"), (3, "b", "failed"), (0.5, "c", "certified")])
    draws = terminal.out.count("\x1b[24;1H\x1b[2Kcertifier")
    assert draws == 2  # at the start, and after b (2 s after it); not after a or c, too soon
    assert "certifier: 2/3 cells (66%): 1 certified, 1 failed" in terminal.out
    assert terminal.out.endswith("\x1b7\x1b[24;1H\x1b[2K\x1b[r\x1b8")  # nothing left behind
    assert "\n" not in terminal.out  # pytest's lines and columns are untouched


def test_a_dumb_terminal_gets_log_lines(monkeypatch):
    monkeypatch.setattr(progress_module.shutil, "get_terminal_size", lambda: size(80, 24))
    monkeypatch.setenv("TERM", "dumb")
    terminal = FakeTerminal(tty=True)
    reporter, progress, clock = reporter_for(terminal, ["a"])
    drive(reporter, progress, clock, [(1, "a", "certified")])
    assert terminal.out == "certifier: 1/1 cells (100%): 1 certified; done in 1s\n"
