"""The Dask executor: pages run on a Dask distributed cluster.

The daemon keeps the journal, the inboxes and the sidecars on its own machine; a page travels
to a worker as the bytes of a one-page file (``pages.page_bytes``) and comes back as a
``PageResult``, so no filesystem is shared. Correction runs back in the daemon: it is cheap,
and it reads the watch folder's dictionary and rules files, which live here.

A lost scheduler is not the pages' fault: their futures are cancelled, the scheduler requeues
them, and this executor reconnects with backoff while the daemon keeps its journal and
inboxes. A page that kills every worker that tries it ends as Dask's ``KilledWorker``, which
becomes ``WorkerCrashed``, and its document goes to failed/ as it would locally.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterable
from concurrent.futures import CancelledError, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any

import structlog
from distributed import Client, KilledWorker, WorkerPlugin

from hotocr import __version__, pages
from hotocr._exec import tesseract
from hotocr.config import tesseract_languages
from hotocr.datatypes import PageData, PageResult, PageSettings, PageTask
from hotocr.errors import MissingDependency, WorkerCrashed, WorkerLost
from hotocr.recognize import onnx, ppocr
from hotocr.worker import (
    correct_page,
    describe_backend,
    prepare_process,
    read_page_data,
    warm_correction,
    warm_up,
)

CONNECT_TIMEOUT = 5.0
RECONNECT_FIRST, RECONNECT_MAX = 2.0, 60.0
#: How often the number of worker threads (the in-flight limit) is asked of the scheduler.
SLOTS_REFRESH = 2.0
#: Threads cutting pages out of their documents (a pdfseparate child per PDF page, 30 ms):
#: on the daemon's main loop that work would cap the cluster at about 700 pages a minute.
CUT_THREADS = 4
#: The Dask resource a GPU worker advertises (``dask worker --resources GPU=1``).
GPU_RESOURCE = "GPU"


def wants_gpu(settings: PageSettings) -> bool:
    """Whether a folder's pages must go to a worker that advertises ``GPU_RESOURCE``: its
    preprocessing (``backend = "gpu"``) or its PP-OCR (``provider = "cuda"``) asks for one.
    With ``auto`` a page goes to any worker, and uses a GPU where that worker has one."""
    return settings.backend == "gpu" or (
        settings.provider == "cuda" and settings.recognizer != "tesseract"
    )


def remote_settings(settings: PageSettings) -> PageSettings:
    """What a worker needs: no correction (it runs in the daemon) and no local paths."""
    return dataclasses.replace(settings, correction=False, dictionary=None, rules=None)


class HotocrWorkerPlugin(WorkerPlugin):
    """Set up each Dask worker once, as the local pool's initializer does: single-threaded
    Tesseract, the needed languages present, the preprocessing backend selected and warm.

    A worker that lacks a language fails its set-up and never takes a page, instead of
    failing the documents sent to it.
    """

    name = "hotocr"

    def __init__(self, warm: tuple[PageSettings, ...]) -> None:
        self.warm = warm

    def setup(self, worker: Any) -> None:
        prepare_process()
        missing = tesseract.missing_languages(
            tesseract_languages((s.languages, s.auto_rotate, s.fraktur) for s in self.warm)
        )
        if missing:
            raise MissingDependency(
                f"tesseract languages missing on this worker: {', '.join(missing)}"
            )
        for settings in self.warm:
            # Tesseract's models load per thread, and pages run in the worker's task
            # threads, not this one: each loads them on its first page.
            warm_up(settings, load_models=False)


def probe_worker() -> dict[str, Any]:
    """What ``hotocr check`` reports for each worker."""
    return {
        "hotocr": __version__,
        "tesseract": tesseract.version(),
        "languages": sorted(tesseract.languages()),
        "ppocr": ppocr.version() or "not installed",
        "ppocr_provider": onnx.choose("auto")[0] if ppocr.available() else "none",
    }


class DaskExecutor:
    def __init__(
        self,
        address: str,
        *,
        warm: tuple[PageSettings, ...] = (),
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.name = address
        self._timeout = connect_timeout
        self._warm = tuple(dict.fromkeys(remote_settings(s) for s in warm))
        self._log = structlog.get_logger("hotocr.executor")
        self._client: Client | None = None
        self._executors: dict[bool, Executor] = {}
        self._settings: dict[Future[PageResult], PageSettings] = {}
        self._slots = 0
        self._slots_at = 0.0
        self._next_try = 0.0
        self._backoff = RECONNECT_FIRST
        self._cutter = ThreadPoolExecutor(CUT_THREADS, thread_name_prefix="hotocr-cut")
        # Connecting can take the whole timeout: it runs beside the daemon's main loop.
        self._connector = ThreadPoolExecutor(1, thread_name_prefix="hotocr-connect")
        self._connecting: Future[Client] | None = None
        for settings in warm:
            warm_correction(settings)  # correction runs here, in the daemon
        self.maintain()
        if self._connecting is not None:  # at start-up, wait for the first attempt
            wait_for([self._connecting], timeout=self._timeout * 3)
            self.maintain()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.status == "running"

    def maintain(self) -> None:
        if self._client is not None and self._client.status in ("closing", "closed"):
            self._drop("the client closed its connection to the scheduler")
        if self._client is None:
            if self._connecting is None:
                if time.monotonic() >= self._next_try:
                    self._connecting = self._connector.submit(self._open_client)
            elif self._connecting.done():
                attempt, self._connecting = self._connecting, None
                try:
                    self._adopt(attempt.result())
                except _ConnectFailed as exc:
                    self._retry_later(exc.event, exc.error)
            return
        if time.monotonic() - self._slots_at >= SLOTS_REFRESH:
            self._refresh_slots()

    def _open_client(self) -> Client:
        """In the connector thread: a client with the worker plugin registered."""
        try:
            client = Client(self.name, timeout=self._timeout, set_as_default=False)
        except Exception as exc:  # unreachable, refused, a TLS or version mismatch
            raise _ConnectFailed("executor.unreachable", exc) from exc
        try:
            # Registered with the scheduler: workers that join later are set up too.
            client.register_plugin(HotocrWorkerPlugin(self._warm), name="hotocr")
        except Exception as exc:  # any failure here means "not usable yet"
            client.close(timeout=self._timeout)
            raise _ConnectFailed("executor.setup_failed", exc) from exc
        return client

    def _adopt(self, client: Client) -> None:
        self._client = client
        self._executors = {
            False: client.get_executor(pure=False),
            True: client.get_executor(pure=False, resources={GPU_RESOURCE: 1}),
        }
        self._backoff = RECONNECT_FIRST
        self._refresh_slots()
        self._log.info("executor.connected", scheduler=self.name, threads=self._slots)

    def _retry_later(self, event: str, error: str) -> None:
        self._log.warning(event, scheduler=self.name, error=error, retry_in=self._backoff)
        self._next_try = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, RECONNECT_MAX)

    def _refresh_slots(self) -> None:
        assert self._client is not None
        try:
            threads = self._client.nthreads()
        except Exception as exc:  # noqa: BLE001 - the scheduler went away mid-call
            self._drop(f"cannot ask the scheduler for its workers: {exc}")
            return
        self._slots = sum(int(n) for n in threads.values())
        self._slots_at = time.monotonic()

    def _drop(self, why: str) -> None:
        """Forget the client; ``maintain`` connects a new one (and re-registers the plugin,
        which a restarted scheduler no longer has)."""
        client, self._client = self._client, None
        self._executors = {}
        self._slots = 0
        if client is not None:
            self._log.warning("executor.disconnected", scheduler=self.name, why=why)
            # Closing a broken client may fail too; it is gone either way.
            with contextlib.suppress(Exception):
                client.close(timeout=self._timeout)

    def slots(self) -> int:
        return self._slots if self.connected else 0

    def submit(self, task: PageTask, pages_in_document: int) -> Future[PageResult]:
        executor = self._executors.get(wants_gpu(task.settings))
        if executor is None or not self.connected:
            raise WorkerLost("not connected to the Dask scheduler", crash=False)
        page: Future[PageResult] = Future()
        self._settings[page] = task.settings
        self._cutter.submit(_cut_and_send, page, executor, task, pages_in_document)
        return page

    def result(self, future: Future[PageResult]) -> PageResult:
        """The outcome of a page from ``submit``; raises WorkerLost, WorkerCrashed or the
        page's own error (one that cutting it out raised, too)."""
        settings = self._settings.pop(future)
        try:
            result = future.result()
        except CancelledError as exc:
            raise WorkerLost("the connection to the Dask scheduler was lost", crash=False) from exc
        except KilledWorker as exc:
            raise WorkerCrashed(
                "the page killed every Dask worker that tried it "
                f"({exc.allowed_failures + 1} tries; out of memory, or a crash in a library)"
            ) from exc
        return correct_page(result, settings)

    def recover(self) -> None:
        if self._client is not None and self._client.status != "running":
            self._drop("the connection to the scheduler was lost")
        self._settings.clear()

    def describe_backend(self, kind: str, device: int) -> tuple[str, str]:
        if self._client is None or not self._slots:
            return "unknown", "chosen on each Dask worker; none is connected yet"
        future = self._client.submit(describe_backend, kind, device, pure=False)
        name, why = future.result(timeout=120)
        return f"{name} (on a Dask worker)", str(why)

    def shutdown(self, futures: Iterable[Future[PageResult]], *, wait: bool) -> None:
        for future in futures:
            future.cancel()
        self._cutter.shutdown(wait=wait, cancel_futures=True)
        self._connector.shutdown(wait=True, cancel_futures=True)
        if self._connecting is not None and self._connecting.done():
            with contextlib.suppress(Exception):
                self._connecting.result().close(timeout=self._timeout)
        self._settings.clear()
        client, self._client = self._client, None
        if client is not None:
            client.close(timeout=self._timeout)


