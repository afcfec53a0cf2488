"""Test-only fault injection: ``HOTOCR_TEST_CRASH_AT=<point>`` makes the daemon SIGKILL itself.

``HOTOCR_TEST_FAIL_PUBLISH=<n>`` makes the first n publishes fail as if the disk were full, and
``HOTOCR_TEST_STALL_FILE`` hangs the main loop while a file exists, and
``HOTOCR_TEST_KILL_WORKER_ON_PAGE=<n>`` makes a worker process SIGKILL itself on page n.

The crash-matrix tests use it to stop the process at each step of claiming and publishing,
then restart it and check that nothing was lost or duplicated. Unset, it costs one lookup.
"""

from __future__ import annotations

import errno
import os
import signal
import time

POINTS = (
    "after_claim",
    "after_ocr",
    "after_temp_sidecar",
    "between_outputs",
    "after_publish",
    "before_commit",
    "after_commit",
)


#: Claiming a batch folder: after the journal's "claiming", after the folder's rename.
BATCH_POINTS = ("batch_claiming", "batch_renamed")


def crash_point(name: str) -> None:
    if os.environ.get("HOTOCR_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def stall_point() -> None:
    """``HOTOCR_TEST_STALL_FILE=<path>``: the main loop hangs while that file exists."""
    path = os.environ.get("HOTOCR_TEST_STALL_FILE")
    while path and os.path.exists(path):
        time.sleep(0.05)


_failures_left: dict[str, int] = {}


def fail_point(name: str) -> None:
    """``HOTOCR_TEST_FAIL_<NAME>=<n>``: the first n passes raise "No space left on device"."""
    if name not in _failures_left:
        _failures_left[name] = int(os.environ.get(f"HOTOCR_TEST_FAIL_{name.upper()}", "0"))
    if _failures_left[name] > 0:
        _failures_left[name] -= 1
        raise OSError(errno.ENOSPC, "No space left on device (test hook)")


def kill_worker_point(page: int) -> None:
    """``HOTOCR_TEST_KILL_WORKER_ON_PAGE=<n>``: the worker process dies on page n, as if
    Tesseract or a library had crashed it (every time: a page that kills every worker)."""
    if os.environ.get("HOTOCR_TEST_KILL_WORKER_ON_PAGE") == str(page):
        os.kill(os.getpid(), signal.SIGKILL)
