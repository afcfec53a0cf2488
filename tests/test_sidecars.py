from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from hotocr import sidecars
from hotocr.datatypes import DocumentResult, PageResult, Word
from hotocr.errors import EncryptedInput
from hotocr.pages import Kind, SourceInfo


def page(number: int, conf: float, words: int, text: str = "text") -> PageResult:
    return PageResult(
        number=number,
        text=text,
        raw_text=text,
        confidence=conf,
        low_confidence=conf < 70,
        words=tuple(Word("w", conf, (0, 0, 1, 1), 0) for _ in range(words)),
        rotation=0,
        skew_degrees=0.0,
        seconds=1.0,
        backend="cpu",
    )


def result(tmp_path: Path) -> DocumentResult:
    source = SourceInfo(tmp_path / "scan.pdf", Kind.PDF, 2, "ab" * 32, 1234)
    return DocumentResult(
        source=source,
        languages=("eng",),
        pages=(page(1, 90.0, 3, "one"), page(2, 50.0, 1, "two")),
        tesseract_version="5.3.0",
        seconds=2.5,
    )


def test_json_carries_the_documented_fields(tmp_path: Path) -> None:
    data = sidecars.document_json(result(tmp_path), name="scan.pdf")
    assert data["schema"] == "hotocr/1"
    assert data["source"] == {
        "name": "scan.pdf",
        "sha256": "ab" * 32,
        "bytes": 1234,
        "pages": 2,
        "format": "pdf",
        "repaired": False,
        "path": "scan.pdf",
    }
    assert data["engine"]["tesseract"] == "5.3.0"
    assert data["confidence"] == 80.0  # word-weighted: (3*90 + 50) / 4
    assert data["flagged_pages"] == [2]
    first = data["pages"][0]
    for key in ("number", "text", "raw_text", "confidence", "low_confidence", "words"):
        assert key in first
    for key in ("rotation", "skew_degrees", "seconds", "corrections", "error"):
        assert key in first
    assert sidecars.document_text(result(tmp_path)) == "one\ftwo\n"


def test_publish_writes_text_json_and_moves_the_original(tmp_path: Path) -> None:
    original = tmp_path / "in" / "scan.pdf"
    original.parent.mkdir()
    original.write_bytes(b"%PDF")
    out = tmp_path / "out"
    stem = sidecars.free_stem(out, original.name, (".txt", ".json"))
    done = sidecars.publish_result(
        result(tmp_path), original=original, folder=out, stem=stem, move_original=True
    )
    assert done.original == out / "scan.pdf" and not original.exists()
    assert json.loads(done.json.read_text())["source"]["name"] == "scan.pdf"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert done.json.stat().st_mode & 0o777 == 0o666 & ~sidecars.process_umask()


def test_a_second_input_of_the_same_name_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "scan.pdf").write_bytes(b"first")
    assert sidecars.free_stem(out, "scan.pdf", (".txt", ".json")) == "scan-2"
    # A different file type with the same stem would share the sidecars: also avoided.
    (out / "scan.txt").write_text("results of scan.pdf")
    assert sidecars.free_stem(out, "scan.tif", (".txt", ".json")) == "scan-2"
    (out / "scan-2.json").write_text("{}")
    assert sidecars.free_stem(out, "scan.tif", (".txt", ".json")) == "scan-3"


def test_failure_report_says_what_when_and_why(tmp_path: Path) -> None:
    original = tmp_path / "locked.pdf"
    original.write_bytes(b"%PDF")
    failed = tmp_path / "failed"
    dest = sidecars.publish_failure(
        EncryptedInput("the PDF is encrypted"), original=original, folder=failed, stage="inspect"
    )
    assert dest == failed / "locked.pdf" and dest.read_bytes() == b"%PDF"
    report = json.loads((failed / "locked.error.json").read_text())
    assert report["reason"] == "encrypted"
    assert report["message"] == "the PDF is encrypted"
    assert report["stage"] == "inspect"
    assert report["error_type"] == "EncryptedInput"
    assert "time" in report


def test_an_unexpected_error_keeps_its_traceback(tmp_path: Path) -> None:
    try:
        raise ValueError("bug")
    except ValueError as exc:
        report = sidecars.error_json(exc, name="x.pdf", stage="recognize")
    assert report["reason"] == "internal"
    assert any("ValueError: bug" in line for line in report["traceback"])


def _fails_in_a_worker(pages: int) -> float:
    return 1 / (pages // 1000)  # the tiny image's bug: a long side // factor of 0


def test_an_error_in_a_worker_reports_the_workers_own_frames() -> None:
    """``future.result()`` re-raises a worker's exception in the daemon: the report must
    say where it failed in the worker, not only where the daemon collected it."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        future = pool.submit(_fails_in_a_worker, 8)
        with pytest.raises(ZeroDivisionError) as caught:
            future.result()
    report = sidecars.error_json(caught.value, name="tiny.png", stage="recognize")
    lines = report["traceback"]
    assert report["reason"] == "internal"
    assert any("_fails_in_a_worker" in line for line in lines), lines
    assert any("1 / (pages // 1000)" in line for line in lines), lines
    assert "in a worker process" in lines[-1]


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    sidecars.write_atomic(target, b"one")
    sidecars.write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["b.json"]


def test_move_across_filesystems_copies_then_removes(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary folder")
    src = shm / f"hotocr-test-{os.getpid()}"
    src.write_bytes(b"scan bytes")
    dest = tmp_path / "out" / "scan.pdf"
    sidecars.move_atomic(src, dest)
    assert dest.read_bytes() == b"scan bytes" and not src.exists()
    assert [p.name for p in dest.parent.iterdir()] == ["scan.pdf"]
