"""Scanner batches: a sub-folder of the inbox whose files are one document.

Many scanners write one file per page (``scan_0001.jpg``, ``scan_0002.jpg``, ...) into a new
folder per batch, and nothing says when a batch is over. A folder is taken once nothing in
it has changed for ``quiet_seconds`` (ABBYY's "create the next job after N seconds"): no file
added, renamed, grown or touched, temporary files included. The caller then claims the whole
folder with one rename, so a file that arrives later lands in a new folder of the same name:
a batch of its own, never lost and never half in one batch.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hotocr.watching import is_ignored

#: A folder is looked at (its files listed and stat'ed) at most this often.
LOOK_SECONDS = 1.0

Signature = tuple[tuple[str, int, int, int], ...]  # (relative name, size, mtime_ns, inode)


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """``page2`` before ``page10``: digit runs compare as numbers, the rest ignoring case."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in re.split(r"(\d+)", name)
        if part
    )


def batch_folder(inbox: Path, path: Path) -> Path | None:
    """The direct sub-folder of ``inbox`` that ``path`` lies in (None: directly in it)."""
    try:
        rel = path.relative_to(inbox)
    except ValueError:
        return None
    return inbox / rel.parts[0] if len(rel.parts) > 1 else None


def batch_files(folder: Path, ignore: tuple[str, ...]) -> list[Path]:
    """The files of a batch in page order: natural name order of their paths below it
    (files in sub-folders too), ignored names and links left out."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not is_ignored(d, ignore)]
        for name in files:
            path = Path(root) / name
            if not is_ignored(name, ignore) and not path.is_symlink():
                found.append(path)
    return sorted(found, key=lambda p: [natural_key(part) for part in p.relative_to(folder).parts])


def _file_stats(folder: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every file below ``folder`` (ignored names too) with its ``lstat``; one that vanishes
    meanwhile is left out."""
    for root, _, files in os.walk(folder, followlinks=False):
        for name in files:
            path = Path(root) / name
            try:
                st = path.lstat()
            except OSError:
                continue
            yield path, st


def signature(folder: Path) -> Signature | None:
    """Every entry below ``folder``, ignored ones too: a scanner's temporary file still being
    written keeps the batch open. None when the folder is gone."""
    if not folder.is_dir():
        return None
    return tuple(
        sorted(
            (os.fsdecode(path.relative_to(folder)), st.st_size, st.st_mtime_ns, st.st_ino)
            for path, st in _file_stats(folder)
        )
    )


def total_bytes(folder: Path) -> int:
    """The batch's size for the backlog's order (0 when it is gone: claiming says so)."""
    return sum(entry[1] for entry in signature(folder) or ())


def waiting_in(
    inbox: Path, quiet_seconds: float, now: float, ignore: tuple[str, ...]
) -> list[Waiting]:
    """The batch folders of ``inbox`` as a reader beside the daemon sees them (``hotocr
    status``): quiet from the last change of any file in them (mtime or ctime, so a rename
    counts)."""
    found = []
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir() and not p.is_symlink()):
        if is_ignored(folder.name, ignore):
            continue
        changes = [max(st.st_mtime, st.st_ctime) for _, st in _file_stats(folder)]
        if changes:
            quiet_in = max(0.0, quiet_seconds - (now - max(changes)))
            found.append(Waiting(folder, len(changes), quiet_in))
    return found


@dataclass
class _Folder:
    signature: Signature | None
    since: float
    looked: float


@dataclass(frozen=True)
class Waiting:
    """A batch folder that is not quiet yet (for ``hotocr status`` and the metrics)."""

    folder: Path
    files: int
    quiet_in: float


class BatchTracker:
    """Batch folders seen in an inbox, and which of them have been quiet long enough."""

    def __init__(
        self, quiet_seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._quiet = quiet_seconds
        self._clock = clock
        self._folders: dict[Path, _Folder] = {}

    def __len__(self) -> int:
        return len(self._folders)

    def __contains__(self, folder: object) -> bool:
        return folder in self._folders

    def observe(self, folder: Path) -> None:
        """Something happened in ``folder`` (an event or a rescan): watch it, and look again
        at the next ``quiet`` (an event means the folder changed)."""
        now = self._clock()
        known = self._folders.get(folder)
        if known is None:
            self._folders[folder] = _Folder(signature(folder), now, now)
        else:
            known.looked = -LOOK_SECONDS

    def discard(self, folder: Path) -> None:
        self._folders.pop(folder, None)

    def quiet(self) -> list[Path]:
        """The folders unchanged for ``quiet_seconds`` that hold at least one file; they are
        no longer tracked (the caller claims them, or observes them again)."""
        now = self._clock()
        ready = []
        for folder, state in list(self._folders.items()):
            if now - state.looked < LOOK_SECONDS:
                continue
            state.looked = now
            current = signature(folder)
            if current is None:
                del self._folders[folder]  # renamed away or deleted: its new name shows up
                continue
            if current != state.signature:
                state.signature, state.since = current, now
                continue
            if current and now - state.since >= self._quiet:
                ready.append(folder)
                del self._folders[folder]
        return ready

    def waiting(self) -> list[Waiting]:
        now = self._clock()
        return [
            Waiting(folder, len(state.signature or ()), max(0.0, self._quiet - (now - state.since)))
            for folder, state in sorted(self._folders.items())
            if state.signature
        ]


__all__ = [
    "BatchTracker",
    "Waiting",
    "batch_files",
    "batch_folder",
    "natural_key",
    "signature",
    "total_bytes",
    "waiting_in",
]