class _ConnectFailed(Exception):
    def __init__(self, event: str, cause: BaseException) -> None:
        super().__init__(event)
        self.event = event
        self.error = str(cause) or type(cause).__name__


def _cut_and_send(
    page: Future[PageResult], executor: Executor, task: PageTask, pages_in_document: int
) -> None:
    """In a cutter thread: cut the page out, send it, and pass the Dask task's outcome on to
    ``page`` (the future the scheduler waits on)."""
    if not page.set_running_or_notify_cancel():
        return  # taken back before it was cut out
    try:
        data = pages.page_bytes(
            task.source, task.kind, task.number, pages_in_document, timeout=task.settings.timeout
        )
    except Exception as exc:  # noqa: BLE001 - the page's own error (corrupt, unreadable)
        page.set_exception(exc)
        return
    try:
        remote = executor.submit(
            read_page_data, PageData(data, task.kind, task.number, remote_settings(task.settings))
        )
    except Exception as exc:  # noqa: BLE001 - the client closed under us
        page.set_exception(_lost(exc))
        return

    def forward(done: Future[PageResult]) -> None:
        if done.cancelled():
            page.set_exception(CancelledError())
        elif (error := done.exception()) is not None:
            page.set_exception(error)
        else:
            page.set_result(done.result())

    remote.add_done_callback(forward)


def _lost(exc: BaseException) -> WorkerLost:
    lost = WorkerLost(f"the Dask scheduler went away ({exc})", crash=False)
    lost.__cause__ = exc
    return lost


def probe_cluster(address: str, timeout: float = CONNECT_TIMEOUT) -> dict[str, dict[str, Any]]:
    """Each worker's hotocr and Tesseract (for ``hotocr check``); raises OSError/TimeoutError
    when the scheduler cannot be reached."""
    with Client(address, timeout=timeout, set_as_default=False) as client:
        found: dict[str, dict[str, Any]] = client.run(probe_worker)
        return found
