"""Finding files: the ignore rules and the inotify-overflow signal."""

from __future__ import annotations

import logging
from pathlib import Path

from hotocr.watching import WORK_FOLDER, OverflowSignal, is_ignored, scan


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
