"""Finding files: the ignore rules and the inotify-overflow signal."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from hotocr.watching import WORK_FOLDER, FolderWatcher, OverflowSignal, is_ignored, scan


def test_ignored_names_and_the_work_folder(tmp_path: Path) -> None:
    patterns = (".*", "*.part", "~$*")
    for name in (".hidden.pdf", "scan.pdf.part", "~$doc.pdf", WORK_FOLDER):
        assert is_ignored(name, patterns)
    assert not is_ignored("scan.pdf", patterns)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "scan.pdf").write_bytes(b"x")
    (tmp_path / "a" / "scan.pdf.part").write_bytes(b"x")
    (tmp_path / WORK_FOLDER / "1").mkdir(parents=True)
    (tmp_path / WORK_FOLDER / "1" / "claimed.pdf").write_bytes(b"x")
    assert list(scan(tmp_path, patterns)) == [tmp_path / "a" / "scan.pdf"]


def test_watchdogs_overflow_warning_becomes_a_signal() -> None:
    signal = OverflowSignal()
    try:
        assert not signal.take()
        # What watchdog 7 logs when the kernel reports IN_Q_OVERFLOW.
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        assert signal.take()
        assert not signal.take()  # taken once
        logging.getLogger("watchdog.observers.inotify_c").warning("something else")
        assert not signal.take()
    finally:
        signal.close()


def test_a_batch_folder_renamed_into_the_work_folder_in_the_inbox_is_not_reported(
    tmp_path: Path,
) -> None:
    """With the state on another filesystem, claims rename into ``<inbox>/.hotocr-work``: a
    batch folder claimed so must not come back as new files (or as a batch of its own)."""
    inbox = tmp_path / "inbox"
    (inbox / WORK_FOLDER / "7").mkdir(parents=True)
    (inbox / "batch").mkdir()
    (inbox / "batch" / "p1.png").write_bytes(b"x")
    seen: list[Path] = []
    watcher = FolderWatcher(inbox, seen.append, ignore=(".*",), polling=False)
    watcher.start()
    try:
        time.sleep(0.3)
        (inbox / "batch").rename(inbox / WORK_FOLDER / "7" / "batch")
        (inbox / "later").mkdir()
        (inbox / "later" / "p2.png").write_bytes(b"y")
        deadline = time.monotonic() + 10
        while inbox / "later" / "p2.png" not in seen and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watcher.stop()
    assert inbox / "later" / "p2.png" in seen
    assert not [p for p in seen if WORK_FOLDER in p.parts]
