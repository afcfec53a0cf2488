"""The daemon: watch the inboxes, hand settled files to the scheduler, publish the results.

One thread (this loop) owns all decisions and all publishing; watchdog threads only put
paths on a queue. A file stays in its inbox until its sidecars are written, so a crash or a
stop at any moment leaves it there to be processed again at the next start.
"""

from __future__ import annotations

import functools
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from hotocr import pages, sidecars
from hotocr._exec import tesseract
from hotocr.config import Config, WatchConfig
from hotocr.errors import HotocrError, InputError, NotReady
from hotocr.logs import get_logger
from hotocr.scheduler import DocumentJob, Finished, PageScheduler
from hotocr.stability import StabilityTracker
from hotocr.watching import FolderWatcher, scan
from hotocr.worker import PageSettings

#: How long the loop waits for pages before looking at the inboxes again.
TICK_SECONDS = 0.2
#: A settled file that still fails its completeness check is looked at again after this, and
#: given up as truncated after ``incomplete_seconds`` (zero-byte placeholders never are).
NOT_READY_RETRY_SECONDS = 5.0


@dataclass
class _Folder:
    index: int
    config: WatchConfig
    settings: PageSettings
    tracker: StabilityTracker
    #: First time each not-ready file was found incomplete.
    incomplete_since: dict[Path, float] = field(default_factory=dict)


