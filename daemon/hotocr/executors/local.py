"""The local executor: a process pool of spawned workers on this machine."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from hotocr.datatypes import PageResult, PageSettings, PageTask
from hotocr.errors import WorkerLost
from hotocr.worker import (
    describe_backend,
    init_worker,
    process_page,
    ready,
)


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int, *, warm: tuple[PageSettings, ...] = ()) -> None:
        self._workers = workers
        self._warm = warm
        self._pool = self._new_pool()
        if warm:
            # Start and warm every worker now: the first document should not pay for it.
            # Without warm-up settings (a batch), workers start with the first pages.
            for future in [self._pool.submit(ready) for _ in range(workers)]:
                future.result(timeout=300)

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: a forked child cannot use CUDA initialised in its parent.
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self._warm,),
        )

    def slots(self) -> int:
        return self._workers

    def submit(self, task: PageTask, pages_in_document: int) -> Future[PageResult]:
        # Only the path travels: the worker renders the page itself.
        return self._pool.submit(process_page, task)

    def result(self, future: Future[PageResult]) -> PageResult:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise WorkerLost(
                "a worker process died (out of memory, or a crash in a library)", crash=True
            ) from exc

    def recover(self) -> None:
        # Every page in flight failed with the pool; the scheduler has requeued them.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def maintain(self) -> None:
        pass

    def describe_backend(self, kind: str, device: int) -> tuple[str, str]:
        return self._pool.submit(describe_backend, kind, device).result(timeout=120)

    def shutdown(self, futures: Iterable[Future[PageResult]], *, wait: bool) -> None:
        for future in futures:
            future.cancel()
        self._pool.shutdown(wait=wait, cancel_futures=True)
