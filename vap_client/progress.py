"""A one-line progress bar on stderr, redrawn in place on a terminal. Elsewhere (a log
file, CI) it writes a line every few seconds and when it finishes, so logs stay readable
and still show that something moves. No dependency."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30
_LOG_EVERY_SECONDS = 10.0  # off a terminal: how often a bar in progress writes a line


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class Bar:
    def __init__(self, label: str, total: float = 100.0, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1e-9)
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.done = 0.0
        self.note = ""
        self.started = time.monotonic()
        self._last_draw = time.monotonic()
        self.closed = False

    def update(self, done: float, note: str = "") -> None:
        self.done = min(max(done, 0.0), self.total)
        self.note = note or self.note
        now = time.monotonic()
        if self.live and (now - self._last_draw > 0.1 or self.done >= self.total):
            self._last_draw = now
            self.stream.write("\r" + self._line() + "\x1b[K")
            self.stream.flush()
        elif (
            not self.live and now - self._last_draw > _LOG_EVERY_SECONDS and self.done < self.total
        ):
            self._last_draw = now
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def close(self, note: str = "") -> None:
        """Finish the bar's line (drawn full only when it got there)."""
        if self.closed:
            return
        self.closed = True
        self.note = note or self.note
        self.stream.write(
            ("\r" if self.live else "") + self._line() + ("\x1b[K" if self.live else "") + "\n"
        )
        self.stream.flush()

    def _line(self) -> str:
        frac = self.done / self.total
        filled = int(round(frac * _WIDTH))
        elapsed = time.monotonic() - self.started
        bar = "#" * filled + "-" * (_WIDTH - filled)
        note = f"  {self.note}" if self.note else ""
        return f"{self.label} [{bar}] {frac * 100:5.1f}%  {elapsed:5.1f}s{note}"
