"""The daemon: watch the inboxes, claim settled files, hand them to the scheduler, publish.

One thread (this loop) owns all decisions, the journal and all publishing; watchdog threads
only put paths on a queue. Every step that moves a file is written to the journal first, so
after a crash ``_recover`` knows, for each interrupted job, whether to process it again, to
mark it done, or (when it keeps killing the daemon) to quarantine it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from hotocr import batches, pages, results_index, review, sidecars
from hotocr._exec import tesseract
from hotocr.assemble import Batch, assemble, page_locations
from hotocr.backlog import Backlog
from hotocr.batches import BatchTracker, batch_folder
from hotocr.config import Config, WatchConfig
from hotocr.datatypes import DocumentResult, PageSettings
from hotocr.errors import (
    DuplicateInput,
    NotReady,
    NotRegularFile,
    Quarantined,
)
from hotocr.hooks import HookDelivery
from hotocr.journal import Job, Journal
from hotocr.logs import get_logger
from hotocr.metrics import Metrics
from hotocr.notify import SystemdNotifier
from hotocr.publisher import (
    Publisher,
    Recovered,
    recovered_outcome,
    remove_scratch,
    repaired_copy,
    retry_at,
    shown,
    was_published,
    watch_label,
)
from hotocr.recognize.tesseract import resolve_engine
from hotocr.scheduler import DocumentJob, Finished, PageScheduler
from hotocr.stability import StabilityTracker
from hotocr.testhooks import crash_point, stall_point
from hotocr.verify import rewrite
from hotocr.watching import WORK_FOLDER, FolderWatcher, OverflowSignal, scan

#: How long the loop waits for pages before looking at the inboxes again.
TICK_SECONDS = 0.2
#: A settled file that still fails its completeness check is looked at again after this, and
#: given up as truncated after ``incomplete_seconds`` (zero-byte placeholders never are).
NOT_READY_RETRY_SECONDS = 5.0
#: The journal forgets finished jobs this often (or ten times per keep period, if shorter).
PRUNE_SECONDS = 3600.0
#: More watcher events than this in one tick may mean inotify dropped some: rescan soon.
BURST_EVENTS = 500


@dataclass
class _Folder:
    index: int
    config: WatchConfig
    settings: PageSettings
    tracker: StabilityTracker
    work_root: Path
    #: First time each not-ready file was found incomplete.
    incomplete_since: dict[Path, float] = field(default_factory=dict)
    #: Settled files waiting (in the inbox) for the scheduler to have room; a watcher event
    #: for one sends it back to the tracker. Quiet batch folders wait here too.
    ready: Backlog = field(default_factory=Backlog)
    #: With ``assemble = "folder"``: the inbox's sub-folders, each a batch filling up.
    batches: BatchTracker | None = None

    def observe(self, path: Path) -> None:
        """A path an event or a rescan found: a file to settle, or a batch folder's file."""
        batch = batch_folder(self.config.inbox, path) if self.batches is not None else None
        if batch is None:
            self.ready.discard(path)  # changed after it settled: it must settle again
            self.tracker.observe(path)
        elif self.batches is not None:
            self.ready.discard(batch)
            self.batches.observe(batch)


@dataclass(frozen=True)
class _Context:
    folder: _Folder
    job: Job
    #: A batch's files and pages (``assemble``), for its sidecars.
    batch: Batch | None = None


