"""Settled files waiting in the inbox for room, and which one to claim next.

When many files arrive at once, the order they settled in says nothing about who is
waiting for them: a one-page scan behind twenty long PDFs would wait for all of them.
The smallest file (bytes: the pages are not known before a file is claimed) goes first,
so quick documents are not stuck behind long ones; a file that has waited longer than
``OLDEST_FIRST_AFTER`` goes before any newer one, so a big file is never starved by a
steady stream of small ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Seconds after which a waiting file is taken before newer ones, whatever its size.
OLDEST_FIRST_AFTER = 120.0


@dataclass(frozen=True)
class _Waiting:
    size: int
    since: float
    order: int


class Backlog:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._files: dict[Path, _Waiting] = {}
        self._added = 0

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def add(self, path: Path, size: int | None = None) -> None:
        """A settled file; its size is read now unless given."""
        if path in self._files:
            return
        if size is None:
            try:
                size = os.stat(path, follow_symlinks=False).st_size
            except OSError:
                size = 0  # gone or unreadable: claiming it will say so
        self._added += 1
        self._files[path] = _Waiting(size, self._clock(), self._added)

    def discard(self, path: Path) -> None:
        """It changed after it settled: it has to settle again."""
        self._files.pop(path, None)

    def take(self) -> Path:
        """The next file to claim: the longest-waiting one past the limit, else the smallest
        (ties: the one that settled first)."""
        now = self._clock()
        overdue = [
            (w.order, p) for p, w in self._files.items() if now - w.since >= OLDEST_FIRST_AFTER
        ]
        if overdue:
            path = min(overdue)[1]
        else:
            path = min(self._files.items(), key=lambda item: (item[1].size, item[1].order))[0]
        del self._files[path]
        return path
