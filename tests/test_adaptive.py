"""Per-page choices: each mechanism fires on a page made for it and stays off on a clean page.

Real Tesseract on rendered pages (and, for Fraktur, the eval set's 1815 and 1879 pages).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from hotocr import pages
from hotocr.coverage import unread_share
from hotocr.datatypes import PageSettings, PageTask, Recognition
from hotocr.preprocess import preprocess, to_gray
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.plan import plan_page
from hotocr.preprocess.survey import survey
from hotocr.reading import _if_text_was_left, choose_model
from hotocr.recognize import ReadRequest
from hotocr.recognize.tesseract import read
from hotocr.worker import holds_no_text, on_page, process_page

from .conftest import ENGLISH_LINES, cer, degrade, eval_path, render_page

STEPS = PageSettings.defaults().steps
TRUTH = "\n".join(ENGLISH_LINES)


def _gray(image: Image.Image) -> np.ndarray:
    return to_gray(image)


def _read(tmp_path: Path, image: Image.Image, **changes: object) -> tuple[str, object]:
    """The page read by Tesseract (these tests are about the page it is given)."""
    path = tmp_path / "page.png"
    image.save(path)
    tesseract = dataclasses.replace(PageSettings.defaults(("eng",)), recognizer="tesseract")
    settings = dataclasses.replace(tesseract, **changes)  # type: ignore[arg-type]
    result = process_page(PageTask(path, pages.Kind.PNG, 1, settings))
    return result.text, result.recipe


def test_glyph_height_follows_the_type_size() -> None:
    heights = []
    for size in (16, 32, 64):
        page = render_page(ENGLISH_LINES, size=size, width=2800, height=900, margin=40)
        found = survey(_gray(page), None).text_height
        assert found is not None
        heights.append(found)
    assert heights[0] < heights[1] < heights[2]
    assert 1.6 < heights[1] / heights[0] < 2.4
    assert 1.6 < heights[2] / heights[1] < 2.4


def test_a_clean_page_gets_no_extra_step(tmp_path: Path) -> None:
    page = render_page(ENGLISH_LINES, size=40)
    plan = plan_page(survey(_gray(page), 300), STEPS, dpi=300)
    assert plan.scale == 1.0
    assert "remove_background" not in plan.steps
    assert "contrast" not in plan.steps
    assert plan.alternative is None
    assert "paper even and white" in plan.reasons["remove_background"]
    text, recipe = _read(tmp_path, page)
    assert cer(text, TRUTH) < 0.02
    assert recipe.scale == 1.0 and recipe.model == "eng"  # type: ignore[attr-defined]


def _fax(lines: tuple[str, ...]) -> Image.Image:
    """A page as a 75-DPI fax has it: drawn at 300 DPI, shrunk 4x, black and white."""
    page = to_gray(render_page(lines, size=36, width=2000, height=1000, margin=60))
    small = cv2.resize(page, None, fx=1 / 4, fy=1 / 4, interpolation=cv2.INTER_AREA)
    return Image.fromarray(np.where(small < 170, 0, 255).astype(np.uint8))


def test_small_type_is_enlarged_and_reads_better(tmp_path: Path) -> None:
    """Text 6 px high, as on a 75-DPI fax: enlarged, and read far better for it (CER 0.26
    -> 0.14 when this was written)."""
    page = _fax(ENGLISH_LINES)
    plan = plan_page(survey(_gray(page), None), STEPS, dpi=None)
    assert plan.scale > 1.5
    assert "enlarged" in plan.reasons["fit_text"]
    enlarged, recipe = _read(tmp_path, page, correction=False)
    steps = tuple(s for s in STEPS if s != "fit_text")
    as_is, _ = _read(tmp_path, page, steps=steps, correction=False)
    assert recipe.scale > 1.5  # type: ignore[attr-defined]
    assert cer(enlarged, TRUTH) < cer(as_is, TRUTH) - 0.08


def test_small_type_is_no_blank_page_and_specks_are() -> None:
    """An image without a resolution is taken at 300 DPI; its 6-pixel letters are then
    shorter than the 1.5 mm of a mark, but shaped like glyphs: the page is read."""
    assert not holds_no_text(_gray(_fax(ENGLISH_LINES)), None)
    sheet = np.full((3508, 2480), 245, np.uint8)
    sheet[1000:1003, 700:703] = 60  # two specks of dust
    sheet[2500:2502, 1800:1804] = 80
    assert holds_no_text(sheet, 300)


def test_huge_type_is_shrunk_by_a_whole_factor() -> None:
    page = render_page(ENGLISH_LINES[:3], size=110, width=3600, height=900, margin=60)
    plan = plan_page(survey(_gray(page), None), STEPS, dpi=None)
    assert plan.scale == 0.5
    prep = preprocess(CpuBackend(), _gray(page), dpi=None, steps=STEPS, plan=plan)
    assert prep.image.shape == (450, 1800)


def test_stained_paper_gets_background_removal() -> None:
    page = degrade(render_page(ENGLISH_LINES, size=40))
    plan = plan_page(survey(_gray(page), 300), STEPS, dpi=300)
    assert "remove_background" in plan.steps and "contrast" in plan.steps
    assert plan.reasons["remove_background"].startswith("paper ")


def test_a_grey_form_background_is_read_both_ways(tmp_path: Path) -> None:
    """A light grey, slightly uneven form background is neither clearly clean nor clearly
    stained: both readings are made, and the more confident one is kept."""
    page = np.asarray(render_page(ENGLISH_LINES, size=40, paper=255), dtype=np.float32)
    h, w = page.shape
    shade = 215 + 15 * np.linspace(0, 1, w)[None, :] * np.ones((h, 1))
    form = Image.fromarray(np.minimum(page, shade).astype(np.uint8))
    plan = plan_page(survey(_gray(form), 300), STEPS, dpi=300)
    assert plan.alternative is not None
    assert "remove_background" not in plan.alternative.steps
    text, recipe = _read(tmp_path, form)
    assert "read both ways" in recipe.reasons["remove_background"]  # type: ignore[attr-defined]
    assert cer(text, TRUTH) < 0.03


def test_faint_ink_is_stretched_without_background_removal(tmp_path: Path) -> None:
    page = render_page(ENGLISH_LINES, size=40, ink=190)
    page.putpixel((5, 5), 0)  # a speck of dirt darker than all the print
    plan = plan_page(survey(_gray(page), 300), STEPS, dpi=300)
    assert "contrast" in plan.steps and "remove_background" not in plan.steps
    assert plan.faint_ink is not None and plan.faint_ink >= 150
    prep = preprocess(CpuBackend(), _gray(page), dpi=300, steps=STEPS, plan=plan)
    assert int(np.percentile(prep.image[prep.image < 250], 10)) < 60  # the print is dark now
    text, _ = _read(tmp_path, page)
    assert cer(text, TRUTH) < 0.03


def test_faint_ink_is_told_by_the_letters_not_by_a_black_scan_border() -> None:
    """A scanner's black edge is far darker than a faded print; the ink level is measured
    on the letters, so the print is still found faint. Dark print in the same border is not."""
    for ink, faint in ((190, True), (20, False)):
        page = np.asarray(render_page(ENGLISH_LINES, size=40, ink=ink)).copy()
        page[:60, :] = 0  # the scanner lid's edge along the top and one side
        page[:, :40] = 0
        found = survey(page, 300)
        assert found.ink_level is not None
        assert (found.ink_level >= 150) is faint, (ink, found.ink_level)
        plan = plan_page(found, STEPS, dpi=300)
        assert ("faint ink" in plan.reasons.get("contrast", "")) is faint


def test_fixed_steps_when_adaptive_is_off() -> None:
    page = render_page(ENGLISH_LINES, size=40)
    prep = preprocess(CpuBackend(), _gray(page), dpi=300, steps=STEPS, adaptive=False)
    assert prep.applied == STEPS


@pytest.mark.parametrize(
    ("name", "fraktur"),
    [("gtst_clauren_mimil_1815_0023.jpg", True), ("gtst_bebel_frau_1879_0146.tif", False)],
)
def test_fraktur_pages_are_told_apart_from_antiqua(
    tmp_path: Path, name: str, fraktur: bool
) -> None:
    path = eval_path("pages", name)
    gray = to_gray(Image.open(path))
    settings = dataclasses.replace(PageSettings.defaults(("deu",)), fraktur="auto")
    model, reason = choose_model(gray, settings, tmp_path / "page.pgm")
    assert model == (("frk",) if fraktur else ("deu",))
    assert ("script Fraktur" in reason) is fraktur


def test_fraktur_model_only_for_german_and_not_when_off(tmp_path: Path) -> None:
    gray = to_gray(Image.open(eval_path("pages", "gtst_clauren_mimil_1815_0023.jpg")))
    work = tmp_path / "page.pgm"
    for languages, fraktur in ((("eng",), "auto"), (("deu",), "off")):
        settings = dataclasses.replace(PageSettings.defaults(languages), fraktur=fraktur)
        assert choose_model(gray, settings, work) == (languages, "as configured")
    always = dataclasses.replace(PageSettings.defaults(("deu+eng",)), fraktur="always")
    assert choose_model(gray, always, work)[0] == ("frk+eng",)


@pytest.mark.slow
def test_a_fraktur_page_reads_better_with_the_fraktur_model(tmp_path: Path) -> None:
    path = eval_path("pages", "gtst_clauren_mimil_1815_0023.jpg")
    truth = eval_path("gt", "gtst_clauren_mimil_1815_0023.gt.txt").read_text(encoding="utf-8")
    truth = truth.replace("ſ", "s")
    results = {}
    for fraktur in ("auto", "off"):
        settings = dataclasses.replace(
            PageSettings.defaults(("deu",)),
            fraktur=fraktur,
            correction=False,
            recognizer="tesseract",
        )
        results[fraktur] = process_page(PageTask(path, pages.Kind.JPEG, 1, settings))
    auto, off = results["auto"], results["off"]
    assert auto.recipe is not None and auto.recipe.model == "frk"
    assert "Fraktur" in auto.recipe.reasons["model"]
    assert cer(auto.text.replace("ſ", "s"), truth) < cer(off.text, truth) - 0.03


def _halftone_page() -> Image.Image:
    """Six lines of text, and a grey band of halftone dots (a shaded table header)."""
    page = render_page(ENGLISH_LINES[:6], height=1400)
    dots = np.asarray(page).copy()
    dots[1150:1300:6, 150:2300:6] = 0
    dots[1151:1300:6, 150:2300:6] = 0
    return Image.fromarray(dots)


def _read_english(gray: np.ndarray, tmp_path: Path) -> Recognition:
    """Tesseract's own reading of the page, automatic layout, as a folder's default does."""
    engine = PageSettings.defaults(("eng",)).engine
    return read(gray, engine=engine, request=ReadRequest("eng", 3, 300, 60, tmp_path / "p.pgm"))


def test_unread_letters_are_counted_and_halftone_dots_are_not(tmp_path: Path) -> None:
    gray = np.asarray(_halftone_page())
    read = _read_english(gray, tmp_path)
    assert unread_share(gray, (w.box for w in read.words)) < 0.05  # the dots are no letters
    first_two = [w.box for w in read.words if w.line < 2]
    assert 0.55 < unread_share(gray, first_two) < 0.8  # four lines of six left
    assert unread_share(gray, []) > 0.95


def test_a_reading_that_left_most_letters_unread_is_read_again_as_sparse_text(
    tmp_path: Path,
) -> None:
    """Stands in for Tesseract's layout taking a region of text for a picture: a first
    reading with the heading only. The page is read again as sparse text, which is kept with
    the reason the recipe records."""
    gray = np.asarray(_halftone_page())
    prep = preprocess(CpuBackend(), gray, dpi=300, steps=("deskew",), adaptive=False)
    settings = PageSettings.defaults(("eng",))
    full = _read_english(prep.image, tmp_path)
    heading = dataclasses.replace(full, words=tuple(w for w in full.words if w.line == 0))
    work = tmp_path / "p.pgm"
    backend = CpuBackend()
    kept_prep, kept = _if_text_was_left(
        gray, 300, prep, heading, settings=settings, backend=backend, work=work
    )
    assert kept.layout.endswith("read as sparse text")
    assert "at its own size" not in kept.layout  # the page was not enlarged
    assert kept_prep is prep
    assert cer(kept.text, "\n".join(ENGLISH_LINES[:6])) < 0.05
    unchanged = _if_text_was_left(
        gray, 300, prep, full, settings=settings, backend=backend, work=work
    )
    assert unchanged == (prep, full)


def test_an_enlarged_page_that_left_letters_unread_is_read_at_its_own_size_too(
    tmp_path: Path,
) -> None:
    """Small type is enlarged 2x; a first reading that left most of it unread (the heading
    only, standing in for a table taken for a picture) makes the page be read as sparse text
    and at its own size, each measured on the enlarged page; the kept reading covers the page
    and its boxes land on the words of the page as loaded."""
    lines = ENGLISH_LINES[:6]
    gray = np.asarray(render_page(lines, size=12, width=800, height=300, margin=30))
    settings = PageSettings.defaults(("eng",))
    backend = CpuBackend()
    prep = preprocess(backend, gray, dpi=None, steps=STEPS, adaptive=True)
    assert prep.plan.scale == 2.0
    full = _read_english(prep.image, tmp_path)
    heading = dataclasses.replace(full, words=tuple(w for w in full.words if w.line == 0))
    kept_prep, kept = _if_text_was_left(
        gray, None, prep, heading, settings=settings, backend=backend, work=tmp_path / "p.pgm"
    )
    assert "as sparse text" in kept.layout and "at its own size" in kept.layout
    assert cer(kept.text, "\n".join(lines)) < 0.1
    if kept_prep is not prep:  # read at its own size: the recipe says so
        assert kept_prep.plan.scale == 1.0
        assert "read at its own size" in kept_prep.plan.reasons["fit_text"]
    ink = gray < 128
    boxes = [w.box for w in on_page(kept.words, kept_prep, 0, gray.shape)]
    assert len(boxes) >= 20
    assert all(ink[top : top + h, left : left + w].any() for left, top, w, h in boxes)
