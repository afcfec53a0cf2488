"""Where page tasks run: a local process pool, or a Dask cluster. One small interface.

The scheduler decides *which* pages run (round robin, in-flight limit); an executor decides
*where*, and turns its own ways of failing into three outcomes the scheduler understands:
the page's result, the page's own error, or ``WorkerLost`` (run the page again).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from typing import Protocol

from hotocr.datatypes import PageResult, PageSettings, PageTask
from hotocr.executors.local import LocalExecutor


class PageExecutor(Protocol):
    #: "local" or the scheduler's address, for logs and ``hotocr check``.
    name: str

    def slots(self) -> int:
        """Pages that can run at once right now (0 while a cluster is unreachable)."""

    def submit(self, task: PageTask, pages_in_document: int) -> Future[PageResult]:
        """Start one page of a document of ``pages_in_document`` pages."""

    def result(self, future: Future[PageResult]) -> PageResult:
        """The page's result; raises the page's own error, ``WorkerCrashed`` or ``WorkerLost``."""

    def recover(self) -> None:
        """After ``WorkerLost``: make the executor usable again (or schedule a reconnect)."""

    def maintain(self) -> None:
        """Called on every scheduler poll: reconnect when due; cheap otherwise."""

    def describe_backend(self, kind: str, device: int) -> tuple[str, str]:
        """Which preprocessing backend a worker selects for ``kind``, and why."""

    def shutdown(self, futures: Iterable[Future[PageResult]], *, wait: bool) -> None:
        """Cancel ``futures`` (queued pages) and release the workers."""


def open_executor(spec: str, *, workers: int, warm: tuple[PageSettings, ...] = ()) -> PageExecutor:
    """``"local"``: a process pool of ``workers``; an address: that Dask scheduler."""
    if spec == "local":
        return LocalExecutor(workers, warm=warm)
    # Imported only when used: distributed is an optional dependency, and slow to import.
    from hotocr.executors.cluster import DaskExecutor  # noqa: PLC0415

    return DaskExecutor(spec, warm=warm)


__all__ = ["PageExecutor", "open_executor"]
