"""PDF pages that already have text (``[ocr] existing_text``): a born-digital page printed by
a real browser, a mixed PDF (a scan, a digital page, a scan with a digital footer), a PDF an
earlier OCR made searchable, and a text layer that cannot be extracted. Each word of the
``.ocr.pdf`` must be found once by ``pdftotext``."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import img2pdf
import pikepdf
import pytest

from hotocr import pdf_text
from hotocr.outputs.pdf import glyphless_font

from .conftest import render_page
from .test_outputs import process, qpdf_check

HTML = """<html><body style="font: 16px serif; margin: 2cm">
<h1>Quarterly report</h1>
<p>The quick brown fox jumps over the lazy dog. Sales rose in every region this quarter.</p>
<p>Invoice INV-2026-0042 was paid on 12.11.2026; the amount was 1,234.50 EUR.</p>
</body></html>"""
SCAN_LINES = ("A scanned letter about the harbour.", "The ships arrive on Monday morning.")
FOOTED_LINES = ("Minutes of the board meeting.", "The budget was approved by all members.")
FOOTER = "Stamped footer: filed by the registry clerk"


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def words(text: str) -> Counter[str]:
    return Counter(text.split())


@pytest.fixture(scope="module")
def born_digital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A web page printed to PDF by Debian's chromium, as the issue's user did."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed")
    folder = tmp_path_factory.mktemp("born")
    (folder / "page.html").write_text(HTML)
    pdf = folder / "born.pdf"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={folder / 'profile'}",
            f"--print-to-pdf={pdf}",
            str(folder / "page.html"),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert "Quarterly report" in pdftotext(pdf)
    return pdf


def scan(lines: tuple[str, ...]) -> pikepdf.Pdf:
    buffer = io.BytesIO()
    render_page(lines, height=1400).save(buffer, format="PNG", dpi=(300, 300))
    return pikepdf.open(io.BytesIO(img2pdf.convert(buffer.getvalue())))


def add_footer(pdf: pikepdf.Pdf, page: pikepdf.Page, text: str) -> None:
    """Visible text in Helvetica, as a document system stamps a scan."""
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type1,
        BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    )
    name = page.add_resource(pdf.make_indirect(font), pikepdf.Name.Font, prefix="F")
    page.contents_add(pdf.make_stream(f"BT {name} 11 Tf 72 24 Td ({text}) Tj ET".encode()))


@pytest.fixture(scope="module")
def mixed(born_digital: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scan, a born-digital page, and a scan with a digital footer."""
    out = pikepdf.new()
    parts = [scan(SCAN_LINES), pikepdf.open(born_digital), scan(FOOTED_LINES)]
    for part in parts:
        out.pages.append(part.pages[0])
    add_footer(out, out.pages[2], FOOTER)
    path = tmp_path_factory.mktemp("mixed") / "mixed.pdf"
    out.save(path)
    return path


@pytest.mark.parametrize("mode", ["skip", "redo"])
def test_a_born_digital_pdf_keeps_its_text_once_and_is_not_read(
    born_digital: Path, tmp_path: Path, mode: str
) -> None:
    out = tmp_path / "out"
    process(born_digital, out=out, extra=("--existing-text", mode))
    assert words(pdftotext(out / "born.ocr.pdf")) == words(pdftotext(born_digital))
    (page,) = json.loads((out / "born.json").read_text())["pages"]
    assert page["source"] == "pdf text" and not page["low_confidence"]
    assert page["recipe"] is None  # not read: no recognizer, no steps
    # Its words, with boxes, reach the text, hOCR and ALTO too.
    assert "INV-2026-0042" in (out / "born.txt").read_text()
    assert "INV-2026-0042" in (out / "born.hocr").read_text()
    assert 'CONTENT="INV-2026-0042"' in (out / "born.alto.xml").read_text()
    amount = next(w for w in page["words"] if w["text"] == "1,234.50")
    assert amount["confidence"] == 100 and amount["box"][2] > 0
    qpdf_check(out / "born.ocr.pdf")


