"""Finding files in the inboxes: watchdog events, and full rescans as a safety net.

inotify (watchdog's default observer) is immediate but sees nothing on SMB/NFS mounts, does
not report queue overflows, and reports a temp-name-then-rename only as a ``moved``
destination; so events only *suggest* paths, a periodic ``scan`` is the ground truth, and
``polling = true`` switches a folder to watchdog's polling observer.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

#: Where claimed files wait when the state folder is on another filesystem: never scanned.
WORK_FOLDER = ".hotocr-work"


def is_ignored(name: str, patterns: tuple[str, ...]) -> bool:
    return name == WORK_FOLDER or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def scan(folder: Path, ignore: tuple[str, ...]) -> Iterator[Path]:
    """Every file below ``folder`` whose name and folders are not ignored; links not followed."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not is_ignored(d, ignore)]
        for name in files:
            if not is_ignored(name, ignore):
                yield Path(root) / name


class _Handler(FileSystemEventHandler):
    def __init__(
        self, inbox: Path, ignore: tuple[str, ...], on_path: Callable[[Path], None]
    ) -> None:
        self._inbox = inbox
        self._ignore = ignore
        self._on_path = on_path

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("deleted", "opened", "closed_no_write"):
            return
        raw = event.dest_path if event.event_type == "moved" else event.src_path
        path = Path(os.fsdecode(raw))
        rel = path.relative_to(self._inbox) if path.is_relative_to(self._inbox) else path
        if any(is_ignored(part, self._ignore) for part in rel.parts):
            return  # an ignored name, or the work folder (a claim renames into it)
        if isinstance(event, DirCreatedEvent | DirMovedEvent):
            # A folder moved in arrives with its files and no event for each of them.
            for found in scan(path, self._ignore):
                self._on_path(found)
            return
        if not event.is_directory:
            self._on_path(path)


class OverflowSignal(logging.Handler):
    """Raised when watchdog reports that the kernel's inotify queue overflowed.

    watchdog (7.x) repairs its own watches after an overflow but tells handlers nothing: the
    events it lost are gone, and only its log says so. This handler turns that log record
    into a flag the daemon reads to rescan at once.
    """

    LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self._seen = threading.Event()
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._seen.set()

    def take(self) -> bool:
        """Whether an overflow happened since the last call."""
        seen = self._seen.is_set()
        self._seen.clear()
        return seen

    def close(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)
        super().close()


class FolderWatcher:
    """Calls ``on_path`` (from a watchdog thread) for every path that may be a new file."""

    def __init__(
        self,
        inbox: Path,
        on_path: Callable[[Path], None],
        *,
        ignore: tuple[str, ...],
        polling: bool,
        poll_interval: float = 2.0,
    ) -> None:
        self._observer: BaseObserver = (
            PollingObserver(timeout=poll_interval) if polling else Observer()
        )
        self._observer.schedule(_Handler(inbox, ignore, on_path), str(inbox), recursive=True)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
