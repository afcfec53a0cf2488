"""Hostile and broken input: each lands in failed/ with the right reason, the daemon goes on."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
import pytest
from PIL import Image

from hotocr import pages

from .conftest import ENGLISH_LINES, eval_path, render_page


def small_pdf(path: Path, n_pages: int = 1) -> Path:
    render_page(ENGLISH_LINES[:1], height=400).convert("RGB").save(
        path, format="PDF", resolution=150
    )
    if n_pages > 1:
        one = path.with_suffix(".one.pdf")
        path.rename(one)
        pages_arg = ",".join(["1"] * n_pages)
        subprocess.run(
            ["qpdf", "--empty", "--pages", str(one), pages_arg, "--", str(path)], check=True
        )
        one.unlink()
    return path


def test_the_hostile_corpus(daemon_factory, tmp_path: Path) -> None:
    def before(root: Path) -> None:
        inbox = root / "inbox"
        plain = small_pdf(root / "plain.pdf")
        subprocess.run(
            ["qpdf", "--encrypt", "u", "o", "256", "--", str(plain), str(inbox / "encrypted.pdf")],
            check=True,
        )
        (inbox / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage\ntrailer\n%%EOF\n")
        # Complete as a PNG ends, but no image: Pillow's message names the file it read.
        (inbox / "broken.png").write_bytes(
            b"\x89PNG\r\n\x1a\nnot an image\x00\x00\x00\x00IEND\xaeB`\x82"
        )
        (inbox / "nopages.pdf").write_bytes(
            b"%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type/Pages/Kids[]/Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
        )
        small_pdf(inbox / "huge.pdf", 5000)  # over the default cap of 2000 pages
        side = int((pages.MAX_IMAGE_PIXELS * 1.5) ** 0.5)
        Image.new("1", (side, side), 1).save(inbox / "bomb.png", optimize=True)
        whole = plain.read_bytes()
        (inbox / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
        (inbox / "zero.pdf").touch()  # a placeholder: waited for, never failed
        os.symlink("/etc/hostname", inbox / "link.pdf")
        os.mkfifo(inbox / "pipe.pdf")
        # Shapes other projects' test suites hold: images too small to hold text, a blank
        # sheet, and TIFFs whose first directory lies beyond the file.
        Image.new("L", (1, 1), 255).save(inbox / "one.png")
        Image.new("L", (1, 1), 0).save(inbox / "onedark.png")
        noise = np.random.default_rng(8).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(noise).save(inbox / "eight.jpg")
        Image.new("L", (20, 12), 255).save(inbox / "tiny.tif")
        Image.new("L", (2480, 3508), 255).save(inbox / "blank.png", dpi=(300, 300))
        # BigTIFF (43) with its directory at 2^64 - 16; a classic TIFF's at 4 GiB.
        (inbox / "farbig.tif").write_bytes(b"II+\x00\x08\x00\x00\x00" + b"\xf0" + b"\xff" * 7)
        (inbox / "far.tif").write_bytes(b"II*\x00\xf0\xff\xff\xff" + bytes(8))
        # Names that must never reach a subprocess as they are.
        for name in ("-v", "line\nbreak.png", os.fsdecode(b"caf\xe9.png")):
            render_page(("Odd names are files too.",), height=400).save(inbox / name, format="PNG")

    daemon = daemon_factory(watch_extra="incomplete_seconds = 3", before=before)
    expected_failed = {
        "encrypted.pdf": "encrypted",
        "corrupt.pdf": "corrupt",
        "broken.png": "corrupt",
        "nopages.pdf": "corrupt",
        "huge.pdf": "too_large",
        "bomb.png": "too_large",
        "truncated.pdf": "truncated",
        "farbig.tif": "corrupt",
        "far.tif": "corrupt",
        "link.pdf": "not_regular_file",
        "pipe.pdf": "not_regular_file",
    }
    done = daemon.wait_done(len(expected_failed) + 8, timeout=180)
    outcomes = {Path(str(e["path"])).name: e for e in done}
    for name, reason in expected_failed.items():
        assert outcomes[name]["outcome"] == "failed", (name, outcomes[name])
        assert outcomes[name]["reason"] == reason, (name, outcomes[name])
        stem = name.rsplit(".", 1)[0]
        report = json.loads((daemon.failed / f"{stem}.error.json").read_text())
        assert report["reason"] == reason and report["message"]
        assert os.path.lexists(daemon.failed / name)  # the original (or the link) is kept
    assert "encrypted" in outcomes["encrypted.pdf"]["error"]
    # A report names the file where it was dropped, never hotocr's work folder.
    broken = json.loads((daemon.failed / "broken.error.json").read_text())["message"]
    assert str(daemon.inbox / "broken.png") in broken and str(daemon.root / "state") not in broken
    assert str(daemon.inbox / "broken.png") in outcomes["broken.png"]["error"]
    assert "5000 pages" in outcomes["huge.pdf"]["error"]
    # poppler's reason on one line, without the complaint about hotocr's own page range.
    cut = json.loads((daemon.failed / "truncated.error.json").read_text())["message"]
    assert "\n" not in cut and "Command Line Error" not in cut and "%%EOF" in cut, cut
    for name in ("one.png", "onedark.png", "eight.jpg", "tiny.tif", "blank.png"):
        assert outcomes[name]["outcome"] == "done", outcomes[name]
        stem = name.rsplit(".", 1)[0]
        (page,) = json.loads((daemon.outbox / f"{stem}.json").read_text())["pages"]
        assert page["blank"] and not page["low_confidence"] and page["text"] == "", page
    for name in ("-v", "line\nbreak.png", "caf\ufffd.png"):
        assert outcomes[name]["outcome"] == "done", outcomes[name]
    assert (daemon.outbox / "-v.json").exists()
    assert (daemon.outbox / "line\nbreak.txt").exists()
    assert os.path.exists(os.fsencode(daemon.outbox) + b"/caf\xe9.json")
    assert (daemon.inbox / "zero.pdf").exists() and not (daemon.failed / "zero.pdf").exists()
    assert not os.path.exists("/etc/hostname") or Path("/etc/hostname").read_bytes()  # untouched
    # Still running, and still working.
    render_page(("A good file after all that.",), height=400).save(
        daemon.inbox / "good.png", format="PNG"
    )
    assert daemon.wait_done(len(expected_failed) + 9, timeout=60)[-1]["outcome"] == "done"


def test_a_page_tesseract_cannot_finish_is_flagged_and_the_document_kept(daemon_factory) -> None:
    daemon = daemon_factory(watch_extra="[watch.ocr]\ntimeout_seconds = 1\nauto_rotate = false")
    shutil.copy(eval_path("pages", "ocrmypdf_linn.png"), daemon.inbox / "slow.png")
    done = daemon.wait_done(1, timeout=60)
    assert done[0]["outcome"] == "done"
    page = json.loads((daemon.outbox / "slow.json").read_text())["pages"][0]
    assert page["low_confidence"] and "did not finish" in page["error"]
    assert (daemon.outbox / "slow.png").exists()


def _pdf_of(pages_: list[Image.Image], path: Path, *, tiny: set[int]) -> Path:
    """A PDF of ``pages_``, the pages in ``tiny`` (0-based) shrunk to 0.1 x 0.1 points: poppler
    draws them as a single pixel, a page that cannot be read."""
    parts = []
    for i, page in enumerate(pages_):
        part = path.with_suffix(f".{i}.png")
        page.save(part, dpi=(150, 150))
        parts.append(str(part))
    path.write_bytes(img2pdf.convert(parts))
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for i in tiny:
            pdf.pages[i].obj.MediaBox = [0, 0, 0.1, 0.1]
        pdf.save(path)
    return path


def test_one_unreadable_page_is_flagged_and_the_others_kept(tmp_path: Path) -> None:
    lines = [f"Page number {n} reads fine." for n in (1, 2, 3)]
    source = _pdf_of(
        [render_page((line,), width=1240, height=500) for line in lines],
        tmp_path / "three.pdf",
        tiny={1},
    )
    run = subprocess.run(
        [sys.executable, "-m", "hotocr", "process", str(source), "--lang", "eng"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads((tmp_path / "three.json").read_text())
    assert data["flagged_pages"] == [2]
    first, second, third = data["pages"]
    assert "cannot be read" in second["error"] and second["text"] == ""
    assert "Page number 1" in first["text"] and "Page number 3" in third["text"]


def test_a_document_no_page_of_which_can_be_read_fails(tmp_path: Path) -> None:
    source = _pdf_of(
        [render_page(("Lost.",), width=600, height=300)], tmp_path / "one.pdf", tiny={0}
    )
    run = subprocess.run(
        [sys.executable, "-m", "hotocr", "process", str(source), "--lang", "eng"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert "no page could be read" in run.stdout + run.stderr
    assert not (tmp_path / "one.json").exists()


def _pages_of_the_catalog(flat: bytes, replacement: bytes) -> bytes:
    """The catalog's /Pages reference replaced, padded so the xref offsets stay right."""
    found = re.search(rb"/Pages \d+ 0 R", flat)
    assert found
    return flat.replace(found.group(0), replacement.ljust(len(found.group(0))), 1)


