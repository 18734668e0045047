"""Progress bars that do not flood logs: a live tqdm bar on a terminal, a plain line now and then elsewhere.

Every loop that shows progress calls ``progress(...)`` (same arguments as ``tqdm``). When the bar's
stream (``file=``, default stderr) is a terminal it is plain tqdm. When it is not (a DVC stage, a
Dagster run, ``make demo > log``, CI) tqdm's carriage-return redraws would pile up as thousands of
updates in one log line, so the bar prints one ordinary line (``desc: 40%| 4000/10000 [..., 812it/s]``)
at most every ``LOG_INTERVAL`` seconds, plus the final one. Lines rather than silence: a job that
runs for hours in a batch log still shows that it moves and how fast. ``DLCR_PROGRESS_INTERVAL``
(seconds) changes the interval; ``0`` turns the bars off where there is no terminal.
"""
from __future__ import annotations

import os
import sys

from tqdm import tqdm

LOG_INTERVAL = 30.0  # seconds between lines in a non-interactive log


def _interval() -> float:
    text = os.environ.get("DLCR_PROGRESS_INTERVAL", "")
    try:
        return float(text) if text else LOG_INTERVAL
    except ValueError:
        raise ValueError(f"DLCR_PROGRESS_INTERVAL={text!r}: expected a number of seconds (0 turns bars off)") from None


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LineBar(tqdm):
    """tqdm that writes each update as its own line (no carriage returns), for log files."""

    def __init__(self, *args, **kwargs):
        self._printed = False
        super().__init__(*args, **kwargs)

    def display(self, msg=None, pos=None):
        if msg == "":  # tqdm clearing a leave=False bar: nothing to clear in a log
            return False
        text = (self.__str__() if msg is None else msg).strip()
        # newline before each line but the first: tqdm's close() writes the final newline itself
        self.fp.write(("\n" if self._printed else "") + text)
        self.fp.flush()
        self._printed = True
        return True

    def close(self):
        leave = self.leave if self.leave is not None else self.pos == 0
        closing = not self.disable
        super().close()
        if closing and not leave and self._printed:
            self.fp.write("\n")  # end the last periodic line (a leave=False bar prints no final one)
            self.fp.flush()


def progress(iterable=None, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)`` on a terminal; a line every ``LOG_INTERVAL`` s (or nothing) in a log."""
    stream = kwargs.get("file") or sys.stderr
    if _is_terminal(stream):
        return tqdm(iterable, **kwargs)
    interval = _interval()
    if interval <= 0:
        kwargs["disable"] = True
        return tqdm(iterable, **kwargs)
    # maxinterval too: tqdm's monitor thread would otherwise force a redraw every 10 s
    kwargs.update(mininterval=interval, maxinterval=interval, dynamic_ncols=False)
    kwargs.setdefault("ncols", 100)
    kwargs.setdefault("ascii", True)  # log viewers mangle the block characters less often than ASCII
    return LineBar(iterable, **kwargs)


__all__ = ["LOG_INTERVAL", "LineBar", "progress"]
