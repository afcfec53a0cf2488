"""Scanner batches end to end: a folder of page files becomes one document, a scanned stack
is split at separator sheets, a duplex pair is collated; claims survive SIGKILL.

Every test runs ``hotocr run`` as a subprocess on real files and the real Tesseract."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from hotocr import config, sidecars
from hotocr.errors import BadBatch
from hotocr.journal import Journal
from hotocr.publisher import failed_event
from hotocr.testhooks import BATCH_POINTS
from tests.conftest import Daemon, render_page, start_daemon, write_config
from tests.test_reliability import run_until_killed

QUIET = 4.0


def page(text: str) -> Image.Image:
    return render_page((text, "The quick brown fox jumps over the lazy dog."), height=600)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(300, 300))
    return buffer.getvalue()


def pdf_of(images: list[Image.Image]) -> bytes:
    layout = img2pdf.get_fixed_dpi_layout_fun((300, 300))
    data: bytes = img2pdf.convert([png_bytes(i) for i in images], layout_fun=layout)
    return data


def blank_sheet(seed: int = 3) -> Image.Image:
    """A blank sheet as a scanner gives it: paper grain and a few specks of dust."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.normal(238, 6, (600, 2480)), 0, 255).astype(np.uint8)
    for y, x in rng.integers(50, 550, (4, 2)):
        pixels[y : y + 2, x * 4 : x * 4 + 2] = 90  # specks well under a millimetre
    return Image.fromarray(pixels)


def patch_t_sheet() -> Image.Image:
    """Kodak's PATCH T at 300 DPI: bars narrow, wide, narrow, wide (0.08 / 0.20 in), narrow
    spaces, 3 inches long, across the sheet near its top, and its printed label."""
    image = Image.new("L", (2480, 1400), 255)
    draw = ImageDraw.Draw(image)
    y = 150
    for width in (24, 60, 24, 60):
        draw.rectangle([600, y, 1500, y + width - 1], fill=0)
        y += width + 24
    return image


def code128_sheet(value: str = "PATCH T") -> Image.Image:
    code = zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.Code128)
    bars = np.asarray(code.to_image(scale=6, add_quiet_zones=True))
    sheet = Image.new("L", (2480, 1400), 255)
    sheet.paste(Image.fromarray(bars).resize((bars.shape[1], 300)), (500, 400))
    return sheet


def done_events(daemon: Daemon) -> list[dict[str, object]]:
    return [e for e in daemon.events() if e.get("event") == "document.done"]


def page_texts(data: dict[str, object]) -> list[str]:
    return [str(p["text"]) for p in data["pages"]]  # type: ignore[index, union-attr]


def test_twelve_pages_copied_one_per_second_become_one_document_after_the_quiet_time(
    daemon_factory,
) -> None:
    daemon = daemon_factory(watch_extra=f'assemble = "folder"\nquiet_seconds = {QUIET}')
    batch = daemon.inbox / "batch-a"
    batch.mkdir()
    for n in range(1, 13):  # page2 before page10: natural order, not the names' order
        (batch / f".page{n}.png.part").write_bytes(png_bytes(page(f"Batch page {n} here")))
        (batch / f".page{n}.png.part").rename(batch / f"page{n}.png")
        time.sleep(1.0)
        assert not done_events(daemon), "a document was made before the batch was quiet"
        assert not list(daemon.outbox.glob("*.json"))
    last_copy = time.monotonic()
    daemon.wait_done(1, timeout=180)
    started = [e for e in daemon.events() if e.get("event") == "document.started"]
    assert len(started) == 1 and started[0]["pages"] == 12 and started[0]["files"] == 12
    assert time.monotonic() - last_copy >= QUIET - 1
    data = json.loads((daemon.outbox / "batch-a.json").read_text())
    assert data["source"]["format"] == "folder"
    assert data["source"]["pages"] == 12
    assert [f["name"] for f in data["source"]["files"]] == [f"page{n}.png" for n in range(1, 13)]
    assert [p["origin"] for p in data["pages"]] == [
        {"file": f"page{n}.png", "page": 1} for n in range(1, 13)
    ]
    for n, text in enumerate(page_texts(data), start=1):
        assert f"page {n} here" in text
    originals = sorted(p.name for p in (daemon.outbox / "batch-a").iterdir())
    assert originals == sorted(f"page{n}.png" for n in range(1, 13))
    assert (daemon.outbox / "batch-a.txt").read_text().count("\f") == 11
    assert not list(daemon.inbox.iterdir())
    assert not [p for p in (daemon.root / "state" / "work").rglob("*") if p.is_file()]


