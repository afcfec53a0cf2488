"""When is a dropped file complete? When it has stopped changing for long enough.

Scanners write slowly, SMB clients pause, and some writers create an empty placeholder and
fill it later. A file is *settled* once its size, mtime and inode stayed the same for
``settle_seconds`` and it is not empty; the caller then checks that it opens as what it
claims to be, and may ``defer`` it to look again later.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Signature = tuple[int, int, int]  # size, mtime_ns, inode


@dataclass
class _Candidate:
    signature: Signature | None
    since: float
    not_before: float = 0.0
    #: Said once that it is an empty file left waiting (a placeholder, or a failed copy).
    reported_empty: bool = False


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino) if stat.S_ISREG(st.st_mode) else None


class StabilityTracker:
    def __init__(
        self, settle_seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settle = settle_seconds
        self._clock = clock
        self._candidates: dict[Path, _Candidate] = {}
        self._empty: list[Path] = []

    def __len__(self) -> int:
        return len(self._candidates)

    def __contains__(self, path: object) -> bool:
        return path in self._candidates

    def observe(self, path: Path) -> None:
        """Something happened to ``path`` (an event or a rescan): start or keep watching it."""
        if path not in self._candidates:
            # Record the state now, so the settle time counts from the event, not the next tick.
            self._candidates[path] = _Candidate(signature=_signature(path), since=self._clock())

    def defer(self, path: Path, seconds: float) -> None:
        """Look at ``path`` again no sooner than ``seconds`` from now (it was not ready)."""
        now = self._clock()
        self._candidates[path] = _Candidate(signature=None, since=now, not_before=now + seconds)

    def discard(self, path: Path) -> None:
        self._candidates.pop(path, None)

    def settled(self) -> list[Path]:
        """Stat every candidate; return (and stop tracking) those that have settled."""
        now = self._clock()
        ready: list[Path] = []
        for path, cand in list(self._candidates.items()):
            if now < cand.not_before:
                continue
            try:
                st = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                del self._candidates[path]  # renamed away or deleted: its new name shows up
                continue
            except OSError:
                continue  # e.g. a transient SMB error: look again next time
            if not stat.S_ISREG(st.st_mode):
                ready.append(path)  # a link, FIFO or device: the caller refuses it at once
                del self._candidates[path]
                continue
            signature = (st.st_size, st.st_mtime_ns, st.st_ino)
            if signature != cand.signature:
                cand.signature, cand.since = signature, now
                if self._settle > 0:
                    continue
            if now - cand.since < self._settle:
                continue
            if st.st_size > 0:
                ready.append(path)
                del self._candidates[path]
            elif not cand.reported_empty:
                cand.reported_empty = True
                self._empty.append(path)
        return ready

    def take_empty(self) -> list[Path]:
        """Files that have been empty for the settle time since ``settled`` last said so:
        each is named once (it is still watched, and read once it is filled)."""
        empty, self._empty = self._empty, []
        return empty