DAMAGES = {
    "count 0": (lambda flat: flat.replace(b"/Count 2", b"/Count 0", 1), "page count"),
    "count -5": (lambda flat: flat.replace(b"/Count 2", b"/Count -5", 1), "page count"),
    "page tree an array": (lambda flat: _pages_of_the_catalog(flat, b"/Pages []"), "wrong type"),
    "page tree a number": (lambda flat: _pages_of_the_catalog(flat, b"/Pages 7"), "wrong type"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_pdf_poppler_cannot_read_is_repaired_and_read(
    daemon_factory, tmp_path: Path, damage: str
) -> None:
    """A page count or page tree poppler refuses: pikepdf (qpdf) writes the file again, or,
    where it finds no page tree, qpdf gives it a new one; the copy is read, and the original
    is kept as it came."""
    lines = [f"Repaired page number {n}." for n in (1, 2)]
    source = _pdf_of(
        [render_page((line,), width=1240, height=500) for line in lines],
        tmp_path / "source.pdf",
        tiny=set(),
    )
    flat = tmp_path / "flat.pdf"
    subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", str(source), str(flat)], check=True
    )
    make, complaint = DAMAGES[damage]
    damaged = make(flat.read_bytes())
    assert damaged != flat.read_bytes()
    (tmp_path / "damaged.pdf").write_bytes(damaged)
    check = subprocess.run(
        ["pdfinfo", str(tmp_path / "damaged.pdf")], capture_output=True, text=True, check=False
    )
    assert check.returncode != 0 and complaint in check.stderr  # poppler alone refuses it

    daemon = daemon_factory()
    (daemon.inbox / "damaged.pdf").write_bytes(damaged)
    done = daemon.wait_done(1, timeout=60)
    assert done[0]["outcome"] == "done", done
    data = json.loads((daemon.outbox / "damaged.json").read_text())
    assert data["source"]["repaired"] is True and data["source"]["pages"] == 2
    text = (daemon.outbox / "damaged.txt").read_text()
    assert "page number 1" in text and "page number 2" in text
    assert (daemon.outbox / "damaged.pdf").read_bytes() == damaged  # the original, as it came
    assert not list((daemon.root / "state" / "work").rglob("*"))  # no repaired copy left


def test_a_complete_pdf_without_its_final_eof_is_read_after_the_wait(
    daemon_factory, tmp_path: Path
) -> None:
    """Some scanners end a PDF without %%EOF. hotocr waits for the marker (a writer may only
    have paused), then, the file unchanged for the whole wait, lets poppler judge: it reads."""
    source = _pdf_of(
        [render_page(("A scanner's PDF without its last line.",), width=1240, height=500)],
        tmp_path / "scan.pdf",
        tiny=set(),
    )
    data = source.read_bytes()
    cut = data[: data.rindex(b"%%EOF")]
    assert b"%%EOF" not in cut[-2048:]
    daemon = daemon_factory(watch_extra="incomplete_seconds = 3")
    (daemon.inbox / "noeof.pdf").write_bytes(cut)
    done = daemon.wait_done(1, timeout=60)
    assert done[0]["outcome"] == "done", done
    assert "without its last line" in (daemon.outbox / "noeof.txt").read_text()
    events = [e.get("event") for e in daemon.events()]
    assert "file.waiting" in events and "file.read_without_end_marker" in events
