"""The ink-balance check that sends upside-down pages to OSD before their first reading."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hotocr import reading, worker
from hotocr.datatypes import PageSettings, PageTask
from hotocr.orientation import ascender_ratio, looks_upside_down, sure_turn
from hotocr.pages import Kind
from hotocr.preprocess import to_gray

from .conftest import CJK_FONT, CONTRACT_LINES, ENGLISH_LINES, eval_path, render_page


@pytest.mark.parametrize(
    "name", ["tess_phototest.tif", "ocrmypdf_linn.png", "gtst_bebel_frau_1879_0146.tif"]
)
def test_upright_pages_are_not_suspected_and_turned_ones_are(name: str) -> None:
    page = to_gray(Image.open(eval_path("pages", name)))
    assert not looks_upside_down(page, ("eng",))
    assert looks_upside_down(np.ascontiguousarray(page[::-1, ::-1]), ("eng",))


def test_the_eval_pages_scanned_upside_down() -> None:
    page = to_gray(Image.open(eval_path("pages", "tess_phototest_rot180.png")))
    assert looks_upside_down(page, ("eng",))


def test_scripts_without_ascenders_give_no_signal() -> None:
    page = to_gray(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500))
    turned = np.ascontiguousarray(page[::-1, ::-1])
    assert not looks_upside_down(page, ("chi_sim",))
    assert not looks_upside_down(turned, ("chi_sim",))


def test_blank_page_has_no_ratio() -> None:
    assert ascender_ratio(np.full((800, 600), 255, np.uint8)) is None
    assert ascender_ratio(to_gray(render_page(ENGLISH_LINES))) > 1  # type: ignore[operator]


@pytest.mark.parametrize(
    "name", ["tess_phototest.tif", "ocrmypdf_linn.png", "gtst_bebel_frau_1879_0146.tif"]
)
@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_clear_ink_balance_names_the_turn_that_makes_the_page_upright(
    name: str, turn: int
) -> None:
    """The page turned counter-clockwise by ``turn`` needs ``turn`` degrees clockwise."""
    upright = to_gray(Image.open(eval_path("pages", name)))
    page = np.ascontiguousarray(np.rot90(upright, k=turn // 90))
    assert sure_turn(page, sideways=turn != 180, languages=("eng",)) == turn
    assert sure_turn(upright, sideways=False, languages=("eng",)) is None
    assert sure_turn(page, sideways=turn != 180, languages=("chi_sim",)) is None


def test_turned_latin_pages_are_read_without_osd(monkeypatch: pytest.MonkeyPatch) -> None:
    """The three turned pages of the cardinal PDF: the ink balance turns them, and the OSD
    program is never started (a spy on the real call; recognition is real)."""
    path = eval_path("pages", "ocrmypdf_cardinal.pdf")
    calls: list[object] = []
    real = reading.tesseract.detect_orientation

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reading.tesseract, "detect_orientation", spy)
    rotations = []
    for number in (1, 2, 3, 4):
        task = PageTask(path, Kind.PDF, number, PageSettings.defaults())
        result = worker.process_page(task)
        assert result.confidence > 90
        rotations.append(result.rotation)
    assert rotations == [0, 270, 180, 90]
    assert calls == []
