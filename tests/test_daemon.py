"""End to end: ``hotocr run`` as a subprocess, real files dropped the ways scanners drop them."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from .conftest import ENGLISH_LINES, Daemon, cer, eval_path, render_page


def sidecar(daemon: Daemon, rel: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((daemon.outbox / rel).read_text(encoding="utf-8"))
    return data


def page_png(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    render_page(lines or ENGLISH_LINES, height=900).save(path, format="PNG", dpi=(300, 300))
    return path


def test_the_three_eval_files_produce_their_sidecars(daemon_factory) -> None:
    """The issue's acceptance check: 1, 2 and 4 pages; cardinal's rotated pages read like linn."""
    daemon = daemon_factory()
    names = ("ocrmypdf_linn.png", "tess_unlv_2page_multipage.tif", "ocrmypdf_cardinal.pdf")
    for name in names:
        shutil.copy(eval_path("pages", name), daemon.inbox / name)
    done = daemon.wait_done(3, timeout=240)
    assert {e["outcome"] for e in done} == {"done"}
    linn = sidecar(daemon, "ocrmypdf_linn.json")
    tif = sidecar(daemon, "tess_unlv_2page_multipage.json")
    cardinal = sidecar(daemon, "ocrmypdf_cardinal.json")
    assert [len(d["pages"]) for d in (linn, tif, cardinal)] == [1, 2, 4]  # type: ignore[arg-type]
    linn_text = linn["pages"][0]["text"]  # type: ignore[index]
    rotations = []
    for page in cardinal["pages"]:  # type: ignore[attr-defined]
        assert cer(page["text"], linn_text) < 0.02
        assert page["confidence"] >= linn["confidence"] - 2  # type: ignore[operator]
        rotations.append(page["rotation"])
    # Page 2 is a landscape page with its text running sideways: Tesseract's layout analysis
    # reads it as it is, or hotocr turns it (270); pages 3 and 4 must be turned.
    assert rotations[0] == 0 and rotations[1] in (0, 270) and rotations[2:] == [180, 90]
    for name in names:
        stem = Path(name).stem
        assert (daemon.outbox / name).exists()  # the original, moved
        text = (daemon.outbox / f"{stem}.txt").read_text(encoding="utf-8")
        pages = sidecar(daemon, f"{stem}.json")["pages"]
        assert text.count("\f") == len(pages) - 1  # type: ignore[arg-type]
    assert not any(daemon.inbox.iterdir())
    ev = next(e for e in done if str(e["path"]).endswith("cardinal.pdf"))
    assert ev["pages"] == 4 and len(str(ev["sha256"])) == 64 and float(ev["seconds"]) > 0


def test_arrival_patterns_never_give_a_half_written_file_to_ocr(daemon_factory) -> None:
    def before(root: Path) -> None:
        page_png(root / "inbox" / "waiting-at-start.png", "This file was here before the start.")

    daemon = daemon_factory(before=before)
    elsewhere = daemon.root / "elsewhere"

    # 1. A slow writer that pauses longer than stable_seconds (1 s) in the middle.
    whole = page_png(elsewhere / "slow.png", "Written slowly by a scanner over SMB.").read_bytes()

    def slow_write() -> None:
        with (daemon.inbox / "slow.png").open("wb") as fh:
            for i in range(4):
                fh.write(whole[i * len(whole) // 4 : (i + 1) * len(whole) // 4])
                fh.flush()
                time.sleep(1.6)

    writer = threading.Thread(target=slow_write)
    writer.start()
    # 2. A temporary name, renamed when complete.
    tmp = daemon.inbox / "renamed.png.part"
    page_png(tmp, "Written under a temporary name first.")
    os.rename(tmp, daemon.inbox / "renamed.png")
    # 3. Moved in from another folder on the same filesystem.
    moved = page_png(elsewhere / "moved.png", "Moved in from another folder.")
    os.rename(moved, daemon.inbox / "moved.png")
    # 4. A zero-byte placeholder filled later, in a subfolder.
    (daemon.inbox / "sub").mkdir()
    placeholder = daemon.inbox / "sub" / "filled.png"
    placeholder.touch()
    time.sleep(2.5)
    page_png(elsewhere / "filled.png", "The placeholder was filled later.")
    shutil.copyfile(elsewhere / "filled.png", placeholder)
    writer.join()

    done = daemon.wait_done(5, timeout=180)
    assert sorted(Path(str(e["path"])).name for e in done) == [
        "filled.png",
        "moved.png",
        "renamed.png",
        "slow.png",
        "waiting-at-start.png",
    ]
    assert all(e["outcome"] == "done" for e in done)
    expected = {
        "slow": "Written slowly by a scanner over SMB.",
        "renamed": "Written under a temporary name first.",
        "moved": "Moved in from another folder.",
        "sub/filled": "The placeholder was filled later.",
        "waiting-at-start": "This file was here before the start.",
    }
    for stem, line in expected.items():
        text = (daemon.outbox / f"{stem}.txt").read_text(encoding="utf-8")
        assert cer(text, line) < 0.05, (stem, text)
    assert (daemon.outbox / "slow.png").read_bytes() == whole  # the complete file, moved
    # The writer paused longer than stable_seconds: the end-marker check is what held it back.
    waiting = [e for e in daemon.events() if e.get("event") == "file.waiting"]
    assert any(str(e["path"]).endswith("slow.png") for e in waiting)
    assert not (daemon.outbox / "renamed.png.part").exists()
    assert not list(daemon.failed.rglob("*"))


def test_a_bad_file_goes_to_failed_and_the_daemon_keeps_going(daemon_factory) -> None:
    daemon = daemon_factory()
    (daemon.inbox / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage\ntrailer\n%%EOF\n")
    (daemon.inbox / "notes.docx").write_bytes(b"PK\x03\x04 a word document")
    daemon.wait_done(2, timeout=60)
    page_png(daemon.inbox / "good.png", "A good file after two bad ones.")
    done = daemon.wait_done(3, timeout=60)
    outcomes = {Path(str(e["path"])).name: e for e in done}
    assert outcomes["broken.pdf"]["outcome"] == "failed"
    assert outcomes["broken.pdf"]["reason"] == "corrupt"
    assert outcomes["notes.docx"]["reason"] == "unsupported_format"
    assert outcomes["good.png"]["outcome"] == "done"
    for name, reason in (("broken", "corrupt"), ("notes", "unsupported_format")):
        report = json.loads((daemon.failed / f"{name}.error.json").read_text())
        assert report["reason"] == reason and report["stage"] == "inspect"
        assert report["message"] and report["time"]
    assert (daemon.failed / "broken.pdf").exists() and (daemon.failed / "notes.docx").exists()
    assert daemon.proc.poll() is None
    backend = [e for e in daemon.events() if e.get("event") == "preprocess.backend"]
    assert backend and backend[0]["backend"] in ("cpu", "gpu") and backend[0]["why"]


def test_a_tiff_that_never_decodes_waits_then_fails_as_corrupt_and_the_daemon_goes_on(
    daemon_factory,
) -> None:
    daemon = daemon_factory(watch_extra="incomplete_seconds = 3")
    whole = eval_path("pages", "tess_unlv_2page_multipage.tif").read_bytes()
    # Pillow raises TypeError on this one (not one of its own errors).
    (daemon.inbox / "cut.tif").write_bytes(whole[: int(len(whole) * 0.6)])
    done = daemon.wait_done(1, timeout=60)
    # It waited (a TIFF has no end marker: a paused writer looks the same), then, unchanged
    # for the whole wait, it was judged by reading it: it will never decode.
    assert done[0]["outcome"] == "failed" and done[0]["reason"] == "corrupt"
    waiting = [e for e in daemon.events() if e.get("event") == "file.waiting"]
    assert any(str(e["path"]).endswith("cut.tif") for e in waiting)
    report = json.loads((daemon.failed / "cut.error.json").read_text())
    assert re.search("TIFF (cannot be decoded|ends before page)", report["message"])
    assert "never will" in report["message"]
    page_png(daemon.inbox / "after.png", "Still running after a broken TIFF.")
    assert daemon.wait_done(2, timeout=60)[1]["outcome"] == "done"


def test_the_same_name_twice_never_overwrites_results(daemon_factory) -> None:
    daemon = daemon_factory()
    page_png(daemon.inbox / "a" / "scan.png", "The first scan of that name.")
    daemon.wait_done(1, timeout=60)
    page_png(daemon.inbox / "a" / "scan.png", "A second, different scan.")
    daemon.wait_done(2, timeout=60)
    first = (daemon.outbox / "a" / "scan.txt").read_text()
    second = (daemon.outbox / "a" / "scan-2.txt").read_text()
    assert "first scan" in first and "second" in second
    assert sidecar(daemon, "a/scan-2.json")["source"]["name"] == "scan-2.png"  # type: ignore[index]
    assert (daemon.outbox / "a" / "scan-2.png").exists()


def test_low_confidence_pages_are_flagged(daemon_factory) -> None:
    daemon = daemon_factory(watch_extra="[watch.ocr]\nlow_confidence = 99.9")
    page_png(daemon.inbox / "doc.png", "Nothing reads at 99.9 percent confidence.")
    daemon.wait_done(1, timeout=60)
    data = sidecar(daemon, "doc.json")
    assert data["flagged_pages"] == [1]
    assert data["pages"][0]["low_confidence"] is True  # type: ignore[index]
    assert 0 < float(data["confidence"]) < 99.9  # type: ignore[arg-type]


def test_sigterm_mid_document_exits_promptly_and_the_document_is_finished_after_restart(
    daemon_factory,
) -> None:
    daemon = daemon_factory()
    shutil.copy(eval_path("pages", "ocrmypdf_cardinal.pdf"), daemon.inbox / "long.pdf")
    daemon.wait_for(
        lambda: any(e.get("event") == "document.started" for e in daemon.events()),
        30,
        "the document to start",
    )
    started = time.monotonic()
    assert daemon.stop(timeout=60) == 0
    assert time.monotonic() - started < 30  # the unit's TimeoutStopSec is 300
    assert any(e.get("event") == "daemon.stopped" for e in daemon.events())
    assert not (daemon.inbox / "long.pdf").exists()  # claimed, not lost
    again = daemon_factory()
    done = again.wait_done(1, timeout=120)
    assert done[0]["outcome"] == "done"
    published = sorted(p.name for p in again.outbox.iterdir())
    assert published == ["index.csv", "long.json", "long.pdf", "long.txt"]
    assert len(sidecar(again, "long.json")["pages"]) == 4  # type: ignore[arg-type]


@pytest.mark.parametrize("watch_extra", ["polling = true"])
def test_polling_mode_for_network_mounts(daemon_factory, watch_extra: str) -> None:
    daemon = daemon_factory(watch_extra=watch_extra)
    page_png(daemon.inbox / "smb.png", "Seen by polling, as on an SMB mount.")
    done = daemon.wait_done(1, timeout=60)
    assert done[0]["outcome"] == "done"


def test_sidecar_keeps_raw_text_corrected_text_and_corrections(daemon_factory) -> None:
    daemon = daemon_factory()
    page_png(daemon.inbox / "typos.png", "Th1s 1s 4 s@mple w1th typ0s.", "Invoice INV-2024-0117.")
    daemon.wait_done(1, timeout=60)
    page = sidecar(daemon, "typos.json")["pages"][0]  # type: ignore[index]
    assert "This is a sample with typos." in page["text"]
    assert "INV-2024-0117" in page["text"]
    assert page["raw_text"] != page["text"]
    for c in page["corrections"]:
        assert page["raw_text"][c["offset"] : c["offset"] + len(c["raw"])] == c["raw"]
        assert c["page"] == 1
    assert "This is a sample with typos." in (daemon.outbox / "typos.txt").read_text()


def test_a_small_document_overtakes_a_long_one(daemon_factory, tmp_path: Path) -> None:
    """Pages of all documents take turns: a one-page scan dropped while a 40-page PDF runs is
    done long before the PDF, not after it. (Pages of a few lines, so the PDF takes far longer
    than the small scan's settle time: one-line pages were read in 4 s, before it settled.)"""
    daemon = daemon_factory()
    pages = [
        render_page((f"Page {n} of a long report.", *ENGLISH_LINES), height=1200)
        for n in range(1, 41)
    ]
    big = tmp_path / "long.pdf"
    pages[0].save(big, save_all=True, append_images=pages[1:], resolution=300)
    big.rename(daemon.inbox / "long.pdf")
    daemon.wait_for(
        lambda: any(e.get("event") == "document.started" for e in daemon.events()),
        60,
        "the long document started",
    )
    page_png(daemon.inbox / "urgent.png", "An urgent single page.")
    done = daemon.wait_done(2, timeout=300)
    names = [str(e.get("path", e.get("source", ""))) for e in done]
    assert "urgent" in names[0] and "long" in names[1], names
    long_pages = json.loads((daemon.outbox / "long.json").read_text())["pages"]
    assert len(long_pages) == 40


def _long_pdf(path: Path, pages: int) -> None:
    rendered = [
        render_page((f"Page {n} of {path.stem}.", *ENGLISH_LINES[:2]), height=700)
        for n in range(1, pages + 1)
    ]
    rendered[0].save(path, save_all=True, append_images=rendered[1:], resolution=300)


def _finish_order(daemon: Daemon, count: int) -> list[str]:
    done = daemon.wait_done(count, timeout=400)
    return [Path(str(e["path"])).name for e in done]


def test_when_many_files_arrive_at_once_the_short_ones_do_not_wait(
    daemon_factory, tmp_path: Path
) -> None:
    """Five 6-page PDFs and four one-page scans land in the inbox together (the PDFs first):
    the scans are claimed first (the smallest waiting file goes first) and are done before
    any PDF, instead of waiting behind the four PDFs that would fill the open slots."""
    daemon = daemon_factory()
    staging = tmp_path / "staging"
    staging.mkdir()
    for n in range(5):
        _long_pdf(staging / f"a-long-{n}.pdf", 6)
    for n in range(4):
        page_png(staging / f"z-scan-{n}.png", f"Scan number {n} needs reading now.")
    for path in sorted(staging.iterdir()):  # the PDFs arrive first
        path.rename(daemon.inbox / path.name)
    order = _finish_order(daemon, 9)
    assert all(name.startswith("z-scan") for name in order[:4]), order


def test_a_burst_in_one_folder_does_not_hold_up_another(daemon_factory, tmp_path: Path) -> None:
    """Folders take turns at the free slots: a scan dropped into a second folder while the
    first has a backlog of ten PDFs waits for the open ones, not for the whole backlog."""
    other = tmp_path / "other"
    daemon = daemon_factory(
        extra=f"""
[[watch]]
inbox = "{other}/inbox"
outbox = "{other}/outbox"
failed = "{other}/failed"
stable_seconds = 1.0
"""
    )
    for n in range(10):
        _long_pdf(tmp_path / f"long-{n}.pdf", 6)
        (tmp_path / f"long-{n}.pdf").rename(daemon.inbox / f"long-{n}.pdf")
    daemon.wait_for(
        lambda: sum(e.get("event") == "document.started" for e in daemon.events()) >= 4,
        120,
        "four PDFs open",
    )
    page_png(other / "inbox" / "elsewhere.png", "A scan in the other folder.")
    order = _finish_order(daemon, 11)
    assert order.index("elsewhere.png") <= 5, order  # after the open PDFs, not the backlog


def test_one_stopping_line_however_many_signals(daemon_factory) -> None:
    """systemd signals the whole control group, a terminal's Ctrl-C may come twice: the log
    says once that the daemon is stopping."""
    daemon = daemon_factory()
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.proc.wait(60) == 0
    stopping = [e for e in daemon.events() if e.get("event") == "daemon.stopping"]
    assert len(stopping) == 1
