"""Which settled file is claimed next when many wait (``hotocr.backlog``)."""

from __future__ import annotations

from pathlib import Path

from hotocr.backlog import OLDEST_FIRST_AFTER, Backlog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_smallest_waiting_file_goes_first_ties_in_settling_order() -> None:
    backlog = Backlog(Clock())
    for name, size in [("long1.pdf", 9_000_000), ("scan.png", 300_000), ("long2.pdf", 8_000_000)]:
        backlog.add(Path(name), size)
    backlog.add(Path("a.png"), 300_000)
    assert [backlog.take().name for _ in range(4)] == [
        "scan.png",
        "a.png",
        "long2.pdf",
        "long1.pdf",
    ]
    assert len(backlog) == 0


def test_a_big_file_is_not_starved_by_a_stream_of_small_ones() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    backlog.add(Path("big.pdf"), 50_000_000)
    taken = []
    for n in range(int(OLDEST_FIRST_AFTER // 10) + 3):
        backlog.add(Path(f"small{n}.png"), 1000)
        taken.append(backlog.take().name)
        clock.now += 10
    assert "big.pdf" in taken
    assert taken.index("big.pdf") == int(OLDEST_FIRST_AFTER // 10)  # as soon as it is overdue


def test_a_file_that_changes_after_settling_leaves_the_backlog(tmp_path: Path) -> None:
    backlog = Backlog(Clock())
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.4")
    backlog.add(path)  # the size is read from the file
    backlog.add(path)  # once only
    assert path in backlog and len(backlog) == 1
    backlog.discard(path)
    assert path not in backlog and len(backlog) == 0
    backlog.add(tmp_path / "gone.pdf")  # vanished: claiming it will say so
    assert backlog.take().name == "gone.pdf"