@pytest.mark.parametrize("point", [*BATCH_POINTS, "after_claim", "after_ocr", "after_publish"])
def test_a_batch_killed_while_claimed_or_read_ends_once_with_its_pages_in_order(
    tmp_path: Path, point: str
) -> None:
    batch = tmp_path / "inbox" / "scan 2026.12.03"  # a dot is not an ending of a folder
    batch.mkdir(parents=True)
    for n in (1, 2, 3):
        page(f"Killed batch page {n} here").save(batch / f"img{n:02d}.png", dpi=(300, 300))
    config = write_config(tmp_path, watch_extra='assemble = "folder"\nquiet_seconds = 1')
    assert run_until_killed(tmp_path, config, point) == -9
    daemon = start_daemon(tmp_path, config)
    try:
        daemon.wait_for(
            lambda: (
                (daemon.outbox / "scan 2026.12.03.json").exists()
                and not (tmp_path / "inbox" / "scan 2026.12.03").exists()
            ),
            120,
            "the batch published after the restart",
        )
        time.sleep(2)  # anything left would be claimed again by now
    finally:
        assert daemon.stop() == 0
    data = json.loads((daemon.outbox / "scan 2026.12.03.json").read_text())
    assert [p["origin"]["file"] for p in data["pages"]] == ["img01.png", "img02.png", "img03.png"]
    for n, text in enumerate(page_texts(data), start=1):
        assert f"page {n} here" in text
    assert sorted(p.name for p in daemon.outbox.iterdir()) == [
        "index.csv",
        "scan 2026.12.03",
        "scan 2026.12.03.json",
        "scan 2026.12.03.txt",
    ]
    assert sorted(p.name for p in (daemon.outbox / "scan 2026.12.03").iterdir()) == [
        "img01.png",
        "img02.png",
        "img03.png",
    ]
    (row,) = csv.DictReader(io.StringIO((daemon.outbox / "index.csv").read_text()))
    # The folder as dropped, and its report.
    assert (row["file"], row["sidecar"]) == ("scan 2026.12.03/", "scan 2026.12.03.json")
    assert not list(daemon.failed.rglob("*"))
    assert not [p for p in (tmp_path / "state" / "work").rglob("*") if p.is_file()]