class Service:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._log = get_logger()
        self._events: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._busy: set[Path] = set()
        self._folders = [
            _Folder(i, w, PageSettings.from_watch(w), StabilityTracker(w.stable_seconds))
            for i, w in enumerate(config.watches)
        ]
        self._watchers: list[FolderWatcher] = []

    def _on_path(self, index: int, path: Path) -> None:
        """Called from watchdog threads: only hand the path over to the loop."""
        self._events.put((index, path))

    def stop(self, *_: Any) -> None:
        self._stop.set()

    def run(self) -> int:
        self._prepare_folders()
        workers = self._config.effective_workers()
        scheduler = PageScheduler(workers)
        for kind, device in sorted(
            {(f.settings.backend, f.settings.device) for f in self._folders}
        ):
            name, why = scheduler.describe_backend(kind, device)
            self._log.info("preprocess.backend", configured=kind, backend=name, why=why)
        self._install_signals()
        for folder in self._folders:
            watcher = FolderWatcher(
                folder.config.inbox,
                functools.partial(self._on_path, folder.index),
                ignore=folder.config.ignore,
                polling=folder.config.polling,
            )
            watcher.start()
            self._watchers.append(watcher)
        self._rescan()  # after the watchers start, so nothing falls between the two
        self._log.info(
            "daemon.started",
            workers=workers,
            tesseract=tesseract.version(),
            inboxes=[str(f.config.inbox) for f in self._folders],
        )
        last_rescan = time.monotonic()
        try:
            while not self._stop.is_set():
                self._drain_events()
                if time.monotonic() - last_rescan >= self._config.daemon.rescan_seconds:
                    self._rescan()
                    last_rescan = time.monotonic()
                self._start_settled(scheduler)
                for finished in scheduler.poll(TICK_SECONDS):
                    self._publish(finished)
        finally:
            for watcher in self._watchers:
                watcher.stop()
            left = scheduler.abandon()
            for job in left:
                self._busy.discard(job.source.path)
            self._log.info("daemon.stopped", unfinished_documents_left_in_inbox=len(left))
        return 0

    def _install_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._log.info("daemon.stopping", signal=signal.Signals(signum).name)
        self._stop.set()

    def _prepare_folders(self) -> None:
        for folder in self._folders:
            for path in (folder.config.inbox, folder.config.outbox, folder.config.failed):
                path.mkdir(parents=True, exist_ok=True)
        self._config.daemon.state_dir.mkdir(parents=True, exist_ok=True)

    def _rescan(self) -> None:
        for folder in self._folders:
            for path in scan(folder.config.inbox, folder.config.ignore):
                if path not in self._busy:
                    folder.tracker.observe(path)

    def _drain_events(self) -> None:
        while True:
            try:
                index, path = self._events.get_nowait()
            except queue.Empty:
                return
            if path not in self._busy:
                self._folders[index].tracker.observe(path)

    def _start_settled(self, scheduler: PageScheduler) -> None:
        for folder in self._folders:
            if not scheduler.has_room():
                return  # backpressure: settled files wait in the inbox, not in memory
            for path in folder.tracker.settled():
                self._start(folder, path, scheduler)

    def _start(self, folder: _Folder, path: Path, scheduler: PageScheduler) -> None:
        log = self._log.bind(path=str(path))
        if not pages.is_regular_file(path):
            log.warning("file.skipped", reason="not a regular file (link, FIFO or device)")
            return
        try:
            source = pages.inspect(path, max_pages=folder.config.ocr.max_pages)
        except NotReady as exc:
            self._not_ready(folder, path, exc)
            return
        except FileNotFoundError:
            return  # taken away before we got to it
        except (InputError, HotocrError, OSError) as exc:
            self._fail(folder, path, exc, stage="inspect", sha256=None)
            return
        except Exception as exc:
            # A bug or a decoder surprise fails this file, never the daemon.
            log.exception("document.internal_error")
            self._fail(folder, path, exc, stage="inspect", sha256=None)
            return
        folder.incomplete_since.pop(path, None)
        self._busy.add(path)
        log.info("document.started", sha256=source.sha256, pages=source.pages)
        scheduler.submit(DocumentJob(source=source, settings=folder.settings, context=folder))

    def _not_ready(self, folder: _Folder, path: Path, exc: NotReady) -> None:
        now = time.monotonic()
        first = folder.incomplete_since.setdefault(path, now)
        empty = path.exists() and path.stat().st_size == 0
        if not empty and now - first > folder.config.incomplete_seconds:
            folder.incomplete_since.pop(path, None)
            self._fail(folder, path, exc, stage="inspect", sha256=None)
            return
        if first == now:
            self._log.info("file.waiting", path=str(path), reason=str(exc))
        folder.tracker.defer(
            path, min(NOT_READY_RETRY_SECONDS, folder.config.incomplete_seconds / 2)
        )

    def _publish(self, finished: Finished) -> None:
        folder: _Folder = finished.job.context
        source = finished.job.source
        path = source.path
        self._busy.discard(path)
        if finished.error is not None or finished.result is None:
            error = finished.error or RuntimeError("no result")
            self._fail(
                folder,
                path,
                error,
                stage="recognize",
                sha256=source.sha256,
                pages=source.pages,
                seconds=time.monotonic() - finished.job.started,
            )
            return
        result = finished.result
        dest_dir = folder.config.outbox / path.parent.relative_to(folder.config.inbox)
        try:
            stem = sidecars.free_stem(dest_dir, path.name, (".txt", ".json"))
            published = sidecars.publish_result(
                result, original=path, folder=dest_dir, stem=stem, move_original=True
            )
        except Exception as exc:  # noqa: BLE001 - disk full, permissions, a bug
            # The original is still in the inbox: it is processed again later, not lost.
            self._log.exception("document.publish_failed", path=str(path), error=str(exc))
            folder.tracker.defer(path, NOT_READY_RETRY_SECONDS * 6)
            return
        self._log.info(
            "document.done",
            outcome="done",
            path=str(path),
            output=str(published.json),
            sha256=source.sha256,
            pages=source.pages,
            confidence=result.confidence,
            flagged_pages=result.flagged_pages,
            seconds=round(result.seconds, 3),
        )

    def _fail(
        self,
        folder: _Folder,
        path: Path,
        exc: BaseException,
        *,
        stage: str,
        sha256: str | None,
        pages: int | None = None,
        seconds: float = 0.0,
    ) -> None:
        rel = path.parent.relative_to(folder.config.inbox)
        try:
            dest = sidecars.publish_failure(
                exc, original=path, folder=folder.config.failed / rel, stage=stage, sha256=sha256
            )
        except OSError as move_error:
            self._log.error(
                "document.failed_unmoved",
                path=str(path),
                error=str(exc),
                move_error=str(move_error),
            )
            return
        reason = exc.reason if isinstance(exc, HotocrError) else "internal"
        self._log.warning(
            "document.done",
            outcome="failed",
            path=str(path),
            failed_as=str(dest),
            sha256=sha256,
            pages=pages,
            seconds=round(seconds, 3),
            reason=reason,
            stage=stage,
            error=str(exc),
        )
