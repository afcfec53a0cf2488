"""Scheduling logic with a fake executor (no OCR here: what is tested is which pages are
handed out when, and what happens when workers or the cluster go away)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path

import pytest

from hotocr.datatypes import PageResult, PageSettings, PageTask
from hotocr.errors import CorruptInput, WorkerLost
from hotocr.pages import Kind, SourceInfo
from hotocr.scheduler import (
    IN_FLIGHT_PER_SLOT,
    MAX_WORKER_CRASHES,
    OPEN_DOCUMENTS_PER_SLOT,
    DocumentJob,
    PageScheduler,
)


class FakeExecutor:
    """Pages complete only when the test says so."""

    name = "fake"

    def __init__(self, slots: int) -> None:
        self.free = slots
        self.running: list[tuple[Future[PageResult], PageTask]] = []
        self.submitted: list[tuple[str, int]] = []
        self.recovered = 0

    def slots(self) -> int:
        return self.free

    def submit(self, task: PageTask, pages: int) -> Future[PageResult]:
        future: Future[PageResult] = Future()
        self.running.append((future, task))
        self.submitted.append((task.source.name, task.number))
        return future

    def result(self, future: Future[PageResult]) -> PageResult:
        return future.result()

    def recover(self) -> None:
        self.recovered += 1

    def maintain(self) -> None:
        pass

    def describe_backend(self, kind: str, device: int) -> tuple[str, str]:
        return "fake", "a test"

    def shutdown(self, futures: Iterable[Future[PageResult]], *, wait: bool) -> None:
        for future in futures:
            future.cancel()

    def finish(self, count: int | None = None, error: BaseException | None = None) -> None:
        # Pages the scheduler took back (cancelled) are gone from the workers.
        self.running = [(f, t) for f, t in self.running if not f.cancelled()]
        done, self.running = self.running[:count], self.running[len(self.running[:count]) :]
        for future, task in done:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(page_result(task.number))


def page_result(number: int) -> PageResult:
    return PageResult(
        number=number,
        text=f"page {number}",
        raw_text=f"page {number}",
        confidence=90.0,
        low_confidence=False,
        words=(),
        rotation=0,
        skew_degrees=0.0,
        seconds=0.1,
        backend="fake",
    )


def job(name: str, pages: int) -> DocumentJob:
    source = SourceInfo(Path(f"/in/{name}"), Kind.PDF, pages, "0" * 64, 1)
    return DocumentJob(source=source, settings=PageSettings.defaults())


def test_a_5000_page_document_never_has_more_than_two_pages_per_slot_in_flight() -> None:
    fake = FakeExecutor(slots=3)
    scheduler = PageScheduler(3, executor=fake)
    scheduler.submit(job("huge.pdf", 5000))
    peak = 0
    for _ in range(50):
        scheduler.poll(0)
        peak = max(peak, len(fake.running))
        fake.finish(2)
    assert peak == 3 * IN_FLIGHT_PER_SLOT
    assert len(fake.submitted) <= 50 * 2 + 3 * IN_FLIGHT_PER_SLOT


def test_a_scan_dropped_while_long_documents_run_is_taken_up_to_the_open_limit() -> None:
    """Long documents with pages enough for every slot still leave room for another
    document to take turns with them, up to two open documents per slot; then the inbox
    waits."""
    scheduler = PageScheduler(2, executor=FakeExecutor(slots=2))
    for n in range(2 * OPEN_DOCUMENTS_PER_SLOT):
        assert scheduler.has_room()
        scheduler.submit(job(f"long{n}.pdf", 500))
        scheduler.poll(0)
    assert not scheduler.has_room()


def test_a_small_document_is_not_stuck_behind_a_large_one() -> None:
    fake = FakeExecutor(slots=2)
    scheduler = PageScheduler(2, executor=fake)
    scheduler.submit(job("big.pdf", 500))
    scheduler.poll(0)
    scheduler.submit(job("small.pdf", 2))
    finished = []
    for _ in range(10):
        fake.finish(1)
        finished += scheduler.poll(0)
        if finished:
            break
    assert [f.job.source.path.name for f in finished] == ["small.pdf"]
    assert fake.submitted.index(("small.pdf", 2)) < 10


def test_no_slots_means_no_pages_and_no_new_documents() -> None:
    fake = FakeExecutor(slots=0)
    scheduler = PageScheduler(2, executor=fake)
    assert not scheduler.has_room()
    scheduler.submit(job("waiting.pdf", 3))
    assert scheduler.poll(0) == []
    assert fake.submitted == []
    fake.free = 1
    scheduler.poll(0)
    assert len(fake.submitted) == IN_FLIGHT_PER_SLOT


def test_a_lost_cluster_requeues_every_page_without_counting_a_crash() -> None:
    fake = FakeExecutor(slots=2)
    scheduler = PageScheduler(2, executor=fake)
    doc = job("doc.pdf", 4)
    scheduler.submit(doc)
    scheduler.poll(0)
    fake.finish(1)  # page 1 done
    scheduler.poll(0)
    fake.finish(1, error=WorkerLost("connection lost", crash=False))
    scheduler.poll(0)
    assert fake.recovered == 1 and doc.crashes == 0 and doc.error is None
    for _ in range(10):
        fake.finish()
        finished = scheduler.poll(0)
        if finished:
            break
    assert finished[0].error is None and finished[0].result is not None
    assert [p.number for p in finished[0].result.pages] == [1, 2, 3, 4]


def test_dead_workers_count_against_every_document_that_was_running() -> None:
    fake = FakeExecutor(slots=1)
    scheduler = PageScheduler(1, executor=fake)
    doc = job("doc.pdf", 3)
    scheduler.submit(doc)
    finished = []
    for _ in range(MAX_WORKER_CRASHES):
        scheduler.poll(0)
        fake.finish(1, error=WorkerLost("a worker process died", crash=True))
        finished = scheduler.poll(0)
    assert finished and finished[0].result is None
    assert "a worker process died, 2 times" in str(finished[0].error)
    assert doc.crashes == MAX_WORKER_CRASHES


@pytest.mark.parametrize("error", [CorruptInput("page 2 cannot be rendered")])
def test_a_page_error_fails_its_document_only(error: BaseException) -> None:
    fake = FakeExecutor(slots=2)
    scheduler = PageScheduler(2, executor=fake)
    scheduler.submit(job("bad.pdf", 1))
    scheduler.submit(job("good.pdf", 1))
    scheduler.poll(0)
    fake.running[0][0].set_exception(error)
    fake.running[1][0].set_result(page_result(1))
    fake.running.clear()
    finished = {f.job.source.path.name: f for f in scheduler.poll(0)}
    assert finished["bad.pdf"].error is error
    assert finished["good.pdf"].result is not None