def test_a_batch_page_has_the_pixels_of_its_file_as_the_file_alone_does(daemon_factory) -> None:
    """A 640x480 PNG at 200 DPI: alone or in a batch (beside a PDF page), the same width,
    height and word boxes, the space of ``origin.file``; the batch's PDF has its text."""
    small = render_page(("Pixels of its own file.", "Boxes that match it."), width=640, height=480)
    daemon = daemon_factory(
        watch_extra='assemble = "folder"\nquiet_seconds = 2\n[watch.ocr]\noutputs = ["json", "pdf"]'
    )
    small.save(daemon.inbox / "alone.png", dpi=(200, 200))
    batch = daemon.root / "mixed"
    batch.mkdir()
    small.save(batch / "a.png", dpi=(200, 200))
    (batch / "b.pdf").write_bytes(pdf_of([page("A PDF page of the batch")]))
    shutil.move(batch, daemon.inbox / "mixed")
    daemon.wait_done(2, timeout=120)
    alone = json.loads((daemon.outbox / "alone.json").read_text())["pages"][0]
    mixed = json.loads((daemon.outbox / "mixed.json").read_text())["pages"]
    assert [p["number"] for p in mixed] == [1, 2]
    assert mixed[0]["origin"] == {"file": "a.png", "page": 1}
    assert (
        (mixed[0]["width"], mixed[0]["height"]) == (alone["width"], alone["height"]) == (640, 480)
    )
    assert [w["box"] for w in mixed[0]["words"]] == [w["box"] for w in alone["words"]]
    assert (mixed[1]["width"], mixed[1]["height"]) == (2480, 600)  # the PDF page, at 300 DPI
    shown = subprocess.run(
        ["pdftotext", str(daemon.outbox / "mixed.ocr.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Pixels of its own file." in shown and "A PDF page of the batch" in shown


def test_a_file_added_after_the_batch_was_claimed_is_a_batch_of_its_own(daemon_factory) -> None:
    daemon = daemon_factory(watch_extra='assemble = "folder"\nquiet_seconds = 2')
    batch = daemon.inbox / "batch-b"
    batch.mkdir()
    for n in (1, 2):
        page(f"Early page {n} here").save(batch / f"p{n}.png", dpi=(300, 300))
    daemon.wait_for(lambda: not batch.exists(), 60, "the batch folder claimed")
    # The scanner, late, makes its folder again and writes one more page into it.
    batch.mkdir()
    page("Late page 3 here").save(batch / "p3.png", dpi=(300, 300))
    daemon.wait_done(2, timeout=120)
    first = json.loads((daemon.outbox / "batch-b.json").read_text())
    late = json.loads((daemon.outbox / "batch-b-2.json").read_text())
    assert [p["origin"]["file"] for p in first["pages"]] == ["p1.png", "p2.png"]
    assert [p["origin"]["file"] for p in late["pages"]] == ["p3.png"]
    assert "Late page 3" in page_texts(late)[0]
    assert sorted(p.name for p in (daemon.outbox / "batch-b").iterdir()) == ["p1.png", "p2.png"]
    assert sorted(p.name for p in (daemon.outbox / "batch-b-2").iterdir()) == ["p3.png"]


def test_a_stack_is_split_at_blank_pages_and_at_patch_t_and_code128_sheets(
    daemon_factory,
) -> None:
    other = 'separate = "barcode"\n' + "\n".join(
        f'{k} = "{v}"' for k, v in (("inbox", "inbox2"), ("outbox", "out2"), ("failed", "f2"))
    )
    daemon = daemon_factory(
        watch_extra='separate = "blank"\n[watch.ocr]\noutputs = ["txt", "json", "pdf"]',
        extra=f"[[watch]]\n{other}\nstable_seconds = 1.0\n",
    )
    docs = [["Letter A page 1", "Letter A page 2"], ["Invoice B page 1", "Invoice B page 2"]]
    docs.append(["Memo C page 1"])
    blank_stack = [*map(page, docs[0]), blank_sheet(), *map(page, docs[1])]
    blank_stack += [blank_sheet(5), *map(page, docs[2])]
    code_stack = [*map(page, docs[0]), patch_t_sheet(), *map(page, docs[1])]
    code_stack += [code128_sheet(), *map(page, docs[2])]
    (daemon.root / "inbox2").mkdir(exist_ok=True)
    (daemon.inbox / "stack.pdf").write_bytes(pdf_of(blank_stack))
    (daemon.root / "inbox2" / "stack.pdf").write_bytes(pdf_of(code_stack))
    daemon.wait_done(2, timeout=180)
    for outbox, kinds in ((daemon.outbox, ["blank", "blank"]), (daemon.root / "out2", None)):
        names = sorted(p.name for p in outbox.iterdir())
        assert names == sorted(
            ["index.csv", "stack.pdf"]
            + [f"stack-{k}{s}" for k in (1, 2, 3) for s in (".txt", ".json")]
            + ([f"stack-{k}.ocr.pdf" for k in (1, 2, 3)] if outbox == daemon.outbox else [])
        )
        for k, lines in enumerate(docs, start=1):
            data = json.loads((outbox / f"stack-{k}.json").read_text())
            assert data["part"]["number"] == k and data["part"]["of"] == 3
            assert len(data["pages"]) == len(lines)
            for line, text in zip(lines, page_texts(data), strict=True):
                assert line in text
            assert [s["page"] for s in data["separators"]] == [3, 6]
            if kinds:
                assert [s["kind"] for s in data["separators"]] == kinds
            else:
                assert [(s["kind"], s["value"], s["format"]) for s in data["separators"]] == [
                    ("patch", "PATCH T", "PATCH"),
                    ("barcode", "PATCH T", "Code128"),
                ]
        rows = list(csv.DictReader(io.StringIO((outbox / "index.csv").read_text())))
        # One original, three documents: each row names the file dropped, its part, its JSON.
        assert sorted((r["file"], r["part"], r["sidecar"]) for r in rows) == [
            ("stack.pdf", f"{k}/3", f"stack-{k}.json") for k in (1, 2, 3)
        ]
    with pikepdf.open(daemon.outbox / "stack-2.ocr.pdf") as pdf:
        assert len(pdf.pages) == 2


def test_a_duplex_pair_is_interleaved_and_a_mismatched_pair_fails_with_its_reason(
    daemon_factory,
) -> None:
    daemon = daemon_factory(watch_extra='assemble = "folder"\nquiet_seconds = 2\nduplex = true')
    good = daemon.inbox / "duplex-good"
    bad = daemon.inbox / "duplex-bad"
    for folder in (good, bad):
        folder.mkdir()
    # The scanner's two passes, named in order: all fronts, then the backs in reverse.
    sides = {n: page(f"Sheet side {n} here") for n in range(1, 7)}
    (good / "scan_0001.pdf").write_bytes(pdf_of([sides[1], sides[3], sides[5]]))
    (good / "scan_0002.pdf").write_bytes(pdf_of([sides[6], sides[4], sides[2]]))
    (bad / "scan_0001.pdf").write_bytes(pdf_of([sides[1], sides[3], sides[5]]))
    (bad / "scan_0002.pdf").write_bytes(pdf_of([sides[6], sides[4]]))
    daemon.wait_done(2, timeout=180)
    data = json.loads((daemon.outbox / "duplex-good.json").read_text())
    assert data["source"]["duplex"] is True
    for n, text in enumerate(page_texts(data), start=1):
        assert f"side {n} here" in text
    assert [(p["origin"]["file"], p["origin"]["page"]) for p in data["pages"]] == [
        ("scan_0001.pdf", 1),
        ("scan_0002.pdf", 3),
        ("scan_0001.pdf", 2),
        ("scan_0002.pdf", 2),
        ("scan_0001.pdf", 3),
        ("scan_0002.pdf", 1),
    ]
    report = json.loads((daemon.failed / "duplex-bad.error.json").read_text())
    assert report["reason"] == "bad_batch"
    assert "two files with the same number of pages" in report["message"]
    assert (
        "scan_0001.pdf (3 pages)" in report["message"]
        and "scan_0002.pdf (2 pages)" in report["message"]
    )
    assert sorted(p.name for p in (daemon.failed / "duplex-bad").iterdir()) == [
        "scan_0001.pdf",
        "scan_0002.pdf",
    ]


def test_status_shows_a_batch_waiting_for_quiet(daemon_factory) -> None:
    daemon = daemon_factory(watch_extra='assemble = "folder"\nquiet_seconds = 60')
    batch = daemon.inbox / "slow-scan"
    batch.mkdir()
    page("Waiting page").save(batch / "one.png", dpi=(300, 300))
    proc = subprocess.run(
        [sys.executable, "-m", "hotocr", "status", "--config", str(daemon.root / "config.toml")],
        cwd=daemon.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "slow-scan" in proc.stdout and "1 file" in proc.stdout
    assert "waiting for quiet" in proc.stdout
    shutil.rmtree(batch)


def test_a_journal_from_before_batches_gains_the_kind_column(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY, inbox BLOB NOT NULL, rel_path BLOB NOT"
            " NULL, work_path BLOB NOT NULL, state TEXT NOT NULL, sha256 TEXT, bytes INTEGER,"
            " pages INTEGER, attempts INTEGER NOT NULL DEFAULT 0, transient_failures INTEGER"
            " NOT NULL DEFAULT 0, out_dir BLOB, out_stem BLOB, reason TEXT, last_error TEXT,"
            " created REAL NOT NULL, updated REAL NOT NULL, finished REAL)"
        )
        db.execute(
            "INSERT INTO jobs (inbox, rel_path, work_path, state, created, updated)"
            " VALUES (?, ?, ?, 'claimed', 1, 1)",
            (b"/in", b"old.pdf", b"/work/1/old.pdf"),
        )
    journal = Journal(path)
    try:
        (old,) = journal.unfinished()
        assert old.kind == "file" and old.original_suffix == ".pdf"
        new = journal.begin_claim(Path("/in"), Path("scan 2026.12.03"), tmp_path, kind="batch")
        assert new.kind == "batch" and new.original_suffix == ""
    finally:
        journal.close()


def test_a_failed_batch_folders_notice_names_the_report_beside_it(tmp_path: Path) -> None:
    """A folder's name has no ending to replace: the ``failed`` notice of the batch
    "scan 2026.12.03" names the report written for it, "scan 2026.12.03.error.json"."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[watch]]\ninbox = "in"\nassemble = "folder"\n[[watch.hook]]\ncommand = ["true"]\n'
    )
    watch = config.load(cfg).watches[0]
    journal = Journal(tmp_path / "journal.db")
    try:
        job = journal.begin_claim(watch.inbox, Path("scan 2026.12.03"), tmp_path, kind="batch")
    finally:
        journal.close()
    job.work_path.mkdir(parents=True)
    (job.work_path / "page1.png").write_bytes(png_bytes(page("one")))
    failed = tmp_path / "failed"
    failed.mkdir()
    dest = sidecars.publish_failure(
        BadBatch("no page"), original=job.work_path, folder=failed, stage="inspect"
    )
    assert dest == failed / "scan 2026.12.03" and dest.is_dir()
    (event,) = failed_event(
        watch, dest, reason="bad_batch", message="no page", sha256=None, job=job
    )
    report = Path(json.loads(event.payload)["json"])
    assert report == failed / "scan 2026.12.03.error.json"
    assert json.loads(report.read_text())["reason"] == "bad_batch"
