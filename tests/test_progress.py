"""Progress bars: a non-terminal stream gets a few plain lines, never a carriage-return flood."""
from __future__ import annotations

import io

from dlcr_reid.progress import progress


def test_a_long_loop_writes_a_few_lines_to_a_log():
    log = io.StringIO()
    total = 0
    for step in progress(range(10_000), desc="steps", file=log):
        total += step
    text = log.getvalue()
    assert total == sum(range(10_000))
    assert "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 3, lines
    assert lines[-1].startswith("steps: 100%") and "10000/10000" in lines[-1]
    assert text.endswith("\n")


def test_manual_updates_and_a_bar_that_does_not_stay():
    log = io.StringIO()
    with progress(total=10_000, desc="images", file=log, leave=False) as bar:
        for _ in range(10_000):
            bar.update(1)
    assert "\r" not in log.getvalue()
    assert len(log.getvalue().splitlines()) <= 2


def test_lines_come_at_the_interval(monkeypatch):
    monkeypatch.setenv("DLCR_PROGRESS_INTERVAL", "0.0001")
    log = io.StringIO()
    for _ in progress(range(50), desc="slow", file=log):
        sum(range(20_000))  # each step outlasts the interval
    lines = log.getvalue().splitlines()
    assert len(lines) > 10 and "\r" not in log.getvalue()


def test_interval_zero_turns_bars_off(monkeypatch):
    monkeypatch.setenv("DLCR_PROGRESS_INTERVAL", "0")
    log = io.StringIO()
    assert list(progress(range(100), file=log)) == list(range(100))
    assert log.getvalue() == ""
