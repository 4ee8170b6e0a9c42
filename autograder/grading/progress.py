"""A one-line progress bar with an ETA, drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool | None = None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()

    def advance(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled or not self.total:
            return
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        filled = int(30 * self.done / self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                          f"ETA {int(eta // 60)}:{int(eta % 60):02d} {label[:30]:<30}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()
