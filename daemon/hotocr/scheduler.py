"""Page-level scheduling across every document in flight.

Pages, not documents, are the unit of work: all cores stay busy on a single large PDF, and
documents take turns (round robin), so a one-page scan dropped behind a 500-page PDF is not
stuck behind it. At most ``max_in_flight`` pages are queued at the pool, which bounds memory
however large the batch is.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from hotocr._exec import tesseract
from hotocr.errors import HotocrError
from hotocr.pages import SourceInfo
from hotocr.sidecars import DocumentResult
from hotocr.worker import (
    PageResult,
    PageSettings,
    PageTask,
    describe_backend,
    init_worker,
    process_page,
    ready,
)

#: A document whose pages killed a worker process this many times is given up.
MAX_WORKER_CRASHES = 2


class WorkerCrashed(HotocrError):
    reason = "worker_crashed"


@dataclass(eq=False)
class DocumentJob:
    source: SourceInfo
    settings: PageSettings
    #: The caller's handle (e.g. the watch folder), returned untouched with the result.
    context: Any = None
    started: float = field(default_factory=time.monotonic)
    todo: deque[int] = field(default_factory=deque)
    results: dict[int, PageResult] = field(default_factory=dict)
    in_flight: int = 0
    crashes: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.todo.extend(range(1, self.source.pages + 1))

    @property
    def finished(self) -> bool:
        done = self.error is not None or len(self.results) == self.source.pages
        return done and self.in_flight == 0


@dataclass(frozen=True)
class Finished:
    job: DocumentJob
    result: DocumentResult | None
    error: BaseException | None


class PageScheduler:
    def __init__(
        self,
        workers: int,
        *,
        max_in_flight: int | None = None,
        warm: tuple[PageSettings, ...] = (),
    ) -> None:
        self._workers = workers
        self._limit = max_in_flight or workers * 2
        self._warm = warm
        self._pool = self._new_pool()
        # Start (and warm) every worker now: the first document should not pay for it.
        for future in [self._pool.submit(ready) for _ in range(workers)]:
            future.result(timeout=300)
        self._jobs: deque[DocumentJob] = deque()
        self._futures: dict[Future[PageResult], tuple[DocumentJob, int]] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: a forked child cannot use CUDA initialised in its parent.
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self._warm,),
        )

    def describe_backend(self, kind: str, device: int) -> tuple[str, str]:
        """Which preprocessing backend a worker selects for ``kind``, and why."""
        return self._pool.submit(describe_backend, kind, device).result(timeout=120)

    def submit(self, job: DocumentJob) -> None:
        self._jobs.append(job)
        self._fill()

    @property
    def documents(self) -> int:
        return len(self._jobs)

    @property
    def pages_in_flight(self) -> int:
        return len(self._futures)

    def has_room(self) -> bool:
        """Whether more documents are worth taking: some pool slots would otherwise idle."""
        waiting = sum(len(j.todo) for j in self._jobs if j.error is None)
        return waiting < self._limit

    def poll(self, timeout: float) -> list[Finished]:
        """Wait up to ``timeout`` for pages; return the documents that are now complete."""
        self._fill()
        if not self._futures:
            if timeout > 0 and not self._jobs:
                time.sleep(timeout)  # nothing to wait on; keep the caller's loop from spinning
            return self._collect()
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            job, number = self._futures.pop(future)
            job.in_flight -= 1
            try:
                job.results[number] = future.result()
            except BrokenProcessPool:
                broken = True
                job.crashes += 1
                job.todo.appendleft(number)
                if job.crashes >= MAX_WORKER_CRASHES and job.error is None:
                    job.error = WorkerCrashed(
                        f"a worker process died {job.crashes} times on page {number} "
                        "(out of memory, or a crash in a library)"
                    )
            except Exception as exc:  # noqa: BLE001 - the page's failure becomes the job's
                if job.error is None:
                    job.error = exc
        if broken:
            self._restart_pool()
        finished = self._collect()
        self._fill()
        return finished

    def _restart_pool(self) -> None:
        for future, (job, number) in list(self._futures.items()):
            future.cancel()
            job.in_flight -= 1
            job.todo.appendleft(number)
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def _fill(self) -> None:
        """Submit pages round robin, one per document per turn, up to the in-flight limit."""
        while len(self._futures) < self._limit:
            ready = [j for j in self._jobs if j.todo and j.error is None]
            if not ready:
                return
            for job in ready:
                if len(self._futures) >= self._limit:
                    return
                number = job.todo.popleft()
                task = PageTask(job.source.path, job.source.kind, number, job.settings)
                future = self._pool.submit(process_page, task)
                self._futures[future] = (job, number)
                job.in_flight += 1
            # Rotate so the next round starts with a different document.
            self._jobs.rotate(-1)

    def _collect(self) -> list[Finished]:
        out: list[Finished] = []
        for job in [j for j in self._jobs if j.finished]:
            self._jobs.remove(job)
            if job.error is not None:
                out.append(Finished(job, None, job.error))
                continue
            result = DocumentResult(
                source=job.source,
                languages=job.settings.languages,
                pages=tuple(job.results[n] for n in sorted(job.results)),
                tesseract_version=tesseract.version(),
                seconds=time.monotonic() - job.started,
                steps=job.settings.steps,
                render_dpi=job.settings.render_dpi,
                low_confidence=job.settings.low_confidence,
            )
            out.append(Finished(job, result, None))
        return out

    def abandon(self) -> list[DocumentJob]:
        """Stop: cancel queued pages, wait for running ones, return unfinished documents."""
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        jobs = list(self._jobs)
        self._jobs.clear()
        self._futures.clear()
        return jobs

    def close(self) -> None:
        self._pool.shutdown(wait=True)
