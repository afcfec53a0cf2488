"""Page-level scheduling across every document in flight.

Pages, not documents, are the unit of work: all cores stay busy on a single large PDF, and
documents take turns (round robin), so a one-page scan dropped behind a 500-page PDF is not
stuck behind it. At most ``max_in_flight`` pages are queued at the pool, which bounds memory
however large the batch is.

Where the pages run is the executor's business (``hotocr.executors``: the local process pool
or a Dask cluster); the in-flight limit follows the executor's slots, so a cluster that loses
workers, or its scheduler, takes fewer pages and leaves the rest in the inbox.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from hotocr._exec import tesseract
from hotocr.datatypes import DocumentResult, PageLocation, PageResult, PageSettings, PageTask
from hotocr.errors import CorruptInput, HotocrError, TooLarge, WorkerCrashed, WorkerLost
from hotocr.executors import PageExecutor, open_executor
from hotocr.pages import SourceInfo
from hotocr.recognize import ppocr

#: A document whose pages killed a worker process this many times is given up.
MAX_WORKER_CRASHES = 2
#: Pages in flight per executor slot: enough to keep every worker fed while results travel.
IN_FLIGHT_PER_SLOT = 2
#: Documents open at once per executor slot, even when those open have pages enough to keep
#: every slot busy: a scan dropped while a long PDF runs is taken at once and takes turns
#: with it, while a burst of long PDFs waits in the inbox.
OPEN_DOCUMENTS_PER_SLOT = 2


@dataclass(eq=False)
class DocumentJob:
    source: SourceInfo
    settings: PageSettings
    #: The caller's handle (e.g. the watch folder), returned untouched with the result.
    context: Any = None
    #: Where each page is read from, where not from ``source`` (a batch's image files).
    locations: tuple[PageLocation, ...] = ()
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


def unreadable_document(read: tuple[PageResult, ...]) -> HotocrError:
    """A document none of whose pages could be read fails as its first page did."""
    message = f"no page could be read; {read[0].error}"
    return TooLarge(message) if read[0].unreadable == "too_large" else CorruptInput(message)


class PageScheduler:
    def __init__(
        self,
        workers: int,
        *,
        executor: str | PageExecutor = "local",
        warm: tuple[PageSettings, ...] = (),
    ) -> None:
        self._executor: PageExecutor = (
            open_executor(executor, workers=workers, warm=warm)
            if isinstance(executor, str)
            else executor
        )
        self._jobs: deque[DocumentJob] = deque()
        self._futures: dict[Future[PageResult], tuple[DocumentJob, int]] = {}

    @property
    def executor(self) -> PageExecutor:
        return self._executor

    @property
    def _limit(self) -> int:
        return self._executor.slots() * IN_FLIGHT_PER_SLOT

    def describe_backend(self, kind: str, device: int) -> tuple[str, str]:
        """Which preprocessing backend a worker selects for ``kind``, and why."""
        return self._executor.describe_backend(kind, device)

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
        """Whether to take another document: some slots would otherwise idle, or few enough
        documents are open that a new one can take turns with them (fairness)."""
        open_jobs = [j for j in self._jobs if j.error is None]
        if sum(len(j.todo) for j in open_jobs) < self._limit:
            return True
        return len(open_jobs) < self._executor.slots() * OPEN_DOCUMENTS_PER_SLOT

    def poll(self, timeout: float) -> list[Finished]:
        """Wait up to ``timeout`` for pages; return the documents that are now complete."""
        self._executor.maintain()
        self._fill()
        if not self._futures:
            finished = self._collect()
            if timeout > 0 and not finished:
                time.sleep(timeout)  # nothing to wait on; keep the caller's loop from spinning
            return finished
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        lost: WorkerLost | None = None
        hit: set[DocumentJob] = set()
        for future in done:
            job, number = self._futures.pop(future)
            job.in_flight -= 1
            try:
                result = self._executor.result(future)
                # A page read from a file of its own (a batch's image) is numbered in it.
                job.results[number] = (
                    result
                    if result.number == number
                    else dataclasses.replace(result, number=number)
                )
            except WorkerLost as exc:
                lost = exc
                hit.add(job)
                job.todo.appendleft(number)
            except Exception as exc:  # noqa: BLE001 - the page's failure becomes the job's
                if job.error is None:
                    job.error = exc
        if lost is not None:
            self._lost_workers(lost, hit)
            self._executor.recover()
        finished = self._collect()
        self._fill()
        return finished

    def _lost_workers(self, lost: WorkerLost, hit: set[DocumentJob]) -> None:
        """The executor lost its workers (or its cluster): every page in flight runs again.

        A dead pool process fails every page in flight with it, so which page killed it is
        unknown: each document that had pages running counts one crash, and is given up when
        it was running at ``MAX_WORKER_CRASHES`` deaths.
        """
        for future, (job, number) in list(self._futures.items()):
            future.cancel()
            job.in_flight -= 1
            job.todo.appendleft(number)
            hit.add(job)
        self._futures.clear()
        if not lost.crash:
            return
        for job in hit:
            job.crashes += 1
            if job.crashes >= MAX_WORKER_CRASHES and job.error is None:
                job.error = WorkerCrashed(
                    f"{lost}, {job.crashes} times while this document's pages were running"
                )

    def _fill(self) -> None:
        """Submit pages round robin, one page per document per turn, up to the in-flight
        limit. The document that just got a page goes to the back of the line, so a slot
        freed alone goes to the next document, not again to the first."""
        limit = self._limit
        while len(self._futures) < limit:
            job = next((j for j in self._jobs if j.todo and j.error is None), None)
            if job is None:
                return
            self._jobs.remove(job)
            self._jobs.append(job)
            number = job.todo.popleft()
            where = (
                job.locations[number - 1]
                if job.locations
                else PageLocation(job.source.path, job.source.kind, number)
            )
            task = PageTask(where.path, where.kind, where.number, job.settings)
            try:
                future = self._executor.submit(task, job.source.pages)
            except WorkerLost:
                job.todo.appendleft(number)
                return
            except Exception as exc:  # noqa: BLE001 - a page the executor refuses fails its job
                job.error = exc
                continue
            self._futures[future] = (job, number)
            job.in_flight += 1

    def _collect(self) -> list[Finished]:
        out: list[Finished] = []
        for job in [j for j in self._jobs if j.finished]:
            self._jobs.remove(job)
            if job.error is not None:
                out.append(Finished(job, None, job.error))
                continue
            read = tuple(job.results[n] for n in sorted(job.results))
            if read and all(page.unreadable for page in read):
                out.append(Finished(job, None, unreadable_document(read)))
                continue
            result = DocumentResult(
                source=job.source,
                languages=job.settings.languages,
                pages=read,
                tesseract_version=tesseract.version(),
                ppocr_version=ppocr.version(),
                seconds=time.monotonic() - job.started,
                steps=job.settings.steps,
                render_dpi=job.settings.render_dpi,
                low_confidence=job.settings.low_confidence,
            )
            out.append(Finished(job, result, None))
        return out

    def abandon(self) -> list[DocumentJob]:
        """Stop: cancel queued pages, wait for running ones, return unfinished documents."""
        self._executor.shutdown(list(self._futures), wait=True)
        jobs = list(self._jobs)
        self._jobs.clear()
        self._futures.clear()
        return jobs

    def close(self) -> None:
        self._executor.shutdown([], wait=True)