class Service:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._log = get_logger()
        self._events: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._journal = Journal(config.daemon.state_dir / "journal.sqlite3")
        self._folders = [
            _Folder(
                i,
                w,
                PageSettings.from_watch(w),
                StabilityTracker(w.stable_seconds),
                _work_root(config.daemon.state_dir, w.inbox),
                batches=BatchTracker(w.quiet_seconds) if w.assemble == "folder" else None,
            )
            for i, w in enumerate(config.watches)
        ]
        #: (when, what): publishing or a move to failed/ that the disk refused, to try again.
        self._retry: list[tuple[float, Callable[[], None]]] = []
        self._notifier = SystemdNotifier.from_environment()
        self._overflow = OverflowSignal()
        self._metrics = Metrics(config.daemon.health_stall_seconds)
        self._review = review.ReviewUpdater(
            lambda outbox, exc: self._log.error(
                "review.failed", outbox=shown(outbox), error=str(exc)
            )
        )
        self._in_flight = [0 for _ in self._folders]
        #: The folder whose settled files are looked at first when there is room.
        self._next_folder = 0
        self._hooks = HookDelivery(
            config.daemon.state_dir / "journal.sqlite3",
            [hook for w in config.watches for hook in w.hook],
            self._metrics,
            self._log,
        )
        self._publisher = Publisher(
            self._journal,
            self._metrics,
            self._log,
            review=self._review.request,
            hooks_notified=self._hooks.wake,
        )

    def _on_path(self, index: int, path: Path) -> None:
        """Called from watchdog threads: only hand the path over to the loop."""
        self._events.put((index, path))

    def stop(self, *_: Any) -> None:
        self._stop.set()

    def run(self) -> int:
        self._prepare_folders()
        # CuPy compiles kernels once and caches them; keep the cache with the daemon's state
        # (under systemd the home folder is read-only). Spawned workers inherit this.
        os.environ.setdefault("CUPY_CACHE_DIR", str(self._config.daemon.state_dir / "cupy-cache"))
        workers = self._config.effective_workers()
        scheduler = PageScheduler(
            workers,
            executor=self._config.daemon.executor,
            warm=tuple({f.settings for f in self._folders}),
        )
        backends = {}
        for kind, device in sorted(
            {(f.settings.backend, f.settings.device) for f in self._folders}
        ):
            name, why = scheduler.describe_backend(kind, device)
            backends[(kind, device)] = name
            self._log.info("preprocess.backend", configured=kind, backend=name, why=why)
        for folder in self._folders:
            name = backends[(folder.settings.backend, folder.settings.device)]
            self._metrics.backend.labels(watch_label(folder.config), name).set(1)
        if self._config.daemon.metrics:
            host, port = self._metrics.serve(self._config.daemon.metrics)
            self._log.info("metrics.serving", url=f"http://{host}:{port}/metrics")
        self._install_signals()
        watchers = []
        for folder in self._folders:
            watcher = FolderWatcher(
                folder.config.inbox,
                functools.partial(self._on_path, folder.index),
                ignore=folder.config.ignore,
                polling=folder.config.polling,
            )
            watcher.start()
            watchers.append(watcher)
        self._recover(scheduler)
        self._hooks.start()  # events left pending by the last run go first
        self._rescan()  # after the watchers start, so nothing falls between the two
        self._journal.set_meta("pid", str(os.getpid()))
        self._journal.set_meta("started", sidecars.now_iso())
        self._log.info(
            "daemon.started",
            executor=self._config.daemon.executor,
            workers=workers if self._config.daemon.executor == "local" else None,
            tesseract=tesseract.version(),
            tesseract_engines=sorted({resolve_engine(f.config.ocr.engine) for f in self._folders}),
            inboxes=[str(f.config.inbox) for f in self._folders],
        )
        self._notifier.ready()
        last_rescan = last_prune = time.monotonic()
        self._prune_journal()
        try:
            while not self._stop.is_set():
                burst = self._drain_events()
                if self._overflow.take():
                    self._log.warning("watch.overflow", action="rescan")
                    burst = True
                if burst or time.monotonic() - last_rescan >= self._config.daemon.rescan_seconds:
                    self._rescan()
                    last_rescan = time.monotonic()
                if time.monotonic() - last_prune >= self._prune_every:
                    self._guarded(self._prune_journal)
                    last_prune = time.monotonic()
                self._start_settled(scheduler)
                self._start_retries()
                for finished in scheduler.poll(TICK_SECONDS):
                    self._guarded(self._publish, finished)
                stall_point()
                self._update_gauges()
                self._metrics.progress()
                self._notifier.alive()  # only from here: a stuck loop stops the pings
        finally:
            self._notifier.stopping()
            for watcher in watchers:
                watcher.stop()
            left = scheduler.abandon()
            self._hooks.stop()
            self._journal.set_meta("stopped", sidecars.now_iso())
            self._journal.close()
            self._metrics.close()
            self._review.stop()
            self._overflow.close()
            self._log.info("daemon.stopped", unfinished_documents_requeued_at_next_start=len(left))
        return 0

    @property
    def _prune_every(self) -> float:
        return min(PRUNE_SECONDS, self._config.daemon.journal_keep_days * 86400 / 10)

    def _prune_journal(self) -> None:
        keep = self._config.daemon.journal_keep_days * 86400
        forgotten = self._journal.prune(time.time() - keep)
        if forgotten:
            self._log.info(
                "journal.pruned", jobs=forgotten, kept_days=self._config.daemon.journal_keep_days
            )

    def _update_gauges(self) -> None:
        for folder in self._folders:
            waiting = len(folder.tracker) + len(folder.ready) + len(folder.batches or ())
            self._metrics.queue.labels(watch_label(folder.config), "waiting").set(waiting)
            self._metrics.queue.labels(watch_label(folder.config), "in_flight").set(
                self._in_flight[folder.index]
            )

    def _guarded(self, step: Callable[..., None], *args: Any) -> None:
        """Last line of defence: a bug while handling one file is logged, not fatal. The job
        stays claimed in the journal and is recovered (or quarantined) at the next start."""
        try:
            step(*args)
        except Exception:  # noqa: BLE001
            self._log.exception("document.unhandled_error", step=step.__name__)

    def _install_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """One ``daemon.stopping`` line however many signals arrive (systemd signals the
        whole control group; a terminal's Ctrl-C may come twice)."""
        if not self._stop.is_set():
            self._log.info("daemon.stopping", signal=signal.Signals(signum).name)
        self._stop.set()

    def _prepare_folders(self) -> None:
        for folder in self._folders:
            for path in (folder.config.inbox, folder.config.outbox, folder.config.failed):
                path.mkdir(parents=True, exist_ok=True)
            folder.work_root.mkdir(parents=True, exist_ok=True)
            review_page = folder.config.outbox / "review" / "index.html"
            if folder.config.review_page and not review_page.exists():
                # From the start, "nothing to review" rather than no page at all.
                self._review.request(folder.config.outbox)

    # --- finding files --------------------------------------------------------------------

    def _rescan(self) -> None:
        for folder in self._folders:
            for path in scan(folder.config.inbox, folder.config.ignore):
                batch = (
                    batch_folder(folder.config.inbox, path) if folder.batches is not None else None
                )
                if batch is not None and folder.batches is not None:
                    if batch not in folder.ready and batch not in folder.batches:
                        folder.batches.observe(batch)
                elif path not in folder.ready:  # settled already; only a change resets it
                    folder.tracker.observe(path)

    def _drain_events(self) -> bool:
        """Move watcher events to the trackers; True after a burst (a rescan is due)."""
        count = 0
        while True:
            try:
                index, path = self._events.get_nowait()
            except queue.Empty:
                return count > BURST_EVENTS
            count += 1
            self._folders[index].observe(path)

    def _start_settled(self, scheduler: PageScheduler) -> None:
        """Claim settled files one at a time while the scheduler has room; the rest wait in
        the inbox (only their names are kept) and are claimed as soon as it has. Folders
        take turns (a burst in one never holds up another), and within a folder the
        backlog says which file is next."""
        for folder in self._folders:
            for path in folder.tracker.settled():
                folder.ready.add(path)
            for batch in folder.batches.quiet() if folder.batches is not None else ():
                folder.ready.add(batch, batches.total_bytes(batch))
            for path in folder.tracker.take_empty():
                self._log.info("file.empty_waiting", path=shown(path))
        count = len(self._folders)
        while scheduler.has_room():
            turn = [self._folders[(self._next_folder + i) % count] for i in range(count)]
            chosen = next((f for f in turn if f.ready), None)
            if chosen is None:
                return
            self._next_folder = (chosen.index + 1) % count
            self._guarded(self._claim, chosen, chosen.ready.take(), scheduler)

    # --- claiming -------------------------------------------------------------------------

    def _claim(self, folder: _Folder, path: Path, scheduler: PageScheduler) -> None:
        if folder.batches is not None and path.parent == folder.config.inbox and path.is_dir():
            self._claim_batch(folder, path, scheduler)
            return
        log = self._log.bind(path=shown(path))
        try:
            if not pages.is_regular_file(path):
                if not os.path.lexists(path):
                    return
                raise NotRegularFile(
                    "not a regular file (a symbolic link, FIFO or device); refused unread"
                )
            pages.check_ready(path)
        except NotReady as exc:
            if not self._not_ready(folder, path, exc):
                return
            waited = folder.config.incomplete_seconds
            unchanged = time.time() - path.stat().st_mtime
            if unchanged < waited:  # it was written to meanwhile: wait from its last change
                folder.incomplete_since[path] = time.monotonic() - unchanged
                folder.tracker.defer(path, NOT_READY_RETRY_SECONDS)
                return
            try:  # unchanged for the whole wait: can it be read as it is?
                kind = pages.read_all_the_same(path, exc, waited)
            except Exception as final:  # noqa: BLE001 - a bad file fails alone
                self._publisher.refuse(folder.config, path, final)
                return
            log.info("file.read_without_end_marker", format=kind.value, waited_seconds=waited)
        except FileNotFoundError:
            return  # renamed or deleted before we got to it: its new name shows up
        except Exception as exc:  # noqa: BLE001 - a bad file fails alone, never the daemon
            self._publisher.refuse(folder.config, path, exc)
            return
        folder.incomplete_since.pop(path, None)
        rel = path.relative_to(folder.config.inbox)
        job = self._journal.begin_claim(folder.config.inbox, rel, folder.work_root)
        try:
            job.work_path.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, job.work_path)
        except OSError as exc:
            self._journal.set_state(job.id, "failed", reason="claim", last_error=str(exc))
            log.warning("file.claim_failed", error=str(exc))
            folder.tracker.defer(path, NOT_READY_RETRY_SECONDS)
            return
        self._journal.set_state(job.id, "claimed")
        crash_point("after_claim")
        self._start_job(folder, job, scheduler)

    def _claim_batch(self, folder: _Folder, path: Path, scheduler: PageScheduler) -> None:
        """A quiet batch folder is claimed whole, by one rename: a file that arrives after it
        makes a new folder of that name, a batch of its own."""
        rel = path.relative_to(folder.config.inbox)
        job = self._journal.begin_claim(folder.config.inbox, rel, folder.work_root, kind="batch")
        crash_point("batch_claiming")
        try:
            job.work_path.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, job.work_path)
        except OSError as exc:
            self._journal.set_state(job.id, "failed", reason="claim", last_error=str(exc))
            self._log.warning("batch.claim_failed", path=shown(path), error=str(exc))
            if path.is_dir() and folder.batches is not None:
                folder.batches.observe(path)
            return
        crash_point("batch_renamed")
        self._journal.set_state(job.id, "claimed")
        crash_point("after_claim")
        self._start_job(folder, job, scheduler)

    def _start_job(self, folder: _Folder, job: Job, scheduler: PageScheduler) -> None:
        attempts = self._journal.add_attempt(job.id)
        batch = None
        try:
            if job.kind == "batch":
                batch, source = assemble(
                    job.work_path,
                    ignore=folder.config.ignore,
                    duplex=folder.config.duplex,
                    max_pages=folder.config.ocr.max_pages,
                    dpi=folder.config.ocr.dpi,
                )
            else:
                source = pages.inspect(
                    job.work_path,
                    max_pages=folder.config.ocr.max_pages,
                    dpi=folder.config.ocr.dpi,
                    repair_to=repaired_copy(job),
                )
        except Exception as exc:  # noqa: BLE001 - a bad file fails alone, never the daemon
            self._fail_job(folder, job, exc, stage="inspect")
            return
        self._journal.set_state(
            job.id, "claimed", sha256=source.sha256, bytes=source.bytes, pages=source.pages
        )
        if folder.config.duplicates == "skip":
            earlier = self._journal.done_with_sha(source.sha256, folder.config.inbox)
            if earlier is not None:
                self._fail_job(
                    folder,
                    job,
                    DuplicateInput(f"the same content was processed before as {earlier.rel_path}"),
                    stage="inspect",
                    sha256=source.sha256,
                )
                return
        self._log.info(
            "document.started",
            path=shown(job.original),
            sha256=source.sha256,
            pages=source.pages,
            attempt=attempts,
            files=len(batch.files) if batch is not None else None,
        )
        self._in_flight[folder.index] += 1
        context = _Context(folder, job, batch)
        locations = page_locations(batch, job.work_path) if batch is not None else ()
        scheduler.submit(
            DocumentJob(
                source=source, settings=folder.settings, context=context, locations=locations
            )
        )

    def _not_ready(self, folder: _Folder, path: Path, exc: NotReady) -> bool:
        """Wait for the file to complete; True once it has looked incomplete, unchanged, for
        ``incomplete_seconds`` (the caller then judges it by reading it)."""
        now = time.monotonic()
        first = folder.incomplete_since.setdefault(path, now)
        try:
            empty = path.stat().st_size == 0
        except OSError:
            return False
        if not empty and now - first > folder.config.incomplete_seconds:
            folder.incomplete_since.pop(path, None)
            return True
        if first == now:
            self._log.info("file.waiting", path=shown(path), reason=str(exc))
        retry = min(NOT_READY_RETRY_SECONDS, folder.config.incomplete_seconds / 2)
        folder.tracker.defer(path, retry)
        return False

    # --- recovery -------------------------------------------------------------------------

    def _recover(self, scheduler: PageScheduler) -> None:
        """Finish what a crash or stop interrupted, from the journal and what is on disk."""
        # A person's save the verification station did not finish: one set of outputs.
        for sidecar in rewrite.recover(self._journal, [f.config.outbox for f in self._folders]):
            self._log.info("verify.rewrite_finished", json=shown(sidecar))
        folders = {f.config.inbox: f for f in self._folders}
        for job in self._journal.unfinished():
            folder = folders.get(job.inbox)
            log = self._log.bind(path=shown(job.original), job=job.id, state=job.state)
            if folder is None:
                log.warning("recover.unknown_inbox")  # the folder left the config: leave it be
                continue
            if job.out_dir is not None and job.out_stem is not None:
                sidecars.remove_temporaries(job.out_dir, job.out_stem)
                if job.work_path.exists():  # read again: an incomplete set goes
                    for path in sidecars.remove_partial_outputs(job.out_dir, job.out_stem):
                        log.info("recover.partial_output_removed", output=shown(path))
            if not job.work_path.exists():
                remove_scratch(job)  # the original went on before a crash
                if job.state == "claiming":
                    # The rename never happened: the file is still in the inbox.
                    self._journal.set_state(job.id, "failed", reason="claim_interrupted")
                elif was_published(job):
                    recovered = recovered_outcome(folder.config, job)
                    if recovered is None:  # unreadable marker: no notice rather than a wrong one
                        self._journal.set_state(job.id, "done")
                    else:
                        self._journal.set_state(job.id, recovered.state, events=recovered.events)
                        self._index_recovered(folder, recovered)
                    log.info("recover.already_published", outcome=recovered and recovered.state)
                else:
                    self._journal.set_state(job.id, "failed", reason="lost")
                    log.error("recover.work_file_missing", work=shown(job.work_path))
                continue
            if job.attempts >= self._config.daemon.max_attempts:
                self._fail_job(
                    folder,
                    job,
                    Quarantined(
                        f"processing was interrupted {job.attempts} times (the daemon or a"
                        " worker was killed); quarantined so it cannot stop the service again"
                    ),
                    stage="recover",
                )
                continue
            log.info("recover.requeued", attempts=job.attempts)
            self._start_job(folder, job, scheduler)

    @staticmethod
    def _index_recovered(folder: _Folder, recovered: Recovered) -> None:
        """The index rows of a document published before a crash, from its marker files,
        unless a row was written before the crash."""
        for marker, data in recovered.markers:
            row = results_index.row_from_sidecar(marker, data, folder.config.outbox)
            if not results_index.has_row(folder.config.outbox, row["sidecar"], str(row["sha256"])):
                results_index.append(folder.config.outbox, row)

    def _start_retries(self) -> None:
        now = time.monotonic()
        due = [retry for at, retry in self._retry if at <= now]
        self._retry = [r for r in self._retry if r[0] > now]
        for retry in due:
            self._guarded(retry)

    # --- publishing: publisher.Publisher does it; the loop schedules what must wait ---------

    def _publish(self, finished: Finished) -> None:
        ctx: _Context = finished.job.context
        folder, job = ctx.folder, self._journal.get(ctx.job.id) or ctx.job
        source = finished.job.source
        seconds = time.monotonic() - finished.job.started
        self._in_flight[folder.index] -= 1
        if finished.error is not None or finished.result is None:
            error = finished.error or RuntimeError("no result")
            self._fail_job(
                folder,
                job,
                error,
                stage="recognize",
                sha256=source.sha256,
                pages=source.pages,
                seconds=seconds,
            )
            return
        crash_point("after_ocr")
        result = finished.result
        if ctx.batch is not None:
            result = dataclasses.replace(result, batch=ctx.batch)
        self._publish_result(folder, job, result, seconds)

    def _publish_result(
        self, folder: _Folder, job: Job, result: DocumentResult, seconds: float
    ) -> None:
        """Publish a read document; when the disk refuses, try again later with the same
        result (a full outbox must not cost a second reading)."""
        delay = self._publisher.done(folder.config, folder.work_root, job, result, seconds)
        if delay is not None:
            retry = functools.partial(self._publish_again, folder, job, result, seconds)
            self._retry.append((retry_at(delay), retry))

    def _publish_again(
        self, folder: _Folder, job: Job, result: DocumentResult, seconds: float
    ) -> None:
        self._journal.add_attempt(job.id)  # publishing may be cut short too
        self._publish_result(folder, self._journal.get(job.id) or job, result, seconds)

    def _fail_job(self, folder: _Folder, job: Job, exc: BaseException, **details: Any) -> None:
        """A claimed file goes to failed/ (or, if it cannot be moved now, waits to);
        ``details``: ``Publisher.fail``'s stage, sha256, pages, seconds."""
        delay = self._publisher.fail(folder.config, folder.work_root, job, exc, **details)
        if delay is not None:
            retry = functools.partial(self._fail_again, folder, job, exc, details)
            self._retry.append((retry_at(delay), retry))

    def _fail_again(
        self, folder: _Folder, job: Job, exc: BaseException, details: dict[str, Any]
    ) -> None:
        self._journal.add_attempt(job.id)
        self._fail_job(folder, self._journal.get(job.id) or job, exc, **details)


def _work_root(state_dir: Path, inbox: Path) -> Path:
    """Work folders must be on the inbox's filesystem, so that claiming is a rename."""
    state_dir.mkdir(parents=True, exist_ok=True)
    inbox.mkdir(parents=True, exist_ok=True)
    if os.stat(state_dir).st_dev == os.stat(inbox).st_dev:
        return state_dir / "work"
    return inbox / WORK_FOLDER  # never scanned


__all__ = ["Service"]