def test_force_reads_a_born_digital_page_as_an_image(born_digital: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    process(born_digital, out=out, outputs="json", extra=("--existing-text", "force"))
    (page,) = json.loads((out / "born.json").read_text())["pages"]
    assert page["source"] == "ocr" and page["recipe"]["recognizer"]
    assert "Quarterly" in page["text"]


@pytest.mark.parametrize("mode", ["skip", "redo"])
def test_a_mixed_pdf_gives_each_word_once(mixed: Path, tmp_path: Path, mode: str) -> None:
    out = tmp_path / "out"
    process(mixed, out=out, extra=("--existing-text", mode))
    found = words(pdftotext(out / "mixed.ocr.pdf"))
    expected = words(" ".join(SCAN_LINES + FOOTED_LINES + (FOOTER,))) + words(
        pdftotext(mixed).split("\f")[1]
    )
    assert found == expected, (found - expected, expected - found)
    data = json.loads((out / "mixed.json").read_text())
    assert [p["source"] for p in data["pages"]] == ["ocr", "pdf text", "pdf text + ocr"]
    footed = data["pages"][2]
    # The footer is the PDF's own (exact, confidence 100); the scan's words were read.
    assert footed["text"].endswith(FOOTER)
    assert all(w["confidence"] == 100 for w in footed["words"] if w["text"] == "registry")
    assert FOOTED_LINES[0] in footed["text"]
    # Its confidence is that of the words read, and its flag follows from it.
    read = [w["confidence"] for w in footed["words"] if not w.get("in_pdf")]
    assert read and footed["confidence"] == pytest.approx(sum(read) / len(read), abs=0.01)
    assert footed["low_confidence"] == (footed["confidence"] < data["low_confidence_threshold"])
    assert [w["line"] for w in footed["words"]] == sorted(w["line"] for w in footed["words"])


def test_an_earlier_ocr_layer_is_kept_by_skip_and_replaced_by_redo(
    mixed: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    process(mixed, out=first, outputs="json,pdf")
    searchable = tmp_path / "searchable.pdf"
    shutil.copy(first / "mixed.ocr.pdf", searchable)
    once = words(pdftotext(searchable))
    skip, redo = tmp_path / "skip", tmp_path / "redo"
    process(searchable, out=skip, outputs="json,pdf", extra=("--existing-text", "skip"))
    process(searchable, out=redo, outputs="json,pdf", extra=("--existing-text", "redo"))
    assert words(pdftotext(skip / "searchable.ocr.pdf")) == once
    assert words(pdftotext(redo / "searchable.ocr.pdf")) == once
    kept = json.loads((skip / "searchable.json").read_text())["pages"]
    again = json.loads((redo / "searchable.json").read_text())["pages"]
    assert [p["source"] for p in kept] == ["pdf text"] * 3
    assert [p["source"] for p in again] == ["ocr", "pdf text", "pdf text + ocr"]
    # redo took the invisible layer out of the page itself: only ours is left.
    with pikepdf.open(redo / "searchable.ocr.pdf") as pdf:
        shown = [i for i in pikepdf.parse_content_stream(pdf.pages[0]) if str(i.operator) == "Tj"]
    assert len(shown) == len(again[0]["words"])


def test_a_text_layer_that_cannot_be_extracted_counts_as_none(tmp_path: Path) -> None:
    """A scan with an invisible layer in a font without a Unicode map: read as a scan."""
    pdf = scan(SCAN_LINES)
    font = glyphless_font(pdf)  # the text layer's own font, less its Unicode map
    del font.ToUnicode
    page = pdf.pages[0]
    name = page.add_resource(font, pikepdf.Name.Font, prefix="G")
    codes = bytes(range(1, 60)).hex()
    page.contents_add(pdf.make_stream(f"BT 3 Tr {name} 20 Tf 72 600 Td <{codes}> Tj ET".encode()))
    source = tmp_path / "garbled.pdf"
    pdf.save(source)
    out = tmp_path / "out"
    process(source, out=out, outputs="json")
    (read,) = json.loads((out / "garbled.json").read_text())["pages"]
    assert read["source"] == "ocr" and SCAN_LINES[0] in read["text"]


@pytest.mark.parametrize(
    ("text", "usable"),
    [
        ("Quarterly report 2026", True),
        ("\ufffd\ufffd\ufffd\ufffd", False),  # what poppler gives for unmapped codes
        ("\ue001\ue002\ue003\ue004 ab", False),  # private-use code points
        ("\x01\x02\x03\x04\x05", False),
        ("ab", False),  # too little to be a page's text
    ],
)
def test_usable_text(text: str, usable: bool) -> None:
    assert pdf_text.usable([text]) is usable
