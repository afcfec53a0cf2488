from __future__ import annotations

import os
from pathlib import Path

from hotocr.stability import StabilityTracker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_file_settles_only_after_it_stopped_changing(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock=clock)
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"part one")
    tracker.observe(path)
    assert tracker.settled() == []
    clock.now += 1.5
    with path.open("ab") as fh:  # the scanner writes more
        fh.write(b" part two")
    assert tracker.settled() == []
    clock.now += 1.5  # 1.5 s since the last change
    assert tracker.settled() == []
    clock.now += 0.6
    assert tracker.settled() == [path]
    assert path not in tracker  # handed over once


def test_mtime_change_without_size_change_restarts_the_wait(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(1.0, clock=clock)
    path = tmp_path / "a.png"
    path.write_bytes(b"x" * 10)
    tracker.observe(path)
    tracker.settled()
    clock.now += 0.9
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert tracker.settled() == []
    clock.now += 1.0
    assert tracker.settled() == [path]


def test_an_empty_placeholder_never_settles_until_it_is_filled(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(1.0, clock=clock)
    path = tmp_path / "placeholder.tif"
    path.touch()
    tracker.observe(path)
    assert tracker.settled() == [] and tracker.take_empty() == []  # not empty for long yet
    for _ in range(5):
        clock.now += 10
        assert tracker.settled() == []
    assert tracker.take_empty() == [path]  # said once, not on every look
    assert tracker.take_empty() == []
    path.write_bytes(b"II*\x00 content")
    assert tracker.settled() == []
    clock.now += 1.0
    assert tracker.settled() == [path]


def test_a_vanished_file_is_forgotten(tmp_path: Path) -> None:
    tracker = StabilityTracker(0.0, clock=FakeClock())
    path = tmp_path / "gone.pdf"
    tracker.observe(path)
    assert tracker.settled() == []
    assert len(tracker) == 0


def test_defer_holds_a_file_back(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(0.0, clock=clock)
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4")
    tracker.defer(path, 5.0)
    assert tracker.settled() == []
    clock.now += 5.0
    assert tracker.settled() == [path]
