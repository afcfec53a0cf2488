"""Separator pages (blank, PATCH-T, Code 128 / QR), the batch tracker's quiet time, natural
page order, and a read document split into parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hotocr import separators
from hotocr.batches import BatchTracker, batch_files, natural_key
from hotocr.datatypes import DocumentResult, PageResult
from hotocr.pages import Kind, SourceInfo
from hotocr.separators import Separator
from hotocr.sidecars import document_json
from hotocr.splitting import split
from tests.conftest import eval_path, render_page
from tests.test_batches import blank_sheet, code128_sheet, patch_t_sheet

EVAL_IMAGES = ("png", "jpg", "tif")


def gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


# --- blank pages ------------------------------------------------------------------------


def test_a_scanned_blank_sheet_with_grain_dust_and_show_through_is_blank() -> None:
    sheet = gray(blank_sheet()).copy()
    sheet[200:260, 300:1400] = 220  # light show-through of the back's print
    sheet[300:303, 900:1100] = 60  # a hair: one mark
    assert separators.is_blank(sheet, 300)


def test_a_page_with_one_short_word_or_a_dark_picture_is_not_blank() -> None:
    title = render_page(("Report",), size=60, height=1400)
    assert not separators.is_blank(gray(title), 300)
    assert not separators.is_blank(np.full((1400, 2480), 40, np.uint8), 300)


def eval_images() -> list[Path]:
    folder = eval_path("pages")
    if not folder.is_dir():
        pytest.skip("../shared/eval is not here")
    found = [p for p in sorted(folder.iterdir()) if p.suffix.lstrip(".") in EVAL_IMAGES]
    return found + sorted(eval_path("skew").glob("*.png"))


def _dpi(image: Image.Image) -> int:
    dpi = image.info.get("dpi") or (300, 300)
    return int(float(dpi[0])) if float(dpi[0]) > 1 else 300


def _first_line_only(page: np.ndarray) -> np.ndarray:
    """The real page with everything but one line of text whited out (its first whole line
    below the top tenth): a real scan (its paper, grain and ink) with as little text as a
    title page or a cover."""
    height, width = page.shape
    left, right = width // 10, width - width // 10  # scan borders are no text
    core = page[:, left:right]
    ink_rows = np.flatnonzero((core < 128).sum(axis=1) > core.shape[1] * 0.01)
    bands = np.split(ink_rows, np.flatnonzero(np.diff(ink_rows) > 3) + 1)
    band = next((b for b in bands if b.size and b[0] > height // 10), None)
    if band is None:
        return page
    out = np.full_like(page, int(np.percentile(page, 90)))
    out[band[0] : band[-1] + 1, left:right] = page[band[0] : band[-1] + 1, left:right]
    return out


#: Real pages are at least this many inches on their short side at their stated
#: resolution (one eval image is a 1 x 2 inch cut-out, not a page).
PAGE_INCHES = 3.0


def test_no_real_page_and_no_real_page_cut_down_to_one_line_is_blank() -> None:
    checked = 0
    for path in eval_images():
        with Image.open(path) as image:
            page, dpi = gray(image), _dpi(image)
        if min(page.shape) / dpi < PAGE_INCHES:
            continue
        assert not separators.is_blank(page, dpi), path.name
        assert separators.find(page, dpi, "barcode", "PATCH T") is None, path.name
        if path.parent.name == "pages":  # upright pages: a line is a band of rows
            line = _first_line_only(page)
            assert separators.marks(line, dpi) > separators.BLANK_MAX_MARKS, path.name
        checked += 1
    assert checked >= 12


# --- patch codes and barcodes -------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "name"), sorted(separators.PATCH_PATTERNS.items()))
def test_each_patch_code_is_told_by_its_bars(pattern: str, name: str) -> None:
    page = np.full((3300, 2550), 250, np.uint8)
    y = 300
    for bar in pattern:
        thickness = 60 if bar == "W" else 24
        page[y : y + thickness, 600:1500] = 10
        y += thickness + 24
    assert separators.patch_code(page) == name
    # End-fed: the bars down the page, read from its right edge.
    assert separators.patch_code(np.ascontiguousarray(np.rot90(page, k=-1))) == name


def test_a_patch_t_sheet_and_a_code128_sheet_separate_and_other_codes_do_not() -> None:
    assert separators.find(gray(patch_t_sheet()), 300, "barcode", "PATCH T") == Separator(
        "patch", "PATCH T", "PATCH"
    )
    found = separators.find(gray(code128_sheet()), 300, "barcode", "PATCH T")
    assert found == Separator("barcode", "PATCH T", "Code128")
    # Sheets printed for other systems read "PATCHT": the same separator.
    assert separators.find(gray(code128_sheet("PATCHT")), 300, "barcode", "PATCH T")
    assert separators.find(gray(code128_sheet("INVOICE-7731")), 300, "barcode", "PATCH T") is None
    # A barcode sheet is not blank, and in blank mode a patch sheet does not separate.
    assert separators.find(gray(patch_t_sheet()), 300, "blank", "PATCH T") is None


# --- batches: quiet time and page order --------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_is_quiet_only_after_nothing_in_it_changed_for_the_quiet_time(
    tmp_path: Path,
) -> None:
    clock = Clock()
    tracker = BatchTracker(10.0, clock=clock)
    folder = tmp_path / "batch"
    folder.mkdir()
    tracker.observe(folder)
    clock.now = 20
    assert tracker.quiet() == []  # empty: nothing to take, however long
    (folder / "p1.png").write_bytes(b"1")
    tracker.observe(folder)
    for now in (21, 25, 30):
        clock.now = now
        assert tracker.quiet() == []
    (folder / ".p2.png.part").write_bytes(b"2")  # a scanner's temporary name counts
    clock.now = 31.5
    assert tracker.quiet() == []
    assert [w.files for w in tracker.waiting()] == [2]
    clock.now = 41
    assert tracker.quiet() == []
    clock.now = 42
    assert tracker.quiet() == [folder]
    assert len(tracker) == 0


def test_a_batch_folder_that_goes_away_is_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    tracker = BatchTracker(1.0, clock=clock)
    folder = tmp_path / "gone"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"a")
    tracker.observe(folder)
    folder.rename(tmp_path / "elsewhere")
    clock.now = 5
    assert tracker.quiet() == [] and len(tracker) == 0


def test_batch_pages_come_in_natural_name_order(tmp_path: Path) -> None:
    names = ["page10.png", "page2.png", "Page1.png", "page11.jpg", "sub/page3.png", ".hidden"]
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in batch_files(tmp_path, (".*",))]
    assert found == ["Page1.png", "page2.png", "page10.png", "page11.jpg", "sub/page3.png"]
    assert natural_key("scan_0009") < natural_key("scan_0010")


# --- splitting ----------------------------------------------------------------------------


def _page(number: int, text: str, separator: Separator | None = None) -> PageResult:
    return PageResult(
        number=number,
        text=text,
        raw_text=text,
        confidence=90.0,
        low_confidence=False,
        words=(),
        rotation=0,
        skew_degrees=None,
        seconds=0.1,
        backend="cpu",
        separator=separator,
    )


def test_a_document_is_split_at_its_separators_and_empty_parts_are_dropped() -> None:
    blank = Separator("blank")
    texts = [None, "a1", "a2", None, None, "b1", None]  # None: a separator page
    pages = tuple(
        _page(n, t or "", blank if t is None else None) for n, t in enumerate(texts, start=1)
    )
    source = SourceInfo(Path("stack.pdf"), Kind.PDF, len(pages), "0" * 64, 10)
    result = DocumentResult(source, ("eng",), pages, "5.3.0", 1.0)
    parts = split(result)
    assert [[p.text for p in part.pages] for part in parts] == [["a1", "a2"], ["b1"]]
    assert [p.part.pages for p in parts if p.part] == [(2, 3), (6,)]
    data = document_json(parts[1], name="stack.pdf")
    assert data["part"] == {"number": 2, "of": 2, "source_pages": [6]}
    assert [s["page"] for s in data["separators"]] == [1, 4, 5, 7]
    assert [(p["number"], p["source_page"]) for p in data["pages"]] == [(1, 6)]
    plain = DocumentResult(source, ("eng",), (_page(1, "x"),), "5.3.0", 1.0)
    assert split(plain) == [plain]
    only = DocumentResult(source, ("eng",), (_page(1, "", blank),), "5.3.0", 1.0)
    assert split(only) == []
